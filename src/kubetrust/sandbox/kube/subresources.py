"""The ``status`` and ``scale`` subresources of pods, Deployments and ReplicaSets.

``status`` reads the object and writes only its status (what controllers and kubelets
use); ``scale`` is the ``autoscaling/v1`` ``Scale`` view that ``kubectl scale`` reads and
patches: ``spec.replicas`` in, ``status.replicas`` and the selector as a string out.
"""

from __future__ import annotations

from typing import Any

from kubetrust.sandbox.kube import patch, schema, selectors, status
from kubetrust.sandbox.kube.cluster import Cluster
from kubetrust.sandbox.kube.routing import Target

Obj = dict[str, Any]


def scale_of(obj: Obj) -> Obj:
    metadata = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        },
        "spec": {"replicas": obj["spec"].get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selectors.format_selector(obj["spec"].get("selector") or {}),
        },
    }


def serve(cluster: Cluster, verb: str, found: Target, content_type: str, body: Any) -> Obj:
    """GET, PUT or PATCH a ``status`` or ``scale`` subresource; ``body`` is the decoded
    request body (a patch for PATCH)."""
    assert found.name is not None
    resource, namespace, name = found.resource, found.scope, found.name
    current = cluster.store.get(resource.key, namespace, name)
    view = scale_of(current) if found.subresource == "scale" else current
    if verb == "get":
        return view
    if verb == "patch":
        body = patch.apply(content_type, view, body)
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a JSON object")
    if found.subresource == "status":
        return cluster.update(
            resource, namespace, name, body, subresource="status", patched=verb == "patch"
        )
    return _scale(cluster, found, current, body)


def _scale(cluster: Cluster, found: Target, current: Obj, body: Obj) -> Obj:
    assert found.name is not None
    spec = body.get("spec") or {}
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    try:
        schema.check(replicas, schema.I32, "Scale.spec.replicas")
    except schema.TypeMismatch as exc:
        raise status.bad_request(str(exc)) from None
    if replicas is None or replicas < 0:
        raise status.ApiError(
            "Invalid",
            f'Scale.autoscaling "{found.name}" is invalid: spec.replicas: Invalid value: '
            f"{replicas}: must be greater than or equal to 0",
        )
    version = (body.get("metadata") or {}).get("resourceVersion")
    if version and version != current["metadata"]["resourceVersion"]:
        raise status.conflict(found.resource.group, found.resource.plural, found.name)
    current["spec"]["replicas"] = replicas
    return scale_of(cluster.update(found.resource, found.scope, found.name, current))
