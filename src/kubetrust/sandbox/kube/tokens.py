"""``TokenRequest`` (``serviceaccounts/<name>/token``, what ``kubectl create token`` and
the kubelet call) and ``TokenReview`` (``tokenreviews``, what webhooks and aggregated
servers call to authenticate a token), as ``pkg/registry/core/serviceaccount/storage/
token.go`` and ``pkg/registry/authentication/tokenreview`` serve them.

TokenRequest: the service account must exist (404); ``spec.audiences`` default to the API
audiences, ``spec.expirationSeconds`` to 3600 and must lie in [600, 2^32] (422, reference
C.3); a ``boundObjectRef`` must be a Pod (Secret and Node bindings are not served here,
400) that exists (404), runs as this service account (400) and has the given uid (409).
A pod-bound token also names the pod's node, as with ``ServiceAccountTokenPodNodeInfo``.
The token is minted by the cluster's :class:`~kubetrust.sandbox.oidc.ClusterIssuer`
(reference C.1). TokenReview runs the server's own authenticator on the token for the
review's audiences (default: the API audiences): audience-aware authenticators (service
account tokens) match them, others count as valid for the API audiences only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubetrust.sandbox.kube import auth, kubelet, sa_tokens, status
from kubetrust.sandbox.kube.cluster import Cluster
from kubetrust.sandbox.kube.store import timestamp
from kubetrust.sandbox.oidc import ClusterIssuer, TokenRequestError
from kubetrust.sandbox.oidc import issuer as oidc_issuer

Obj = dict[str, Any]
AUTHENTICATION = "authentication.k8s.io/v1"
DEFAULT_EXPIRATION = 3600
SERVICE_ACCOUNTS = "/v1/serviceaccounts"
PODS = "/v1/pods"


def _invalid(name: str, message: str) -> status.ApiError:
    details = {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"}
    return status.ApiError(
        "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: {message}', details
    )


def _spec(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a JSON object")
    kind, version = body.get("kind", "TokenRequest"), body.get("apiVersion", AUTHENTICATION)
    if kind != "TokenRequest" or version != AUTHENTICATION:
        raise status.bad_request(f"expected a TokenRequest of {AUTHENTICATION}, got {kind}")
    spec = body.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise status.bad_request("spec must be an object")
    return spec or {}


def token_request(
    cluster: Cluster, issuer: ClusterIssuer, namespace: str, name: str, body: Any
) -> Obj:
    """The answer (201) to a TokenRequest for ``namespace``/``name`` (see module doc)."""
    account = cluster.store.get(SERVICE_ACCOUNTS, namespace, name)
    spec = _spec(body)
    audiences = spec.get("audiences") or list(sa_tokens.API_AUDIENCES)
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_EXPIRATION if seconds is None else seconds
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        raise _invalid(name, "spec.audiences: Invalid value: must be a list of non-empty strings")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise status.bad_request("spec.expirationSeconds must be an integer")
    if seconds < oidc_issuer.MIN_EXPIRATION_SECONDS:
        detail = "may not specify a duration less than 10 minutes"
        raise _invalid(name, f"spec.expirationSeconds: Invalid value: {seconds}: {detail}")
    if seconds > oidc_issuer.MAX_EXPIRATION_SECONDS:
        detail = "may not specify a duration larger than 2^32 seconds"
        raise _invalid(name, f"spec.expirationSeconds: Invalid value: {seconds}: {detail}")
    bound = spec.get("boundObjectRef")
    pod, node = _binding(cluster, namespace, name, bound) if bound else (None, None)
    now = cluster.now()
    try:
        token = issuer.mint_service_account_token(
            namespace=namespace,
            service_account=name,
            service_account_uid=account["metadata"]["uid"],
            audiences=audiences,
            expiration_seconds=seconds,
            now=int(now.timestamp()),
            pod=pod,
            node=node,
        )
    except TokenRequestError as error:
        raise _invalid(name, str(error)) from None
    answer_spec: Obj = {
        "audiences": audiences,
        "expirationSeconds": seconds,
        "boundObjectRef": bound or None,
    }
    expires = now + dt.timedelta(seconds=seconds)
    return {
        "kind": "TokenRequest",
        "apiVersion": AUTHENTICATION,
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": timestamp(now)},
        "spec": answer_spec,
        "status": {"token": token, "expirationTimestamp": timestamp(expires)},
    }


def _binding(
    cluster: Cluster, namespace: str, name: str, bound: Any
) -> tuple[tuple[str, str], tuple[str, str] | None]:
    if not isinstance(bound, dict):
        raise status.bad_request("spec.boundObjectRef must be an object")
    kind, version = bound.get("kind"), bound.get("apiVersion") or "v1"
    if kind != "Pod" or version != "v1":
        raise status.bad_request(f"cannot bind token to object of type {version}, Kind={kind}")
    pod_name = bound.get("name")
    if not isinstance(pod_name, str) or not pod_name:
        raise _invalid(name, "spec.boundObjectRef.name: Required value")
    pod = cluster.store.get(PODS, namespace, pod_name)
    if (pod.get("spec") or {}).get("serviceAccountName") != name:
        raise status.bad_request(
            f'cannot bind token for serviceaccount "{name}" to pod running with different '
            "serviceaccount name."
        )
    uid = pod["metadata"]["uid"]
    if bound.get("uid") and bound["uid"] != uid:
        raise status.ApiError(
            "Conflict",
            f'Operation cannot be fulfilled on Pod "{pod_name}": the UID in the bound object '
            f"reference ({bound['uid']}) does not match the UID in record. The object might "
            "have been deleted and then recreated",
            {"name": pod_name, "kind": "Pod"},
        )
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = next(
        (n for n in kubelet.nodes(cluster.store, cluster.region) if n.name == node_name), None
    )
    if node is None:
        return (pod_name, uid), None
    try:  # the registered Node's uid; the kubelet's own before the Node is seeded
        node_uid = cluster.store.get(kubelet.NODES, "", node.name)["metadata"]["uid"]
    except status.ApiError:
        node_uid = node.uid
    return (pod_name, uid), (node.name, node_uid)


def token_review(authenticate: auth.Authenticate, body: Any) -> Obj:
    """The answer (201) to a TokenReview (see module doc)."""
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a JSON object")
    spec = body.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise status.bad_request("spec must be an object")
    spec = spec or {}
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        raise status.bad_request("token is required for TokenReview in authentication.k8s.io")
    audiences = spec.get("audiences") or list(sa_tokens.API_AUDIENCES)
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise status.bad_request("spec.audiences must be a list of strings")
    with sa_tokens.audience_scope(audiences) as scope:
        try:
            user = authenticate({"Authorization": f"Bearer {token}"})
        except Exception:  # an authenticator that fails authenticates nobody
            user = None
    matched = scope.matched
    if user is not None and matched is None:  # audience-agnostic: valid for the API only
        matched = tuple(a for a in sa_tokens.API_AUDIENCES if a in audiences)
        if not matched:
            user = None
    answer: Obj = {
        "kind": "TokenReview",
        "apiVersion": AUTHENTICATION,
        "metadata": {"creationTimestamp": None},
        "spec": {"token": token, "audiences": spec.get("audiences") or None},
    }
    if user is None:
        answer["status"] = {
            "authenticated": False,
            "user": {},
            "error": scope.error or "invalid bearer token",
        }
    else:
        answer["status"] = {
            "authenticated": True,
            "user": user.user_info(),
            "audiences": list(matched or ()),
        }
    return answer
