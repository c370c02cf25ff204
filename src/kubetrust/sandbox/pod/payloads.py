"""The files of an API-data volume (configMap, secret, downwardAPI, projected), computed from
the pod and the :class:`VolumeSource` with Kubernetes' ``items``, ``defaultMode`` and ``mode``.

Computing is kept apart from writing (:mod:`.atomic_writer`) because the token refresher
recomputes a volume's payload and rewrites it while the command runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetrust.errors import InputError, shown
from kubetrust.sandbox.pod.atomic_writer import Payload, VolumeFile
from kubetrust.sandbox.pod.downward_api import field_value
from kubetrust.sandbox.pod.pod_spec import relative_path, spec_object, spec_objects, spec_text
from kubetrust.sandbox.pod.volume_source import VolumeSource

DEFAULT_FILE_MODE = 0o644
DEFAULT_TOKEN_SECONDS = 3600


def volume_payload(
    spec: dict[str, Any], pod: Mapping[str, Any], source: VolumeSource, where: str
) -> Payload:
    """The files of an API-data volume: relative path -> content and mode."""
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in spec:
            body = spec_object(spec[kind], f"{where}.{kind}")
            default = _mode(body.get("defaultMode"), DEFAULT_FILE_MODE, where)
            return _source_payload(kind, body, default, pod, source, where)
    body = spec_object(spec.get("projected"), f"{where}.projected")
    default = _mode(body.get("defaultMode"), DEFAULT_FILE_MODE, where)
    payload: Payload = {}
    for index, item in enumerate(spec_objects(body.get("sources"), f"{where}.projected.sources")):
        kinds = [
            k for k in item if k in ("configMap", "secret", "downwardAPI", "serviceAccountToken")
        ]
        if not kinds:
            raise InputError(f"{where}: projected source {shown(sorted(item))} is not supported")
        part = spec_object(item[kinds[0]], f"{where}.sources[{index}].{kinds[0]}")
        payload.update(_source_payload(kinds[0], part, default, pod, source, where))
    return payload


def _source_payload(
    kind: str,
    body: dict[str, Any],
    default: int,
    pod: Mapping[str, Any],
    source: VolumeSource,
    where: str,
) -> Payload:
    """The files of one source: a whole volume, or one source of a projected volume."""
    if kind == "serviceAccountToken":
        path = relative_path(
            spec_text(body.get("path"), f"{where}: token path"), f"{where}: token path"
        )
        audience = body.get("audience") or None
        seconds = int(body.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
        token = source.service_account_token(audience, seconds)
        return {path: VolumeFile(token.encode(), default)}
    if kind == "downwardAPI":
        return _downward_payload(body, default, pod, where)
    if kind == "configMap":
        name = spec_text(body.get("name"), f"{where}: configMap name")
        data: Mapping[str, str | bytes] | None = source.config_map(name)
        label = "configmap"
    else:
        name = spec_text(body.get("secretName") or body.get("name"), f"{where}: secret name")
        data = source.secret(name)
        label = "secret"
    return _keyed_payload(data, body, default, f"{label} `{name}`", where)


def _keyed_payload(
    data: Mapping[str, str | bytes] | None,
    body: dict[str, Any],
    default: int,
    label: str,
    where: str,
) -> Payload:
    """A ConfigMap's or Secret's keys as files: all keys, or ``items`` (key -> path, mode)."""
    optional = bool(body.get("optional"))
    if data is None:
        if optional:
            return {}
        raise InputError(f"{where}: {label} not found")
    items = spec_objects(body.get("items"), f"{where}.items")
    if not items:
        return {key: VolumeFile(_as_bytes(value), default) for key, value in data.items()}
    payload: Payload = {}
    for item in items:
        key = spec_text(item.get("key"), f"{where}: item key")
        if key not in data:
            if optional:
                continue
            raise InputError(f"{where}: {label} has no key `{key}`")
        path = _item_path(item, where)
        payload[path] = VolumeFile(_as_bytes(data[key]), _mode(item.get("mode"), default, where))
    return payload


def _downward_payload(
    body: dict[str, Any], default: int, pod: Mapping[str, Any], where: str
) -> Payload:
    payload: Payload = {}
    for item in spec_objects(body.get("items"), f"{where}.downwardAPI.items"):
        path = _item_path(item, where)
        if "fieldRef" not in item:
            raise InputError(f"{where}: downwardAPI item `{path}`: only fieldRef is supported")
        field_ref = spec_object(item["fieldRef"], where)
        value = field_value(
            pod,
            spec_text(field_ref.get("fieldPath"), f"{where}: fieldPath"),
            where,
            whole_maps=True,
        )
        payload[path] = VolumeFile(value.encode(), _mode(item.get("mode"), default, where))
    return payload


def _item_path(item: dict[str, Any], where: str) -> str:
    return relative_path(spec_text(item.get("path"), f"{where}: item path"), f"{where}: item path")


def _mode(value: object, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        raise InputError(f"{where}: mode must be an integer between 0 and 0777, not {shown(value)}")
    return value


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
