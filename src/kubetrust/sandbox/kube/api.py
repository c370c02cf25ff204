"""The Kubernetes API as a WSGI app: discovery, CRUD, PATCH, subresources, Tables, reviews.

Request flow, as in the apiserver: authenticate (401 ``Unauthorized`` when nobody is
recognised), parse the path into (verb, resource, namespace, name, subresource) like
``RequestInfo`` (:mod:`~kubetrust.sandbox.kube.routing`), authorize (403 with the
apiserver's ``forbidden`` wording), then serve: reads from the
:class:`~kubetrust.sandbox.kube.store.Store`, writes through the
:class:`~kubetrust.sandbox.kube.cluster.Cluster` (admission, validation, controllers).
Every failure is a ``Status`` object; an unexpected exception is logged and answered
``500 InternalError``, so no request can take the server down.
Every path is authorized through RBAC, as upstream: non-resource URLs by
``nonResourceURLs`` rules (discovery by the bootstrap ``system:discovery`` binding, health
and ``/version`` by ``system:public-info-viewer``, which alone reaches an anonymous caller),
the self reviews by ``system:basic-user``; a 404 comes only after authorization.
Watches stream the store's changes (:mod:`~kubetrust.sandbox.kube.watch`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from kubetrust.chain import rbac as rbac_chain
from kubetrust.model.kube import RbacObjects
from kubetrust.sandbox.kube import (
    auth,
    bodies,
    discovery,
    escalation,
    impersonation,
    irsa,
    params,
    patch,
    rbac,
    resources,
    reviews,
    routing,
    status,
    subresources,
    tables,
    tokens,
    watch,
)
from kubetrust.sandbox.kube.bodies import HeaderView, json_response
from kubetrust.sandbox.kube.cluster import Cluster
from kubetrust.sandbox.kube.routing import Target
from kubetrust.sandbox.kube.store import Obj, Store
from kubetrust.sandbox.oidc import ClusterIssuer

__all__ = ["KubeApi"]

LOG = logging.getLogger(__name__)
PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
TABLE = "as=table"
PATCH_ATTEMPTS = 5
SELF_REVIEWS = frozenset({"SelfSubjectReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"})
DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
IRSA_TOKEN_PATH = f"{irsa.MOUNT_PATH}/{irsa.TOKEN_FILE}"


class KubeApi:
    """The WSGI app of one cluster's API server (see module doc).

    ``issuer`` signs service-account tokens (a throwaway one for ``DEFAULT_ISSUER`` is made
    on first use when none is given); ``region`` is the cluster's AWS region (the IRSA
    webhook's ``AWS_REGION``, node names); ``clock`` stamps objects and tokens; ``ca_pem``
    is published in every namespace's ``kube-root-ca.crt``."""

    def __init__(
        self,
        authenticate: auth.Authenticate,
        authorize: auth.Authorize,
        store: Store | None = None,
        server_address: str = "127.0.0.1:443",
        *,
        issuer: ClusterIssuer | None = None,
        region: str = "us-east-1",
        clock: Callable[[], dt.datetime] | None = None,
        ca_pem: bytes | None = None,
    ) -> None:
        self.authenticate = authenticate
        self.authorize = authorize
        self.store = store if store is not None else (Store(clock) if clock else Store())
        self.server_address = server_address
        self.region = region
        self.clock = clock or self.store.clock
        self.cluster = Cluster(self.store, region=region, ca_pem=ca_pem, clock=self.clock)
        self._issuer = issuer
        self._issuer_lock = threading.Lock()

    @property
    def issuer(self) -> ClusterIssuer:
        with self._issuer_lock:
            if self._issuer is None:
                self._issuer = ClusterIssuer.create(DEFAULT_ISSUER)
            return self._issuer

    @issuer.setter
    def issuer(self, value: ClusterIssuer) -> None:
        with self._issuer_lock:
            self._issuer = value

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except status.ApiError as error:
            response = json_response(error.status(), error.code)
        except impersonation.Impersonation as error:  # upstream's InternalError, plain text
            uri = environ.get("REQUEST_URI") or request.full_path.rstrip("?")
            response = Response(f'Internal Server Error: "{uri}": {error}', 500)
        except Exception:  # the last resort: log it, answer 500, keep serving
            LOG.exception("kube api: unexpected error on %s %s", request.method, request.path)
            internal = status.ApiError("InternalError", "Internal error occurred: unexpected error")
            response = json_response(internal.status(), 500)
        return response(environ, start_response)

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        user = self.authenticate(HeaderView(request.headers))
        if user is None:  # a presented token nobody accepts is a 401, never anonymous
            if path not in PUBLIC_PATHS or auth.bearer_token(HeaderView(request.headers)):
                raise status.ApiError("Unauthorized", "Unauthorized")
            user = auth.ANONYMOUS  # authorized like anyone: public-info-viewer's group
        user = impersonation.apply(user, request.headers.items(), self.authorize)
        parts = [part for part in path.split("/") if part]
        if not routing.is_resource_request(parts):
            self._authorize_path(user, request)
            return self._non_resource(parts, request)
        try:
            found = routing.target(parts)
        except status.ApiError as error:  # unknown resource: authorized first, as upstream
            if error.reason == "NotFound":
                self._authorize(user, routing.raw_attributes(parts, request))
            raise
        kind = found.resource.kind
        verb = routing.verb(request, found)
        self._authorize(user, routing.attributes(verb, found, request), found)
        if found.resource.verbs == resources.CREATE_ONLY and verb != "create":
            raise routing.not_allowed()  # reviews are created, never read back
        if kind in SELF_REVIEWS:
            answer = reviews.review(kind, user, request, self.authorize, self._rbac_objects)
            return json_response(answer, 201)
        if kind == "TokenReview":
            body = bodies.read(request, kind)
            return json_response(tokens.token_review(self.authenticate, body), 201)
        return self._serve(user, verb, found, request)

    def _authorize_path(self, user: auth.User, request: Request) -> None:
        """403 unless ``user`` may use this non-resource URL: upstream authorizes the raw
        path with the lower-cased method as verb (``get``, ``post``, ``head`` ...), granted
        only by ``nonResourceURLs`` rules (``system:discovery``, ``system:public-info-viewer``
        bind them by default). Only then does an unknown path answer 404."""
        verb = request.method.lower()
        allowed, reason = self.authorize(user, verb, auth.GroupResource("", ""), None, request.path)
        if not allowed:
            message = auth.forbidden_message(
                user, verb, auth.GroupResource("", ""), None, request.path, reason
            )
            raise status.ApiError("Forbidden", message, {})

    def _non_resource(self, parts: list[str], request: Request) -> Response:
        """The served non-resource URLs: health, ``/version``, discovery, OpenAPI; anything
        else (``/metrics`` included: not served here) is the apiserver's 404."""
        path = "/" + "/".join(parts)
        if path in PUBLIC_PATHS:
            if request.method not in ("GET", "HEAD"):
                raise routing.not_allowed()
            return json_response(discovery.version()) if path == "/version" else Response("ok")
        document = self._discovery(parts)
        if document is None:
            raise routing.no_resource()
        if request.method not in ("GET", "HEAD"):
            raise routing.not_allowed()
        return json_response(document)

    def _rbac_objects(self) -> RbacObjects:
        """The stored RBAC objects (what a rules review lists), read fresh."""
        return rbac.RbacAuthorizer(self.store).objects()

    def _authorize(
        self, user: auth.User, asked: rbac_chain.KubeRequest, found: Target | None = None
    ) -> None:
        """403 unless ``user`` may do ``asked`` (the request's RequestInfo attributes);
        ``found`` is the served resource (``None`` for one this server does not know)."""
        resource = auth.GroupResource(asked.group, asked.resource, asked.subresource)
        namespace, name = asked.namespace or None, asked.name or None
        allowed, reason = self.authorize(user, asked.verb, resource, namespace, name)
        if not allowed:
            message = auth.forbidden_message(user, asked.verb, resource, namespace, name, reason)
            details = {
                "name": asked.name,
                "group": found.resource.group if found else asked.group,
                "kind": found.resource.plural if found else asked.resource,
            }
            raise status.ApiError("Forbidden", message, details)

    def _guard(
        self, user: auth.User, verb: str, found: Target, obj: Obj, old: Obj | None = None
    ) -> None:
        """RBAC's escalation prevention for writes of roles and bindings (a no-op for
        every other write): :func:`escalation.guard`."""
        escalation.guard(user, verb, found, obj, old, self.authorize, self._rbac_objects)

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

    # ------------------------------------------------------------------ serving
    def _serve(self, user: auth.User, verb: str, found: Target, request: Request) -> Response:
        resource, name, namespace = found.resource, found.name, found.scope
        if resource.namespaced and not found.namespace and verb != "list":
            raise routing.not_allowed()  # e.g. POST /api/v1/configmaps: only lists span namespaces
        if request.args.get("dryRun"):
            raise status.bad_request("dryRun is not supported by this server")
        if found.subresource:
            return self._subresource(verb, found, request)
        if verb == "watch":
            accept = request.headers.get("Accept", "").lower().replace(" ", "")
            return watch.response(self.store, found, request, table=TABLE in accept)
        if verb == "list":
            params.list_options(request.args)  # decoded, so malformed options are a 400
        if verb in ("get", "list"):
            return self._read(found, request)
        if verb == "create":
            obj = bodies.prepare(resource, found, bodies.read(request, resource.kind))
            self._guard(user, verb, found, obj)
            return json_response(self.cluster.create(resource, namespace, obj), 201)
        assert name is not None
        if verb == "update":
            obj = bodies.prepare(resource, found, bodies.read(request, resource.kind))
            if obj["metadata"].get("name") != name:
                raise status.bad_request(
                    "the name of the object does not match the name on the URL"
                )
            self._guard(user, verb, found, obj, self.store.get(resource.key, namespace, name))
            return json_response(self.cluster.update(resource, namespace, name, obj))
        if verb == "patch":
            return json_response(self._patch(user, found, request))
        if verb == "delete":
            params.int_param(request.args, "gracePeriodSeconds")  # an int64, or a 400
            policy = bodies.delete_options(request)
            return json_response(self.cluster.delete(resource, namespace, name, policy))
        raise routing.not_allowed()

    def _subresource(self, verb: str, found: Target, request: Request) -> Response:
        assert found.name is not None
        if found.subresource == "token":
            body = bodies.read(request, "TokenRequest")
            answer = tokens.token_request(self.cluster, self.issuer, found.scope, found.name, body)
            return json_response(answer, 201)
        body = None
        sub = found.resource.subresource(found.subresource)
        if verb == "update":
            body = bodies.read(request, sub.kind if sub else "")
        elif verb == "patch":
            body = bodies.read_patch(request)
        media = request.headers.get("Content-Type", "")
        return json_response(subresources.serve(self.cluster, verb, found, media, body))

    def _patch(self, user: auth.User, found: Target, request: Request) -> Obj:
        """Apply a patch to the stored object. As the apiserver does, a patch that did not
        pin a resourceVersion is retried when a concurrent write got in between."""
        assert found.name is not None
        resource, namespace = found.resource, found.scope
        content_type = request.headers.get("Content-Type", "")
        changes = bodies.read_patch(request)
        for attempt in range(PATCH_ATTEMPTS):
            current = self.store.get(resource.key, namespace, found.name)
            patched = patch.apply(content_type, current, changes)
            bodies.check_name(patched, found.name)
            patched = bodies.prepare(resource, found, patched)
            self._guard(user, "patch", found, patched, current)
            pinned = patched["metadata"].get("resourceVersion")
            try:
                return self.cluster.update(resource, namespace, found.name, patched, patched=True)
            except status.ApiError as error:
                stale = pinned == current["metadata"]["resourceVersion"]
                if error.reason != "Conflict" or not stale or attempt == PATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _read(self, found: Target, request: Request) -> Response:
        kind = found.resource.key
        accept = request.headers.get("Accept", "").lower().replace(" ", "")
        include = request.args.get("includeObject", "Metadata")
        if found.name:
            obj = self.store.get(kind, found.scope, found.name)
            if TABLE in accept:
                version = obj["metadata"]["resourceVersion"]
                return json_response(tables.table(found.resource.kind, [obj], version, include))
            return json_response(obj)
        items, version = self.store.list(
            kind,
            found.namespace if found.resource.namespaced else None,
            request.args.get("labelSelector"),
            request.args.get("fieldSelector"),
        )
        if TABLE in accept:
            return json_response(tables.table(found.resource.kind, items, version, include))
        return json_response(
            {
                "kind": f"{found.resource.kind}List",
                "apiVersion": found.resource.group_version,
                "metadata": {"resourceVersion": version},
                "items": items,
            }
        )

    # ------------------------------------------------------------------ the kubelet's tokens
    def pod_token(self, namespace: str, pod_name: str, path: str = IRSA_TOKEN_PATH) -> str:
        """The token the kubelet would write into the pod's file ``path`` (default: the IRSA
        token file): a TokenRequest bound to the pod with the projected volume's audience
        and lifetime. 404 when the pod or such a projected token is missing."""
        pod = self.store.get("/v1/pods", namespace, pod_name)
        spec = pod.get("spec") or {}
        token = _projected_token(spec, path)
        if token is None:
            raise status.ApiError("NotFound", f'pod "{pod_name}" has no token projected at {path}')
        bound = {"kind": "Pod", "apiVersion": "v1", "name": pod_name, "uid": pod["metadata"]["uid"]}
        request: Obj = {
            "expirationSeconds": token.get("expirationSeconds", 3600),
            "boundObjectRef": bound,
        }
        if token.get("audience"):
            request["audiences"] = [token["audience"]]
        account = spec.get("serviceAccountName") or "default"
        answer = tokens.token_request(
            self.cluster, self.issuer, namespace, account, {"spec": request}
        )
        return str(answer["status"]["token"])


def _projected_token(spec: Obj, path: str) -> Obj | None:
    """The ``serviceAccountToken`` projection a container mounts at file ``path``."""
    volumes = {volume.get("name"): volume for volume in spec.get("volumes") or []}
    for section in ("initContainers", "containers"):
        for container in spec.get(section) or []:
            for mount in container.get("volumeMounts") or []:
                volume = volumes.get(mount.get("name")) or {}
                for source in (volume.get("projected") or {}).get("sources") or []:
                    token = source.get("serviceAccountToken")
                    if token and f"{mount.get('mountPath')}/{token.get('path')}" == path:
                        return dict(token)
    return None


def _found(document: dict[str, Any] | None) -> dict[str, Any]:
    if document is None:
        raise routing.no_resource()
    return document
