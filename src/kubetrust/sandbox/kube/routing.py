"""From a URL and method to what is asked: the apiserver's ``RequestInfo`` and verb.

``/api/v1/namespaces/<ns>/<plural>[/<name>[/<subresource>]]`` and the ``/apis/<g>/<v>/...``
forms become a :class:`Target`; the HTTP method becomes the authorization verb
(``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``delete``).
Subresources are served only where :mod:`~kubetrust.sandbox.kube.resources` lists them
(``serviceaccounts/token`` takes ``create``; ``status`` and ``scale`` take
``get``/``update``/``patch``).
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.wrappers import Request

from kubetrust.chain import rbac
from kubetrust.sandbox.kube import auth, params, resources, status

METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class Target:
    """A resource request after path parsing (the apiserver's ``RequestInfo``)."""

    resource: resources.Resource
    namespace: str | None
    name: str | None
    subresource: str = ""

    def group_resource(self) -> auth.GroupResource:
        return auth.GroupResource(self.resource.group, self.resource.plural, self.subresource)

    @property
    def scope(self) -> str:
        """The namespace of the object (``""`` for cluster-scoped kinds)."""
        return (self.namespace or "") if self.resource.namespaced else ""


def no_resource() -> status.ApiError:
    return status.ApiError("NotFound", "the server could not find the requested resource", {})


def not_allowed() -> status.ApiError:
    return status.ApiError(
        "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def target(parts: list[str]) -> Target:
    """(resource, namespace, name, subresource) of a resource path, like ``RequestInfo``:
    ``/api/v1/namespaces/<ns>`` is the namespace itself, with namespace = name."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise no_resource()
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    elif len(rest) == 2 and rest[0] == "namespaces":
        namespace = rest[1]
    resource = resources.find(group, version, rest[0]) if rest else None
    if resource is None or len(rest) > 3:
        raise no_resource()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and resource.subresource(subresource) is None:
        raise no_resource()
    if not resource.namespaced and resource.plural != "namespaces" and namespace is not None:
        raise no_resource()
    return Target(resource, namespace, name, subresource)


def attributes(verb: str, found: Target, request: Request) -> rbac.KubeRequest:
    """What the request is authorized as (upstream ``RequestInfo``): derived by
    :func:`kubetrust.chain.rbac.request_info`, the one place explain uses too — the
    namespace object is in its own namespace, and a list or watch selecting one
    ``metadata.name`` is for that name."""
    return rbac.request_info(
        verb,
        found.resource.plural,
        found.resource.group,
        found.subresource,
        found.namespace or "",
        found.name or "",
        field_selector=request.args.get("fieldSelector") or "",
    )


def is_watch(request: Request) -> bool:
    """``?watch=`` as upstream decodes it: any value but ``0``/``false`` is a watch."""
    return params.bool_param(request.args, "watch")


def verb(request: Request, found: Target) -> str:
    """The authorization verb of the request; 405 for what is not served."""
    method = request.method
    if found.subresource:
        sub = found.resource.subresource(found.subresource)
        wanted = "get" if method in ("GET", "HEAD") else METHOD_VERBS.get(method, "")
        if sub is None or wanted not in sub.verbs:
            raise not_allowed()
        return wanted
    if method in ("GET", "HEAD"):
        if found.name:  # upstream serves a named GET as a get, whatever ``?watch`` says
            return "get"
        return "watch" if is_watch(request) else "list"
    mapped = METHOD_VERBS.get(method)
    if mapped is None or (mapped == "create") == bool(found.name):
        if method == "DELETE" and not found.name:
            raise status.ApiError("MethodNotAllowed", "deletecollection is not supported")
        raise not_allowed()
    return mapped


def is_resource_request(parts: list[str]) -> bool:
    """Whether upstream ``RequestInfoFactory`` reads the path as a resource request:
    ``/api/<v>/<resource>...`` (3+ segments) or ``/apis/<g>/<v>/<resource>...`` (4+);
    ``/api``, ``/api/v1``, ``/apis/<g>/<v>``, ``/openapi/...``, ``/metrics`` are not."""
    if parts[:1] == ["api"]:
        return len(parts) >= 3
    if parts[:1] == ["apis"]:
        return len(parts) >= 4
    return False


def raw_attributes(parts: list[str], request: Request) -> rbac.KubeRequest:
    """The attributes of a resource request this server cannot serve (an unknown group,
    resource or subresource): upstream authorizes them from the URL alone before it
    answers 404, so a caller without the permission learns nothing but 403."""
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2:
            rest = rest[2:]
    resource, name, sub = [*rest, "", "", ""][:3]
    method = request.method
    if method in ("GET", "HEAD"):
        action = "get" if name else ("watch" if is_watch(request) else "list")
    elif method == "DELETE" and not name:
        action = "deletecollection"
    else:
        action = METHOD_VERBS.get(method, method.lower())
    return rbac.request_info(action, resource, group, sub, namespace, name)
