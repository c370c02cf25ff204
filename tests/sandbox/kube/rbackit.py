"""An API server with real RBAC (the bootstrap roles, ``RbacAuthorizer``) for attack tests:
static tokens per user, helpers to write RBAC objects as the administrator, and a raw
HTTPS call for what kubectl cannot send."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kube_authkit import StaticTokens

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, auth, bootstrap
from kubetrust.sandbox.kube.rbac import RbacAuthorizer
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store

RBAC = "rbac.authorization.k8s.io"
RBAC_V1 = f"/apis/{RBAC}/v1"


def user(name: str, *groups: str, **more: Any) -> auth.User:
    return auth.User(name, uid=f"uid-{name}", groups=(*groups, auth.AUTHENTICATED), **more)


@contextmanager
def rbac_server(
    ca: pki.CertificateAuthority, tokens: Mapping[str, auth.User]
) -> Iterator[tuple[KubeApiServer, Store]]:
    store = Store()
    bootstrap.seed(store)
    app = api.KubeApi(StaticTokens(tokens), RbacAuthorizer(store), store)
    with KubeApiServer(ca, 0, app) as server:
        yield server, store


def cluster_role(name: str, rules: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
        **more,
    }


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules,
    }


def binding(
    name: str, role_name: str, who: str, namespace: str = "", role_kind: str = "ClusterRole"
) -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": who}],
    }


def rule(groups: list[str], resources: list[str], verbs: list[str], **more: Any) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **more}


def seed(store: Store, *objects: dict[str, Any]) -> None:
    """Store objects directly, as an administrator's setup (not the path under test)."""
    keys = {
        "ClusterRole": f"{RBAC}/v1/clusterroles",
        "Role": f"{RBAC}/v1/roles",
        "ClusterRoleBinding": f"{RBAC}/v1/clusterrolebindings",
        "RoleBinding": f"{RBAC}/v1/rolebindings",
        "Namespace": "/v1/namespaces",
    }
    for obj in objects:
        store.create(keys[obj["kind"]], obj["metadata"].get("namespace", ""), obj)


def raw(
    port: int,
    ca: pki.CertificateAuthority,
    method: str,
    path: str,
    token: str,
    headers: list[tuple[str, str]] | None = None,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, str]:
    """One HTTPS request with exactly these headers (repeats kept); ``(status, text)``."""
    context: ssl.SSLContext = pki.client_ssl_context(ca.certificate_pem)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.putrequest(method, path)
        connection.putheader("Authorization", f"Bearer {token}")
        data = b"" if body is None else json.dumps(body).encode()
        if body is not None:
            connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(len(data)))
        for key, value in headers or []:
            connection.putheader(key, value)
        connection.endheaders(data)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()
