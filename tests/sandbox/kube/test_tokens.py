"""Service-account tokens: TokenRequest (``kubectl create token``), the API server's
authenticator for them, and TokenReview (reference C.1).

The kubectl tests run against the shared TLS server; the detail tests use the in-process
app, whose clock they move.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from kubetrust.sandbox.kube import auth, sa_tokens
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

from .conftest import ISSUER_URL, NOBODY_TOKEN, READER_TOKEN, App, Clock, Kubectl

SA = "/api/v1/namespaces/default/serviceaccounts"
PODS = "/api/v1/namespaces/default/pods"
REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
API_AUDIENCE = "https://kubernetes.default.svc"


def verified(token: str, issuer: ClusterIssuer, audience: str = API_AUDIENCE) -> dict[str, Any]:
    """The claims of ``token`` after checking its signature against the issuer's JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [k for k in issuer.jwks()["keys"] if k["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=ISSUER_URL,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return claims


def request_token(app: App, name: str = "default", **spec: Any) -> tuple[int, Any]:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
    return app.call("POST", f"{SA}/{name}/token", body)


def review(app: App, token: str, audiences: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences is not None:
        spec["audiences"] = audiences
    code, body = app.call("POST", REVIEWS, {"kind": "TokenReview", "spec": spec})
    assert code == 201, body
    assert body["kind"] == "TokenReview" and body["apiVersion"] == "authentication.k8s.io/v1"
    return dict(body["status"])


def make_pod(app: App, name: str, account: str = "default") -> dict[str, Any]:
    pod = {
        "metadata": {"name": name},
        "spec": {"serviceAccountName": account, "containers": [{"name": "c", "image": "busybox"}]},
    }
    code, body = app.call("POST", PODS, pod)
    assert code == 201, body
    assert body["status"]["phase"] == "Pending"  # as created; the "kubelet" starts it after
    return dict(app.call("GET", f"{PODS}/{name}")[1])


# ---------------------------------------------------------------------- kubectl
def test_kubectl_create_token_defaults(kubectl: Kubectl, issuer: ClusterIssuer) -> None:
    result = kubectl("create", "token", "default")
    assert result.returncode == 0, result.stderr
    claims = verified(result.stdout.strip(), issuer)
    assert claims["aud"] == [API_AUDIENCE]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["sub"] == "system:serviceaccount:default:default"
    account = json.loads(kubectl("get", "sa", "default", "-o", "json").stdout)
    assert claims["kubernetes.io"] == {
        "namespace": "default",
        "serviceaccount": {"name": "default", "uid": account["metadata"]["uid"]},
    }


def test_kubectl_create_token_audience_and_duration(
    kubectl: Kubectl, issuer: ClusterIssuer
) -> None:
    result = kubectl(
        "create", "token", "default", "--audience", "sts.amazonaws.com", "--duration", "2h"
    )
    assert result.returncode == 0, result.stderr
    claims = verified(result.stdout.strip(), issuer, "sts.amazonaws.com")
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["exp"] - claims["iat"] == 7200
    # the API server takes only tokens for its own audience, as on EKS
    whoami = kubectl("auth", "whoami", token=result.stdout.strip())
    assert whoami.returncode == 1 and "Unauthorized" in whoami.stderr


def test_kubectl_create_token_errors(kubectl: Kubectl) -> None:
    short = kubectl("create", "token", "default", "--duration", "5m")
    assert short.returncode == 1
    assert (
        'TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: '
        "Invalid value: 300: may not specify a duration less than 10 minutes"
    ) in short.stderr
    missing = kubectl("create", "token", "absent")
    assert missing.returncode == 1 and 'serviceaccounts "absent" not found' in missing.stderr


def test_kubectl_pod_bound_token_lives_as_long_as_the_pod(
    kubectl: Kubectl, issuer: ClusterIssuer
) -> None:
    assert kubectl("run", "tok-pod", "--image=busybox").returncode == 0
    pod = json.loads(kubectl("get", "pod", "tok-pod", "-o", "json").stdout)
    result = kubectl(
        "create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "tok-pod"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    bound = verified(token, issuer)["kubernetes.io"]
    assert bound["pod"] == {"name": "tok-pod", "uid": pod["metadata"]["uid"]}
    assert bound["node"]["name"] == pod["spec"]["nodeName"]  # ServiceAccountTokenPodNodeInfo
    whoami = kubectl("auth", "whoami", "-o", "json", token=token)
    assert whoami.returncode == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:default:default"
    assert info["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ]
    assert info["extra"]["authentication.kubernetes.io/pod-name"] == ["tok-pod"]
    assert info["extra"]["authentication.kubernetes.io/pod-uid"] == [pod["metadata"]["uid"]]
    assert kubectl("delete", "pod", "tok-pod").returncode == 0
    after = kubectl("auth", "whoami", token=token)
    assert after.returncode == 1 and "Unauthorized" in after.stderr


# ---------------------------------------------------------------------- TokenRequest
def test_token_request_answer(app: App) -> None:
    code, body = request_token(app)
    assert code == 201, body
    assert body["kind"] == "TokenRequest" and body["apiVersion"] == "authentication.k8s.io/v1"
    assert body["metadata"]["name"] == "default" and body["metadata"]["namespace"] == "default"
    assert body["spec"]["audiences"] == [API_AUDIENCE]
    assert body["spec"]["expirationSeconds"] == 3600
    assert body["status"]["expirationTimestamp"] == "2026-03-01T13:00:00Z"  # clock + 1 h
    claims = verified(body["status"]["token"], app.issuer)
    assert claims["iat"] == int(app.clock.now.timestamp())
    assert claims["jti"]


@pytest.mark.parametrize(
    ("spec", "code", "message"),
    [
        ({"expirationSeconds": 599}, 422, "may not specify a duration less than 10 minutes"),
        ({"expirationSeconds": 2**32 + 1}, 422, "larger than 2^32 seconds"),
        ({"expirationSeconds": "1h"}, 400, "must be an integer"),
        ({"audiences": "sts.amazonaws.com"}, 422, "spec.audiences"),
        ({"boundObjectRef": {"kind": "Pod", "name": "absent"}}, 404, 'pods "absent" not found'),
        ({"boundObjectRef": {"kind": "Secret", "name": "s"}}, 400, "cannot bind token"),
    ],
)
def test_token_request_refusals(app: App, spec: dict[str, Any], code: int, message: str) -> None:
    answer, body = request_token(app, **spec)
    assert answer == code and body["kind"] == "Status", body
    assert message in body["message"]


def test_token_request_needs_the_service_account_and_permission(app: App) -> None:
    code, body = request_token(app, "absent")
    assert code == 404 and body["message"] == 'serviceaccounts "absent" not found'
    code, body = app.call("POST", f"{SA}/default/token", {"spec": {}}, token=READER_TOKEN)
    assert code == 403
    assert body["message"] == (
        'serviceaccounts "default" is forbidden: User "reader" cannot create resource '
        '"serviceaccounts/token" in API group "" in the namespace "default"'
    )
    assert app.call("GET", f"{SA}/default/token")[0] == 405


def test_token_request_pod_binding_checks(app: App) -> None:
    app.call("POST", SA, {"metadata": {"name": "other"}})
    pod = make_pod(app, "bound")
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "bound"}
    code, body = request_token(app, "other", boundObjectRef=ref)
    assert code == 400 and "different serviceaccount name" in body["message"]
    code, body = request_token(app, boundObjectRef={**ref, "uid": "not-the-uid"})
    assert code == 409 and body["reason"] == "Conflict"
    code, body = request_token(app, boundObjectRef={**ref, "uid": pod["metadata"]["uid"]})
    assert code == 201 and body["spec"]["boundObjectRef"]["uid"] == pod["metadata"]["uid"]
    claims = verified(body["status"]["token"], app.issuer)
    assert claims["kubernetes.io"]["pod"] == {"name": "bound", "uid": pod["metadata"]["uid"]}


def test_pod_token_is_what_the_kubelet_projects(app: App) -> None:
    annotations = {"eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/r"}
    app.call("POST", SA, {"metadata": {"name": "irsa", "annotations": annotations}})
    pod = make_pod(app, "irsa-pod", "irsa")
    token = app.app.pod_token("default", "irsa-pod")
    claims = verified(token, app.issuer, "sts.amazonaws.com")
    assert claims["exp"] - claims["iat"] == 86400
    assert claims["kubernetes.io"]["pod"]["uid"] == pod["metadata"]["uid"]
    api = app.app.pod_token(
        "default", "irsa-pod", "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )
    assert verified(api, app.issuer)["exp"] - verified(api, app.issuer)["iat"] == 3607
    with pytest.raises(Exception, match="no token projected"):
        app.app.pod_token("default", "irsa-pod", "/nowhere/token")


# ---------------------------------------------------------------------- TokenReview
def test_token_review_of_a_good_token(app: App) -> None:
    pod = make_pod(app, "reviewed")
    ref = {"kind": "Pod", "name": "reviewed"}
    token = request_token(app, boundObjectRef=ref)[1]["status"]["token"]
    jti = verified(token, app.issuer)["jti"]
    account = app.call("GET", f"{SA}/default")[1]
    status = review(app, token)
    assert status["authenticated"] is True and status["audiences"] == [API_AUDIENCE]
    user = status["user"]
    assert user["username"] == "system:serviceaccount:default:default"
    assert user["uid"] == account["metadata"]["uid"]
    assert user["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ]
    extra = user["extra"]
    assert extra["authentication.kubernetes.io/credential-id"] == [f"JTI={jti}"]
    assert extra["authentication.kubernetes.io/pod-name"] == ["reviewed"]
    assert extra["authentication.kubernetes.io/pod-uid"] == [pod["metadata"]["uid"]]
    assert extra["authentication.kubernetes.io/node-name"] == [pod["spec"]["nodeName"]]


def test_token_review_refusals(app: App, issuer: ClusterIssuer) -> None:
    good = request_token(app)[1]["status"]["token"]
    sts = request_token(app, audiences=["sts.amazonaws.com"])[1]["status"]["token"]

    refused = review(app, sts)
    assert refused["authenticated"] is False and refused["user"] == {}
    assert refused["error"] == (
        'token audiences ["sts.amazonaws.com"] is invalid for the target audiences '
        '["https://kubernetes.default.svc"]'
    )
    by_sts = review(app, sts, ["sts.amazonaws.com"])  # a review for another audience
    assert by_sts["authenticated"] is True and by_sts["audiences"] == ["sts.amazonaws.com"]

    other_key = ClusterIssuer.create(ISSUER_URL)  # same URL, not the cluster's key
    forged = request_token(App(other_key))[1]["status"]["token"]
    assert review(app, forged)["error"] == "invalid signature"
    assert review(app, "not-a-jwt")["error"] == "invalid bearer token"

    app.clock.advance(3600 + 61)  # past exp and go-jose's one-minute leeway
    assert review(app, good)["error"] == "service account token has expired"


def test_token_review_after_the_account_is_replaced(app: App) -> None:
    token = request_token(app)[1]["status"]["token"]
    old_uid = app.call("GET", f"{SA}/default")[1]["metadata"]["uid"]
    assert app.call("DELETE", f"{SA}/default")[0] == 200  # the SA controller recreates it
    new_uid = app.call("GET", f"{SA}/default")[1]["metadata"]["uid"]
    assert new_uid != old_uid
    status = review(app, token)
    assert status["authenticated"] is False
    assert status["error"] == f"service account UID ({new_uid}) does not match claim ({old_uid})"
    app.call("POST", SA, {"metadata": {"name": "gone"}})
    gone = request_token(app, "gone")[1]["status"]["token"]
    app.call("DELETE", f"{SA}/gone")
    assert review(app, gone)["error"] == "service account token has been invalidated"


def test_token_review_of_other_authenticators(app: App) -> None:
    static = review(app, NOBODY_TOKEN)
    assert static["authenticated"] is True and static["user"]["username"] == "nobody"
    assert static["audiences"] == [API_AUDIENCE]
    # an audience-agnostic authenticator is valid for the API audiences only
    assert review(app, NOBODY_TOKEN, ["sts.amazonaws.com"])["authenticated"] is False


def test_token_review_needs_permission_and_a_token(app: App) -> None:
    code, body = app.call("POST", REVIEWS, {"spec": {"token": "x"}}, token=NOBODY_TOKEN)
    assert code == 403
    assert body["message"] == (
        'tokenreviews.authentication.k8s.io is forbidden: User "nobody" cannot create '
        'resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope'
    )
    code, body = app.call("POST", REVIEWS, {"spec": {}})
    assert code == 400 and "token is required" in body["message"]
    assert app.call("GET", REVIEWS)[0] == 405


# ---------------------------------------------------------------------- the authenticator
def test_authenticator_ignores_what_is_not_its_token(issuer: ClusterIssuer) -> None:
    store = Store()
    authenticate = sa_tokens.ServiceAccountTokenAuthenticator(issuer, store, Clock())
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer k8s-aws-v1.aHR0cHM6Ly9zdHM"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer " + "e" * 20_000 + ".x.y"},
    ):
        assert authenticate(headers) is None
    other = ClusterIssuer.create("https://oidc.example.com/id/OTHER")
    foreign = other.mint_service_account_token(
        namespace="default",
        service_account="default",
        service_account_uid="u",
        audiences=[API_AUDIENCE],
        expiration_seconds=3600,
        now=int(Clock().now.timestamp()),
    )
    with sa_tokens.audience_scope([API_AUDIENCE]) as scope:
        assert authenticate({"Authorization": f"Bearer {foreign}"}) is None
    assert scope.error == ""  # another issuer's token: not refused, just not ours


def test_authenticator_time_checks(app: App) -> None:
    uid = app.call("GET", f"{SA}/default")[1]["metadata"]["uid"]
    now = int(app.clock.now.timestamp())

    def mint(at: int) -> str:
        return app.issuer.mint_service_account_token(
            namespace="default",
            service_account="default",
            service_account_uid=uid,
            audiences=[API_AUDIENCE],
            expiration_seconds=600,
            now=at,
        )

    def user(token: str) -> auth.User | None:
        return app.sa_auth({"Authorization": f"Bearer {token}"})

    assert user(mint(now + 59)) is not None  # within the leeway
    assert user(mint(now + 120)) is None
    assert review(app, mint(now + 120))["error"] == "service account token is not valid yet"
    assert user(mint(now - 600 - 59)) is not None
    assert user(mint(now - 600 - 61)) is None
