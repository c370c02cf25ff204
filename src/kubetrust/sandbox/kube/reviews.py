"""``SelfSubjectReview`` (``kubectl auth whoami``) and ``SelfSubjectAccessReview``
(``kubectl auth can-i``): virtual kinds answered from the request's user, never stored.

kubectl posts these with ``Content-Type: application/vnd.kubernetes.protobuf`` and takes a
JSON answer. A SelfSubjectReview body carries nothing the answer needs; the access review's
attributes are read from JSON or, for protobuf, from the ``k8s\\x00`` envelope with the small
wire-format reader in :mod:`~kubetrust.sandbox.kube.protowire`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from kubetrust.sandbox.kube import auth, bodies, protowire, status

AUTHENTICATION = "authentication.k8s.io/v1"
AUTHORIZATION = "authorization.k8s.io/v1"


def review(kind: str, user: auth.User, request: Request, authorize: auth.Authorize) -> Any:
    """The answer to a POSTed review of ``kind``."""
    if kind == "SelfSubjectReview":
        return {
            "kind": kind,
            "apiVersion": AUTHENTICATION,
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user.user_info()},
        }
    if kind == "SelfSubjectAccessReview":
        spec = _access_spec(request)
        return {
            "kind": kind,
            "apiVersion": AUTHORIZATION,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": _decide(user, spec, authorize),
        }
    raise status.ApiError("MethodNotAllowed", f"{kind} is not served")


def _access_spec(request: Request) -> dict[str, Any]:
    data = bodies.raw(request)
    media = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if "protobuf" in media:
        try:
            spec = protowire.decode(data, "SelfSubjectAccessReview").get("spec")
            return spec if isinstance(spec, dict) else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise status.bad_request(f"cannot decode the protobuf body: {exc}") from None
    body = bodies.parse_json(data) if data else {}
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise status.bad_request("spec is required")
    return spec


def _decide(user: auth.User, spec: dict[str, Any], authorize: auth.Authorize) -> dict[str, Any]:
    attributes = spec.get("resourceAttributes")
    if isinstance(attributes, dict):
        resource = auth.GroupResource(
            str(attributes.get("group") or ""),
            str(attributes.get("resource") or ""),
            str(attributes.get("subresource") or ""),
        )
        allowed, reason = authorize(
            user,
            str(attributes.get("verb") or ""),
            resource,
            attributes.get("namespace") or None,
            attributes.get("name") or None,
        )
    else:
        other = spec.get("nonResourceAttributes") or {}
        if not isinstance(other, dict):
            raise status.bad_request("nonResourceAttributes must be an object")
        # a non-resource URL is authorized as resource "" with the path as the name
        allowed, reason = authorize(
            user,
            str(other.get("verb") or ""),
            auth.GroupResource("", ""),
            None,
            str(other.get("path") or ""),
        )
    answer: dict[str, Any] = {"allowed": allowed}
    if reason:
        answer["reason"] = reason
    return answer
