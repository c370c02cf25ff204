"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` that ``kubectl get`` asks for.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...`` and prints the
columns the server chose (upper-cased), so ``kubectl get ns`` shows NAME STATUS AGE as on a
real cluster. Each row carries the object's metadata (``PartialObjectMetadata``), or the
whole object with ``?includeObject=Object``, for ``--show-labels``, ``-A`` and sorting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from kubetrust.sandbox.kube import selectors

Obj = dict[str, Any]
Cell = str | int
Column = tuple[str, str, Callable[[Obj], Cell]]  # (name, type, cell of an object)

_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace.",
    "IP": "IP address allocated to the pod. Routable at least within the cluster. Empty if "
    "not yet allocated.",
    "Node": "NodeName is a request to schedule this pod onto a specific node.",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
    "Roles": "The roles of the node",
    "Version": "Kubelet Version reported by the node.",
}


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery ``duration.HumanDuration``: ``45s``, ``3m20s``, ``5h10m``, ``2d``."""
    total = int(seconds)
    if total < -1:
        return "<invalid>"
    if total < 0:
        return "0s"
    if total < 120:
        return f"{total}s"
    minutes = total // 60
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years, rest = divmod(days, 365)
    if hours < 24 * 365 * 8 and rest:
        return f"{years}y{rest}d"
    return f"{years}y"


def _meta(obj: Obj, field: str) -> Any:
    return (obj.get("metadata") or {}).get(field)


def _age(now: dt.datetime) -> Callable[[Obj], Cell]:
    def cell(obj: Obj) -> Cell:
        created = _meta(obj, "creationTimestamp")
        if not created:
            return "<unknown>"
        moment = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        return human_duration((now - moment).total_seconds())

    return cell


def _count(section: str, *more: str) -> Callable[[Obj], Cell]:
    return lambda obj: sum(len(obj.get(name) or {}) for name in (section, *more))


def _pod_ready(obj: Obj) -> Cell:
    containers = (obj.get("spec") or {}).get("containers") or []
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    return f"{sum(1 for s in statuses if s.get('ready'))}/{len(containers)}"


def _deployment_ready(obj: Obj) -> Cell:
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    return f"{(obj.get('status') or {}).get('readyReplicas', 0)}/{wanted}"


def _status(field: str, default: Cell) -> Callable[[Obj], Cell]:
    return lambda obj: (obj.get("status") or {}).get(field, default)


def _role_ref(obj: Obj) -> Cell:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        return "<none>"
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _images(obj: Obj, field: str) -> Cell:
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return ",".join(str(c.get(field, "")) for c in template.get("containers") or []) or "<none>"


def _selector(obj: Obj) -> Cell:
    return selectors.format_selector((obj.get("spec") or {}).get("selector") or {}) or "<none>"


def _pod_field(section: str, field: str) -> Callable[[Obj], Cell]:
    return lambda obj: str((obj.get(section) or {}).get(field) or "<none>")


def _node_status(obj: Obj) -> Cell:
    """``printNode``: Ready / NotReady / Unknown from the Ready condition, then
    ``SchedulingDisabled`` for a cordoned node."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"]
    found = (
        ["Unknown"] if not ready else ["Ready" if ready[0].get("status") == "True" else "NotReady"]
    )
    if (obj.get("spec") or {}).get("unschedulable"):
        found.append("SchedulingDisabled")
    return ",".join(found)


def _node_roles(obj: Obj) -> Cell:
    """``node-role.kubernetes.io/<role>`` labels and ``kubernetes.io/role``, or ``<none>``
    (an EKS worker has none)."""
    labels = _meta(obj, "labels") or {}
    roles = {key.partition("/")[2] for key in labels if key.startswith("node-role.kubernetes.io/")}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(role for role in roles if role)) or "<none>"


def _node_address(kind: str) -> Callable[[Obj], Cell]:
    def cell(obj: Obj) -> Cell:
        for address in (obj.get("status") or {}).get("addresses") or []:
            if isinstance(address, dict) and address.get("type") == kind:
                return str(address.get("address") or "<none>")
        return "<none>"

    return cell


def _node_info(field: str) -> Callable[[Obj], Cell]:
    return lambda obj: str(
        ((obj.get("status") or {}).get("nodeInfo") or {}).get(field) or "<unknown>"
    )


_WORKLOAD_WIDE: list[Column] = [
    ("Containers", "string", lambda obj: _images(obj, "name")),
    ("Images", "string", lambda obj: _images(obj, "image")),
    ("Selector", "string", _selector),
]
_WIDE: dict[str, list[Column]] = {
    "Pod": [
        ("IP", "string", _pod_field("status", "podIP")),
        ("Node", "string", _pod_field("spec", "nodeName")),
        ("Nominated Node", "string", lambda obj: "<none>"),
        ("Readiness Gates", "string", lambda obj: "<none>"),
    ],
    "Deployment": _WORKLOAD_WIDE,
    "ReplicaSet": _WORKLOAD_WIDE,
    "Node": [
        ("Internal-IP", "string", _node_address("InternalIP")),
        ("External-IP", "string", _node_address("ExternalIP")),
        ("OS-Image", "string", _node_info("osImage")),
        ("Kernel-Version", "string", _node_info("kernelVersion")),
        ("Container-Runtime", "string", _node_info("containerRuntimeVersion")),
    ],
}
"""Priority-1 columns: shown by ``kubectl get -o wide`` only."""
_AFTER_AGE: dict[str, list[Column]] = {
    "Node": [("Version", "string", _node_info("kubeletVersion"))],
}
"""Standard columns the apiserver prints after Age (a node's kubelet version)."""


def _columns(kind: str) -> list[Column]:
    by_kind: dict[str, list[Column]] = {
        "Namespace": [("Status", "string", _status("phase", "Active"))],
        "ConfigMap": [("Data", "integer", _count("data", "binaryData"))],
        "Secret": [
            ("Type", "string", lambda obj: obj.get("type", "Opaque")),
            ("Data", "integer", _count("data")),
        ],
        "ServiceAccount": [("Secrets", "integer", lambda obj: len(obj.get("secrets") or []))],
        "Pod": [
            ("Ready", "string", _pod_ready),
            ("Status", "string", _status("phase", "Pending")),
            ("Restarts", "string", lambda obj: "0"),
        ],
        "Deployment": [
            ("Ready", "string", _deployment_ready),
            ("Up-to-date", "integer", _status("updatedReplicas", 0)),
            ("Available", "integer", _status("availableReplicas", 0)),
        ],
        "ReplicaSet": [
            ("Desired", "integer", lambda obj: (obj.get("spec") or {}).get("replicas", 1)),
            ("Current", "integer", _status("replicas", 0)),
            ("Ready", "integer", _status("readyReplicas", 0)),
        ],
        "Node": [("Status", "string", _node_status), ("Roles", "string", _node_roles)],
        "RoleBinding": [("Role", "string", _role_ref)],
        "ClusterRoleBinding": [("Role", "string", _role_ref)],
    }
    return by_kind.get(kind, [])


def table(
    kind: str,
    objects: list[Obj],
    resource_version: str,
    include: str = "Metadata",
    now: dt.datetime | None = None,
) -> Obj:
    """The Table of ``objects`` of ``kind``: Name, the kind's columns, Age (and for a few
    kinds more after it), then the wide columns."""
    moment = now or dt.datetime.now(dt.UTC)
    columns: list[Column] = [
        ("Name", "string", lambda obj: str(_meta(obj, "name") or "")),
        *_columns(kind),
        ("Age", "string", _age(moment)),
        *_AFTER_AGE.get(kind, []),
        *_WIDE.get(kind, []),
    ]
    standard = len(columns) - len(_WIDE.get(kind, []))
    definitions = [
        {
            "name": name,
            "type": kind_of,
            "format": "name" if name == "Name" else "",
            "description": _DESCRIPTIONS.get(name, name),
            "priority": 0 if index < standard else 1,
        }
        for index, (name, kind_of, _) in enumerate(columns)
    ]
    rows = [
        {"cells": [cell(obj) for _, _, cell in columns], "object": _row_object(obj, include)}
        for obj in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }
