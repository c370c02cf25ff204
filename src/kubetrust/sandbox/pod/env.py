"""The container's environment as the kubelet builds it: ``envFrom``, then ``env`` with
Kubernetes' ``$(VAR)`` expansion and ``valueFrom`` references.

Only the pod's own variables are resolved here; what the command finally receives (``PATH``,
``HOME``, the caller's ``extra_env``) is decided in :mod:`.process`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from kubetrust.errors import InputError
from kubetrust.sandbox.pod.downward_api import field_value
from kubetrust.sandbox.pod.pod_spec import spec_object, spec_objects, spec_text
from kubetrust.sandbox.pod.volume_source import VolumeSource

_VAR_REF = re.compile(r"\$(\$|\(([^)]*)\))")


def resolve_env(
    pod: Mapping[str, Any], container: Mapping[str, Any], source: VolumeSource, where: str = "pod"
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ``envFrom`` in order, then ``env``
    in order (later wins; ``value`` expands ``$(VAR)`` against what is defined so far)."""
    env: dict[str, str] = {}
    for index, entry in enumerate(spec_objects(container.get("envFrom"), "envFrom")):
        env.update(_env_from(entry, source, f"{where}, envFrom[{index}]"))
    for index, entry in enumerate(spec_objects(container.get("env"), "env")):
        name = spec_text(entry.get("name"), f"{where}, env[{index}].name")
        value = _env_value(entry, env, pod, source, f"{where}, env `{name}`")
        if value is not None:
            env[name] = value
    for name, value in env.items():
        if "=" in name or "\0" in name or "\0" in value:
            raise InputError(f"{where}: env `{name}` cannot be passed to a process")
    return env


def expand(value: str, defined: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, unknown ones stay literally,
    ``$$`` is an escaped ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2)
        return defined.get(name, match.group(0))

    return _VAR_REF.sub(replace, value)


def _env_from(entry: dict[str, Any], source: VolumeSource, where: str) -> dict[str, str]:
    prefix = str(entry.get("prefix") or "")
    if "configMapRef" in entry:
        ref = spec_object(entry["configMapRef"], f"{where}.configMapRef")
        data: Mapping[str, str | bytes] | None = source.config_map(
            spec_text(ref.get("name"), where)
        )
        kind = "configmap"
    elif "secretRef" in entry:
        ref = spec_object(entry["secretRef"], f"{where}.secretRef")
        data = source.secret(spec_text(ref.get("name"), where))
        kind = "secret"
    else:
        raise InputError(f"{where}: needs `configMapRef` or `secretRef`")
    if data is None:
        if ref.get("optional"):
            return {}
        raise InputError(f"{where}: {kind} `{ref['name']}` not found")
    # Kubernetes skips keys that are not valid variable names (and reports an event).
    return {prefix + key: _as_text(value) for key, value in data.items() if key and "=" not in key}


def _env_value(
    entry: dict[str, Any],
    defined: Mapping[str, str],
    pod: Mapping[str, Any],
    source: VolumeSource,
    where: str,
) -> str | None:
    if "valueFrom" not in entry:
        return expand(str(entry.get("value") or ""), defined)
    ref = spec_object(entry["valueFrom"], f"{where}.valueFrom")
    if "configMapKeyRef" in ref:
        return _key_ref(
            spec_object(ref["configMapKeyRef"], where), "configmap", source.config_map, where
        )
    if "secretKeyRef" in ref:
        return _key_ref(spec_object(ref["secretKeyRef"], where), "secret", source.secret, where)
    if "fieldRef" in ref:
        field_ref = spec_object(ref["fieldRef"], where)
        return field_value(pod, spec_text(field_ref.get("fieldPath"), f"{where}.fieldPath"), where)
    raise InputError(f"{where}: only configMapKeyRef, secretKeyRef and fieldRef are supported")


def _key_ref(
    ref: dict[str, Any],
    kind: str,
    fetch: Callable[[str], Mapping[str, Any] | None],
    where: str,
) -> str | None:
    name = spec_text(ref.get("name"), f"{where}: {kind} name")
    key = spec_text(ref.get("key"), f"{where}: {kind} key")
    data = fetch(name)
    if data is None or key not in data:
        if ref.get("optional"):
            return None
        if data is None:
            raise InputError(f"{where}: {kind} `{name}` not found")
        raise InputError(f"{where}: key `{key}` not found in {kind} `{name}`")
    return _as_text(data[key])


def _as_text(value: str | bytes) -> str:
    """Secret bytes keep their exact value through the environment (surrogateescape)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)
