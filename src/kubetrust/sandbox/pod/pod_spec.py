"""Checked reads of the Pod object as the API server returns it.

Every malformed field becomes an :class:`InputError` naming where it is, so that a bad pod is
reported before anything is written or run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from kubetrust.errors import InputError, shown


def spec_object(value: object, where: str) -> dict[str, Any]:
    """An object field; absent (``None``) reads as empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{where} must be an object, not {shown(value)}")
    return value


def spec_objects(value: object, where: str) -> list[dict[str, Any]]:
    """A list-of-objects field; absent (``None``) reads as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list, not {shown(value)}")
    return [spec_object(item, f"{where}[{index}]") for index, item in enumerate(value)]


def spec_text(value: object, where: str) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a non-empty string, not {shown(value)}")
    return value


def relative_path(path: str, where: str) -> str:
    """A path inside a volume (``items[].path``, ``subPath``): relative, never with ``..``."""
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts:
        raise InputError(f"{where} must be a relative path without `..`, not {shown(path)}")
    return posixpath.normpath(path)


def pod_label(pod: Mapping[str, Any]) -> str:
    """``namespace/name``, for messages; tolerant, since it labels errors about bad pods."""
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def select_container(pod: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    """The named container, or the first one (as ``kubectl exec`` without ``-c``)."""
    containers = spec_objects(
        spec_object(pod.get("spec"), "spec").get("containers"), "spec.containers"
    )
    if not containers:
        raise InputError(f"pod `{pod_label(pod)}` has no containers")
    if name is None:
        return containers[0]
    for candidate in containers:
        if candidate.get("name") == name:
            return candidate
    names = ", ".join(f"`{c.get('name')}`" for c in containers)
    raise InputError(f"container `{name}` is not valid for pod `{pod_label(pod)}` (has {names})")
