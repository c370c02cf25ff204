"""The Kubernetes API as a WSGI app: discovery, CRUD, PATCH, Tables and self reviews.

Request flow, as in the apiserver: authenticate (401 ``Unauthorized`` when nobody is
recognised), parse the path into (verb, resource, namespace, name) like ``RequestInfo``,
authorize (403 with the apiserver's ``forbidden`` wording), then serve from the
:class:`~kubetrust.sandbox.kube.store.Store`. Every failure is a ``Status`` object.
``/version`` and health checks need no credentials (``system:public-info-viewer``);
discovery and the two self reviews need only authentication (``system:basic-user``).
Watches are not served (405): none of the kubectl verbs this server targets needs one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from kubetrust.sandbox.kube import (
    auth,
    discovery,
    patch,
    protowire,
    resources,
    reviews,
    status,
    tables,
)
from kubetrust.sandbox.kube.store import NAMESPACES, Obj, Store

PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
TABLE = "as=table"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_ATTEMPTS = 5
MAX_BODY = 3 * 1024 * 1024  # the apiserver's request size limit


@dataclass(frozen=True, slots=True)
class Target:
    """A resource request after path parsing (the apiserver's ``RequestInfo``)."""

    resource: resources.Resource
    namespace: str | None
    name: str | None
    subresource: str = ""

    def group_resource(self) -> auth.GroupResource:
        return auth.GroupResource(self.resource.group, self.resource.plural, self.subresource)


class KubeApi:
    """The WSGI app of one cluster's API server (see module doc)."""

    def __init__(
        self,
        authenticate: auth.Authenticate,
        authorize: auth.Authorize,
        store: Store | None = None,
        server_address: str = "127.0.0.1:443",
    ) -> None:
        self.authenticate = authenticate
        self.authorize = authorize
        self.store = store or Store()
        self.server_address = server_address

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except status.ApiError as error:
            response = _json(error.status(), error.code)
        return response(environ, start_response)

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        if path in PUBLIC_PATHS:
            return _json(discovery.version()) if path == "/version" else Response("ok")
        user = self.authenticate(HeaderView(request.headers))
        if user is None:
            raise status.ApiError("Unauthorized", "Unauthorized")
        parts = [part for part in path.split("/") if part]
        document = self._discovery(parts)
        if document is not None:
            if request.method not in ("GET", "HEAD"):
                raise _not_allowed()
            return _json(document)
        target = _target(parts)
        if target.resource.verbs == resources.CREATE_ONLY:
            if request.method != "POST" or target.name:
                raise _not_allowed()
            body = reviews.review(target.resource.kind, user, request, self.authorize)
            return _json(body, 201)
        verb = _verb(request, target)
        allowed, reason = self.authorize(
            user, verb, target.group_resource(), target.namespace, target.name
        )
        if not allowed:
            message = auth.forbidden_message(
                user, verb, target.group_resource(), target.namespace, target.name, reason
            )
            details = {
                "name": target.name or "",
                "group": target.resource.group,
                "kind": target.resource.plural,
            }
            raise status.ApiError("Forbidden", message, details)
        return self._serve(verb, target, request)

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        if parts == ["api"]:
            return discovery.api_versions(self.server_address)
        if parts == ["apis"]:
            return discovery.api_group_list()
        if parts == ["api", "v1"]:
            return discovery.resource_list("", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            return _found(discovery.api_group(parts[1]))
        if len(parts) == 3 and parts[0] == "apis":
            return _found(discovery.resource_list(parts[1], parts[2]))
        if parts == ["openapi", "v3"]:
            return discovery.openapi_paths()
        if parts[:2] == ["openapi", "v3"] and len(parts) in (4, 5):
            gv = parts[2:]
            group, version = ("", gv[1]) if gv[0] == "api" else (gv[1], gv[2] if gv[2:] else "")
            return _found(discovery.openapi_document(group, version))
        if parts[:1] == ["openapi"]:
            raise status.ApiError("NotFound", "the server could not find the requested resource")
        return None

    def _serve(self, verb: str, target: Target, request: Request) -> Response:
        resource, name = target.resource, target.name
        namespace = (target.namespace or "") if resource.namespaced else ""
        kind = _store_kind(resource)
        if resource.namespaced and not target.namespace and verb != "list":
            raise _not_allowed()  # e.g. POST /api/v1/configmaps: only lists span namespaces
        if request.args.get("dryRun"):
            raise status.bad_request("dryRun is not supported by this server")
        if verb in ("get", "list"):
            return self._read(target, request)
        if verb == "create":
            obj = _defaulted(resource, _prepare(resource, target, _body(request, resource.kind)))
            self._require_namespace(resource, namespace)
            return _json(self.store.create(kind, namespace, obj), 201)
        assert name is not None
        if verb == "update":
            obj = _prepare(resource, target, _body(request, resource.kind))
            if obj["metadata"].get("name") != name:
                raise status.bad_request(
                    "the name of the object does not match the name on the URL"
                )
            return _json(self.store.update(kind, namespace, name, _defaulted(resource, obj)))
        if verb == "patch":
            return _json(self._patch(target, kind, namespace, request))
        if verb == "delete":
            return _json(self.store.delete(kind, namespace, name))
        raise _not_allowed()

    def _patch(self, target: Target, kind: str, namespace: str, request: Request) -> Obj:
        """Apply a patch to the stored object. As the apiserver does, a patch that did not
        pin a resourceVersion is retried when a concurrent write got in between."""
        assert target.name is not None
        content_type = request.headers.get("Content-Type", "")
        changes = _body(request)
        for attempt in range(PATCH_ATTEMPTS):
            current = self.store.get(kind, namespace, target.name)
            patched = _prepare(target.resource, target, patch.apply(content_type, current, changes))
            pinned = patched["metadata"].get("resourceVersion")
            try:
                return self.store.update(kind, namespace, target.name, patched)
            except status.ApiError as error:
                stale = pinned == current["metadata"]["resourceVersion"]
                if error.reason != "Conflict" or not stale or attempt == PATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _read(self, target: Target, request: Request) -> Response:
        kind = _store_kind(target.resource)
        accept = request.headers.get("Accept", "").lower().replace(" ", "")
        include = request.args.get("includeObject", "Metadata")
        if target.name:
            namespace = (target.namespace or "") if target.resource.namespaced else ""
            obj = self.store.get(kind, namespace, target.name)
            if TABLE in accept:
                version = obj["metadata"]["resourceVersion"]
                return _json(tables.table(target.resource.kind, [obj], version, include))
            return _json(obj)
        items, version = self.store.list(
            kind,
            target.namespace if target.resource.namespaced else None,
            request.args.get("labelSelector"),
            request.args.get("fieldSelector"),
        )
        if TABLE in accept:
            return _json(tables.table(target.resource.kind, items, version, include))
        return _json(
            {
                "kind": f"{target.resource.kind}List",
                "apiVersion": target.resource.group_version,
                "metadata": {"resourceVersion": version},
                "items": items,
            }
        )

    def _require_namespace(self, resource: resources.Resource, namespace: str) -> None:
        if resource.namespaced:
            try:
                self.store.get(NAMESPACES, "", namespace)
            except status.ApiError:
                raise status.not_found("", "namespaces", namespace) from None


# ---------------------------------------------------------------------- helpers
def _json(body: Any, code: int = 200) -> Response:
    return Response(json.dumps(body), status=code, content_type="application/json")


def _found(document: dict[str, Any] | None) -> dict[str, Any]:
    if document is None:
        raise _no_resource()
    return document


def _no_resource() -> status.ApiError:
    return status.ApiError("NotFound", "the server could not find the requested resource", {})


def _not_allowed() -> status.ApiError:
    return status.ApiError(
        "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def _store_kind(resource: resources.Resource) -> str:
    return resource.key


def _target(parts: list[str]) -> Target:
    """(resource, namespace, name, subresource) of a resource path, like ``RequestInfo``:
    ``/api/v1/namespaces/<ns>`` is the namespace itself, with namespace = name."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _no_resource()
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    elif len(rest) == 2 and rest[0] == "namespaces":
        namespace = rest[1]
    resource = resources.find(group, version, rest[0]) if rest else None
    if resource is None or len(rest) > 3:
        raise _no_resource()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource:
        raise _no_resource()
    if not resource.namespaced and resource.plural != "namespaces" and namespace is not None:
        raise _no_resource()
    return Target(resource, namespace, name, subresource)


def _verb(request: Request, target: Target) -> str:
    method = request.method
    if method in ("GET", "HEAD"):
        if request.args.get("watch") in ("true", "1"):
            raise status.ApiError("MethodNotAllowed", "watch is not supported by this server")
        return "get" if target.name else "list"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    verb = verbs.get(method)
    if verb is None or (verb == "create") == bool(target.name):
        if method == "DELETE" and not target.name:
            raise status.ApiError("MethodNotAllowed", "deletecollection is not supported")
        raise _not_allowed()
    return verb


def _body(request: Request, kind: str = "") -> Any:
    """The request body as JSON; protobuf bodies of the kinds in ``protowire.KINDS`` are
    decoded to their JSON form (kubectl's typed clients send protobuf)."""
    if (request.content_length or 0) > MAX_BODY:
        raise status.ApiError("BadRequest", "the request body is too large")
    media = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if media == PROTOBUF and kind in protowire.KINDS:
        try:
            return protowire.decode(request.get_data(cache=False), kind)
        except (ValueError, UnicodeDecodeError) as exc:
            raise status.bad_request(f"cannot decode the protobuf body: {exc}") from None
    if "protobuf" in media or "yaml" in media or "cbor" in media:
        raise status.ApiError(
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - "
            f"accepted media types include: application/json, {patch.MERGE}, {patch.STRATEGIC}",
        )
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError as exc:
        raise status.bad_request(f"the request body is not JSON: {exc}") from None


def _prepare(resource: resources.Resource, target: Target, body: Any) -> Obj:
    """Check a body against the URL (kind, apiVersion, namespace) and fill what is implied."""
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a JSON object")
    if (
        body.get("kind", resource.kind) != resource.kind
        or body.get("apiVersion", resource.group_version) != resource.group_version
    ):
        raise status.bad_request(
            f"the API version in the data ({body.get('apiVersion')}) does not match the "
            f"expected API version ({resource.group_version})"
        )
    body["kind"], body["apiVersion"] = resource.kind, resource.group_version
    metadata = body.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise status.bad_request("metadata must be an object")
    if resource.namespaced:
        given = metadata.get("namespace")
        if given and given != target.namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        metadata["namespace"] = target.namespace
    if not metadata.get("name") and not metadata.get("generateName"):
        raise status.invalid(
            resource.kind,
            resource.group,
            "",
            "metadata.name: Required value: name or generateName is required",
        )
    return body


def _defaulted(resource: resources.Resource, obj: Obj) -> Obj:
    """The few defaults kubectl's printers show (namespace phase, replicas, secret type)."""
    if resource.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif resource.kind == "Deployment":
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj.setdefault("status", {})
    elif resource.kind == "Secret":
        obj["type"] = obj.get("type") or "Opaque"
    elif resource.kind == "Pod":
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    return obj


class HeaderView(Mapping[str, str]):
    """Request headers as a read-only, case-insensitive ``Mapping`` (what ``authenticate``
    takes), so authenticators need not know werkzeug."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        value = self._headers.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.lower() for key, _ in self._headers.items()))

    def __len__(self) -> int:
        return len(dict.fromkeys(key.lower() for key, _ in self._headers.items()))
