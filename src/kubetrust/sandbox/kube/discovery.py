"""Discovery documents: ``/version``, ``/api``, ``/apis``, resource lists and OpenAPI v3.

kubectl discovers before it does anything: ``GET /api`` and ``GET /apis`` (it asks for the
aggregated ``apidiscovery.k8s.io/v2`` form first and falls back to these legacy documents
when the answer is plain ``application/json``), then ``/api/v1`` and ``/apis/<g>/<v>``.
``kubectl apply`` also reads ``/openapi/v3`` to learn whether PATCH takes the
``fieldValidation`` query parameter; without that it falls back to client-side schema
validation, which needs the whole OpenAPI v2 document. The minimal v3 documents here
declare the parameter on every PATCH (so validation is left to the server) and declare no
request body, so kubectl builds strategic merge patches from its compiled-in types.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubetrust.sandbox.kube import resources

Obj = dict[str, Any]
KUBERNETES_VERSION = ("1", "33", "v1.33.0-eks-kubetrust")


def version() -> Obj:
    major, minor, git = KUBERNETES_VERSION
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group(group: str) -> Obj | None:
    versions = [v for g, v in resources.GROUP_VERSIONS if g == group]
    if not versions:
        return None
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": listed,
        "preferredVersion": listed[0],
    }


def api_group_list() -> Obj:
    groups = dict.fromkeys(group for group, _ in resources.GROUP_VERSIONS)
    listed = [api_group(group) for group in groups]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}


def resource_list(group: str, version: str) -> Obj | None:
    served = resources.in_group_version(group, version)
    if not served:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": served[0].group_version,
        "resources": [
            entry
            for resource in served
            for entry in (
                resource.discovery(),
                *(sub.discovery(resource) for sub in resource.subresources),
            )
        ],
    }


# ---------------------------------------------------------------------- OpenAPI v3
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_paths() -> Obj:
    """``/openapi/v3``: where each group-version's document is."""
    paths = {}
    for group, version in dict.fromkeys((r.group, r.version) for r in resources.RESOURCES):
        path = _gv_path(group, version)
        digest = hashlib.sha256(json.dumps(openapi_document(group, version) or {}).encode())
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.hexdigest()}"}
    return {"paths": paths}


def openapi_document(group: str, version: str) -> Obj | None:
    """The OpenAPI v3 document of a group-version: the item path of each stored kind with a
    PATCH operation tagged with its group-version-kind (see module doc)."""
    served = resources.in_group_version(group, version)
    if not served:
        return None
    paths: Obj = {}
    for resource in served:
        if "patch" not in resource.verbs:
            continue
        scope = "namespaces/{namespace}/" if resource.namespaced else ""
        item = f"/{_gv_path(group, version)}/{scope}{resource.plural}/{{name}}"
        gvk = {"group": group, "version": version, "kind": resource.kind}
        parameters = [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in ("dryRun", "fieldManager", "fieldValidation", "force")
        ]
        paths[item] = {
            "patch": {
                "operationId": f"patch{resource.kind}",
                "parameters": parameters,  # kubectl reads the operation's, not the path's
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK"}},
            },
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION[2]},
        "paths": paths,
        "components": {"schemas": {}},
    }
