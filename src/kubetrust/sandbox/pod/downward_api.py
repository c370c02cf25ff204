"""The downward API: the pod fields an env var (``fieldRef``) or a downwardAPI volume file may
name, rendered as the kubelet renders them. Shared by the environment and the volumes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kubetrust.errors import InputError, shown
from kubetrust.sandbox.pod.pod_spec import spec_object, spec_objects

_LABEL_REF = re.compile(r"metadata\.(labels|annotations)\['([^']*)'\]")


def field_value(pod: Mapping[str, Any], path: str, where: str, *, whole_maps: bool = False) -> str:
    """The value of ``fieldPath`` ``path``; ``whole_maps`` allows all labels or annotations at
    once (only a downwardAPI file may ask for those, as ``key="value"`` lines)."""
    meta = spec_object(pod.get("metadata"), "metadata")
    spec = spec_object(pod.get("spec"), "spec")
    status = spec_object(pod.get("status"), "status")
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("status.podIPs", "status.hostIPs"):
        ips = spec_objects(status.get(path.split(".")[1]), path)
        return ",".join(str(ip.get("ip", "")) for ip in ips)
    labelled = _LABEL_REF.fullmatch(path)
    if labelled:
        return str(spec_object(meta.get(labelled.group(1)), path).get(labelled.group(2), ""))
    if whole_maps and path in ("metadata.labels", "metadata.annotations"):
        values = spec_object(meta.get(path.split(".")[1]), path)
        return "\n".join(
            f"{k}={json.dumps(str(values[k]), ensure_ascii=False)}" for k in sorted(values)
        )
    raise InputError(f"{where}: fieldPath {shown(path)} is not supported")
