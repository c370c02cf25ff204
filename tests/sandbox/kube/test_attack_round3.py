"""Third-round attacks on a sandbox cluster from outside (raw HTTPS, as kubectl would send).

- ``spec.serviceAccount`` alone is the deprecated alias of ``serviceAccountName``: the pod
  runs as that account (admission checks it exists, IRSA reads its annotations);
- every non-resource URL is authorized through RBAC ``nonResourceURLs``: 403 without a
  rule, 404 only after authorization (also for unknown resources);
- a top-level ``$retainKeys`` and a renaming patch get upstream's 400s;
- ``timeoutSeconds=0`` on a watch is the server's default, not "end now";
- malformed protobuf bodies never give a 5xx;
- EKS tokens: a spurious ``X-Amz-Security-Token`` on a long-term key is refused (STS
  refuses it); ``GetSessionToken`` credentials act as their user.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from kubetrust import eks_presign
from kubetrust.model.vocabulary import IRSA_AUDIENCE
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import irsa, protowire
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store

from . import rbackit
from .conftest import App
from .test_attack_round2 import REGION, Cluster

ADMIN = "t-admin"
NOBODY = "t-nobody"
TOKENS = {
    ADMIN: rbackit.user("alice", "system:masters"),
    NOBODY: rbackit.user("nobody"),
}
CRB = f"{rbackit.RBAC_V1}/clusterrolebindings"
CM = "/api/v1/namespaces/default/configmaps"
ROLE_ARN = "arn:aws:iam::111122223333:role/irsa-target"


@pytest.fixture
def server(ca: pki.CertificateAuthority) -> Iterator[tuple[KubeApiServer, Store]]:
    with rbackit.rbac_server(ca, TOKENS) as running:
        yield running


def call(
    server: tuple[KubeApiServer, Store],
    ca: pki.CertificateAuthority,
    method: str,
    path: str,
    token: str = ADMIN,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    code, text = rbackit.raw(server[0].port, ca, method, path, token, None, body, content_type)
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text


# ---------------------------------------------------------------------- serviceAccount alias
def _pod(name: str, **spec: Any) -> dict[str, Any]:
    containers = [{"name": "app", "image": "busybox:1"}]
    return {"metadata": {"name": name}, "spec": {"containers": containers, **spec}}


def _irsa_account(server: tuple[KubeApiServer, Store], ca: pki.CertificateAuthority) -> None:
    account = {"metadata": {"name": "builder", "annotations": {irsa.ROLE_ARN: ROLE_ARN}}}
    code, _ = call(server, ca, "POST", "/api/v1/namespaces/default/serviceaccounts", body=account)
    assert code == 201


def _env(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0].get("env", [])}


def test_deprecated_service_account_field_picks_the_account(server: Any, ca: Any) -> None:
    """Only ``serviceAccount`` set: the pod runs as it (upstream's v1 conversion), so the
    IRSA webhook injects the annotated role and the kubelet's token is that account's."""
    _irsa_account(server, ca)
    code, pod = call(
        server,
        ca,
        "POST",
        "/api/v1/namespaces/default/pods",
        body=_pod("alias", serviceAccount="builder"),
    )
    assert code == 201, pod
    assert pod["spec"]["serviceAccountName"] == pod["spec"]["serviceAccount"] == "builder"
    assert _env(pod)["AWS_ROLE_ARN"] == ROLE_ARN
    token = server[0].app.pod_token("default", "alias")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["aud"] == [IRSA_AUDIENCE]


def test_deprecated_field_naming_a_missing_account_is_refused(server: Any, ca: Any) -> None:
    code, status = call(
        server,
        ca,
        "POST",
        "/api/v1/namespaces/default/pods",
        body=_pod("ghost", serviceAccount="ghost"),
    )
    assert code == 403, status
    assert 'serviceaccount "ghost" not found' in status["message"]


def test_service_account_name_wins_over_the_alias(server: Any, ca: Any) -> None:
    _irsa_account(server, ca)
    body = _pod("both", serviceAccountName="default", serviceAccount="builder")
    code, pod = call(server, ca, "POST", "/api/v1/namespaces/default/pods", body=body)
    assert code == 201, pod
    assert pod["spec"]["serviceAccountName"] == pod["spec"]["serviceAccount"] == "default"
    assert "AWS_ROLE_ARN" not in _env(pod)


def test_deployment_template_alias_reaches_its_pods(server: Any, ca: Any) -> None:
    _irsa_account(server, ca)
    template = {"metadata": {"labels": {"app": "d"}}, **_pod("x", serviceAccount="builder")}
    template["metadata"] = {"labels": {"app": "d"}}
    body = {
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}, "template": template},
    }
    code, _ = call(server, ca, "POST", "/apis/apps/v1/namespaces/default/deployments", body=body)
    assert code == 201
    code, pods = call(server, ca, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dd")
    assert code == 200 and len(pods["items"]) == 1
    assert pods["items"][0]["spec"]["serviceAccountName"] == "builder"
    assert _env(pods["items"][0])["AWS_ROLE_ARN"] == ROLE_ARN


# ---------------------------------------------------------------------- non-resource URLs
def test_metrics_is_forbidden_without_a_non_resource_rule(server: Any, ca: Any) -> None:
    code, status = call(server, ca, "GET", "/metrics", NOBODY)
    assert code == 403, status
    assert status["message"] == 'forbidden: User "nobody" cannot get path "/metrics"'
    assert status["reason"] == "Forbidden" and status["details"] == {}
    assert call(server, ca, "GET", "/metrics")[0] == 404  # allowed, then not served
    assert call(server, ca, "GET", "/no/such/path", NOBODY)[0] == 403


def test_discovery_follows_the_system_discovery_binding(server: Any, ca: Any) -> None:
    """Discovery is a grant of ``system:discovery``: once an admin deletes its binding, a
    user without other rules gets 403 on it, as on Kubernetes; ``/version`` stays public."""
    paths = ["/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v3"]
    for path in paths:
        assert call(server, ca, "GET", path, NOBODY)[0] == 200, path
    assert call(server, ca, "DELETE", f"{CRB}/system:discovery")[0] == 200
    for path in paths:
        code, status = call(server, ca, "GET", path, NOBODY)
        assert code == 403, (path, status)
        assert status["message"] == f'forbidden: User "nobody" cannot get path "{path}"'
    assert call(server, ca, "GET", "/version", NOBODY)[0] == 200
    assert call(server, ca, "POST", "/api", NOBODY)[0] == 403  # verb "post" is not granted
    assert call(server, ca, "GET", "/api")[0] == 200  # masters keep everything


def test_health_for_anonymous_follows_public_info_viewer(server: Any, ca: Any) -> None:
    assert call(server, ca, "GET", "/healthz", "not-a-token")[0] == 401  # bad token: 401
    context = pki.client_ssl_context(ca.certificate_pem)
    connection = http.client.HTTPSConnection(
        "127.0.0.1", server[0].port, context=context, timeout=10
    )

    def anonymous(path: str) -> int:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status

    try:
        assert anonymous("/healthz") == 200
        assert anonymous("/api") == 401
        assert call(server, ca, "DELETE", f"{CRB}/system:public-info-viewer")[0] == 200
        assert anonymous("/healthz") == 403
    finally:
        connection.close()


def test_unknown_resources_are_authorized_before_the_404(server: Any, ca: Any) -> None:
    code, status = call(server, ca, "GET", "/api/v1/namespaces/default/widgets", NOBODY)
    assert code == 403, status
    assert 'cannot list resource "widgets"' in status["message"]
    assert call(server, ca, "GET", "/apis/example.com/v1/gizmos/g", NOBODY)[0] == 403
    assert call(server, ca, "GET", "/api/v1/namespaces/default/widgets")[0] == 404
    code, status = call(server, ca, "GET", "/api/v1/namespaces/default/pods/p/nope", NOBODY)
    assert code == 403 and 'resource "pods/nope"' in status["message"]


def test_self_reviews_need_the_basic_user_binding(server: Any, ca: Any) -> None:
    path = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    assert call(server, ca, "POST", path, NOBODY, {"spec": {}})[0] == 201
    assert call(server, ca, "DELETE", f"{CRB}/system:basic-user")[0] == 200
    assert call(server, ca, "POST", path, NOBODY, {"spec": {}})[0] == 403


# ---------------------------------------------------------------------- patches
STRATEGIC = "application/strategic-merge-patch+json"


def test_top_level_retain_keys_gets_upstreams_answers(server: Any, ca: Any) -> None:
    body = {"metadata": {"name": "rk"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    assert call(server, ca, "POST", CM, body=body)[0] == 201
    patch = {"$retainKeys": ["data"], "data": {"a": "2"}}
    code, status = call(server, ca, "PATCH", f"{CM}/rk", body=patch, content_type=STRATEGIC)
    assert code == 400, status
    assert status["message"] == (
        "the name of the object (rk based on URL) was undeterminable: name must be provided"
    )
    patch = {"$retainKeys": ["data"], "metadata": {"labels": {"x": "y"}}}
    code, status = call(server, ca, "PATCH", f"{CM}/rk", body=patch, content_type=STRATEGIC)
    assert (code, status["message"]) == (400, "invalid patch format of retainKeys")
    patch = {"$retainKeys": "data"}
    assert call(server, ca, "PATCH", f"{CM}/rk", body=patch, content_type=STRATEGIC)[0] == 400
    kept = {"$retainKeys": ["metadata", "data"], "data": {"a": "3"}}
    code, obj = call(server, ca, "PATCH", f"{CM}/rk", body=kept, content_type=STRATEGIC)
    assert code == 200, obj
    assert obj["data"] == {"a": "3"} and "binaryData" not in obj


def test_a_patch_cannot_rename_or_unname_its_object(server: Any, ca: Any) -> None:
    assert call(server, ca, "POST", CM, body={"metadata": {"name": "rn"}})[0] == 201
    merge = "application/merge-patch+json"
    code, status = call(
        server, ca, "PATCH", f"{CM}/rn", body={"metadata": {"name": "other"}}, content_type=merge
    )
    assert code == 400, status
    assert (
        status["message"]
        == "the name of the object (other) does not match the name on the URL (rn)"
    )
    code, _ = call(server, ca, "PATCH", f"{CM}/rn", body={"metadata": None}, content_type=merge)
    assert code == 400
    ops = [{"op": "remove", "path": "/metadata/name"}]
    code, _ = call(
        server, ca, "PATCH", f"{CM}/rn", body=ops, content_type="application/json-patch+json"
    )
    assert code == 400
    assert call(server, ca, "GET", f"{CM}/other")[0] == 404


# ---------------------------------------------------------------------- watch timeout 0
def test_watch_with_timeout_zero_uses_the_server_default(server: Any, ca: Any) -> None:
    """``timeoutSeconds=0`` is "no timeout given": the stream stays open (the server's
    default bound), where ``-1`` ends it at once."""
    context = pki.client_ssl_context(ca.certificate_pem)
    for query, stays_open in (("timeoutSeconds=0", True), ("timeoutSeconds=-1", False)):
        connection = http.client.HTTPSConnection(
            "127.0.0.1", server[0].port, context=context, timeout=2
        )
        try:
            connection.request(
                "GET", f"{CM}?watch=true&{query}", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            answer = connection.getresponse()
            assert answer.status == 200
            if stays_open:
                with pytest.raises((TimeoutError, socket.timeout, ssl.SSLError)):
                    answer.read()
            else:
                answer.read()  # ends by itself, well within the socket timeout
        finally:
            connection.close()


# ---------------------------------------------------------------------- protobuf bodies
PROTOBUF = "application/vnd.kubernetes.protobuf"
PROTO_PATHS = {
    "ConfigMap": ("POST", CM),
    "Secret": ("POST", "/api/v1/namespaces/default/secrets"),
    "ServiceAccount": ("POST", "/api/v1/namespaces/default/serviceaccounts"),
    "Pod": ("POST", "/api/v1/namespaces/default/pods"),
    "Namespace": ("POST", "/api/v1/namespaces"),
    "Role": ("POST", f"{rbackit.RBAC_V1}/namespaces/default/roles"),
    "RoleBinding": ("POST", f"{rbackit.RBAC_V1}/namespaces/default/rolebindings"),
    "ClusterRole": ("POST", f"{rbackit.RBAC_V1}/clusterroles"),
    "ClusterRoleBinding": ("POST", CRB),
    "Deployment": ("POST", "/apis/apps/v1/namespaces/default/deployments"),
    "SelfSubjectAccessReview": ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
    "SelfSubjectRulesReview": ("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"),
    "SelfSubjectReview": ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews"),
    "TokenRequest": ("POST", "/api/v1/namespaces/default/serviceaccounts/default/token"),
    "TokenReview": ("POST", "/apis/authentication.k8s.io/v1/tokenreviews"),
    "Scale": ("PUT", "/apis/apps/v1/namespaces/default/deployments/pd/scale"),
}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _envelope(raw: bytes) -> bytes:
    return protowire.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"X")) + _field(2, raw)


def _malformed(kind: str) -> Iterator[bytes]:
    """Bodies no protobuf decoder may accept without care (bounded in count)."""
    meta = _field(1, _field(1, b"pb") + _field(11, _field(1, b"k") + _field(2, b"v")))
    nested = b""
    for _ in range(2000):  # deep nesting of length-delimited fields, 2000 levels
        nested = _field(2, nested)
    valid = _envelope(meta + _field(2, _field(2, _field(1, b"c")) + _field(1, _varint(3))))
    yield from (valid[:cut] for cut in range(0, len(valid), 3))  # truncations
    yield _envelope(meta + b"\x12\xff\xff\xff\xff\x0f")  # a length past the end
    yield _envelope(meta + b"\x12" + _varint(-1))  # a negative length
    yield _envelope(meta + b"\x10" + b"\xff" * 11)  # a varint past 64 bits
    yield _envelope(meta + b"\x10\xff")  # a truncated varint
    yield _envelope(meta + b"\x11\x01")  # a truncated fixed64
    yield _envelope(meta + b"\x00\x01")  # tag 0
    yield _envelope(meta + b"\x17")  # wire type 7
    yield _envelope(meta + _field(2, nested))
    yield _envelope(meta + _field(1, _field(14, b"f") * 60000))  # huge repeated field
    yield _envelope(_field(1, _field(1, b"\xff\xfe")))  # a name that is not UTF-8
    yield _envelope(meta + _field(2, _varint(4 << 3) + _varint(1 << 62)))  # huge ints
    yield _envelope(meta + _field(2, _varint(1 << 3) + _varint(-5)))  # negative ints
    yield b"k8s\x00" + b"\xff" * 64
    yield b""


def test_malformed_protobuf_never_gives_a_server_error(issuer: Any) -> None:
    """Every kind read as protobuf, every malformed shape: 4xx (or a 2xx for what happens
    to decode), never a 5xx. In-process (the WSGI app, same code path as over TLS) to keep
    the count bounded in time; one shape of each also goes over TLS below."""
    app = App(issuer)
    deployment = {
        "metadata": {"name": "pd"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    assert app.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)[0] == 201
    for kind, (method, path) in PROTO_PATHS.items():
        for body in _malformed(kind):
            code, answer = app.call(method, path, raw=body, content_type=PROTOBUF)
            assert code < 500, (kind, body[:40], answer)


def test_malformed_protobuf_over_tls_keeps_serving(server: Any, ca: Any) -> None:
    context = pki.client_ssl_context(ca.certificate_pem)
    bodies = [_envelope(b"\x12\xff\xff\xff\xff\x0f"), _envelope(b"\x10" + b"\xff" * 11), b"k8s\x00"]
    for kind in ("ConfigMap", "Pod", "SelfSubjectAccessReview"):
        method, path = PROTO_PATHS[kind]
        for body in bodies:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", server[0].port, context=context, timeout=10
            )
            try:
                headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": PROTOBUF}
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                assert answer.status < 500, (kind, answer.status)
            finally:
                connection.close()
    assert call(server, ca, "GET", "/api/v1/namespaces")[0] == 200


# ---------------------------------------------------------------------- EKS tokens
@pytest.fixture(scope="module")
def eks(sandbox: Any, aws: Any) -> Cluster:
    return Cluster(sandbox, aws)


def test_spurious_security_token_on_a_long_term_key_is_refused(eks: Cluster) -> None:
    """STS refuses a long-term key's signature that carries an ``X-Amz-Security-Token``
    (the token names no session of that key), so EKS does not authenticate it."""
    endpoint = eks.sandbox.endpoint
    good = eks_presign.presign_with_keys(endpoint, REGION, eks.name, eks.key, eks.secret)
    assert eks.get("/api/v1/namespaces", good) == 200
    spurious = eks_presign.presign_with_keys(
        endpoint, REGION, eks.name, eks.key, eks.secret, "FwoGZXIvYXdzEBogus"
    )
    assert eks.get("/api/v1/namespaces", spurious) == 401


def test_session_token_credentials_act_as_their_user(eks: Cluster, aws: Any) -> None:
    """``GetSessionToken`` credentials: GetCallerIdentity answers the user's ARN, which the
    authenticator maps unchanged (D.2 step 15), so the creator keeps ``system:masters``;
    the session key without its token, or with another token, is refused."""
    sts = aws.client("sts", account=eks.account)
    issued = sts.get_session_token()["Credentials"]
    key, secret, token = issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
    endpoint = eks.sandbox.endpoint
    good = eks_presign.presign_with_keys(endpoint, REGION, eks.name, key, secret, token)
    assert eks.get("/api/v1/namespaces", good) == 200
    bare = eks_presign.presign_with_keys(endpoint, REGION, eks.name, key, secret)
    assert eks.get("/api/v1/namespaces", bare) == 401
    other = eks_presign.presign_with_keys(endpoint, REGION, eks.name, key, secret, token + "x")
    assert eks.get("/api/v1/namespaces", other) == 401
