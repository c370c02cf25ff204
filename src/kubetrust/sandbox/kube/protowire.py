"""Just enough protobuf to read what kubectl posts as ``application/vnd.kubernetes.protobuf``.

kubectl v1.33's typed clients (``create configmap``, ``create secret``, ``auth can-i``,
``auth whoami`` ...) send protobuf and accept a JSON answer. Kubernetes frames a protobuf
object as the magic ``k8s\\x00`` and a ``runtime.Unknown`` (field 1 TypeMeta, field 2 the raw
object). :func:`decode` turns the raw object into its JSON form by a field table per kind,
transcribed from k8s.io/api ``generated.proto`` and checked against kubectl's ``-v=9`` dumps.
The tables are a subset. A field without an entry (a pod's volumes, resources, probes ...)
that carries a value raises :class:`UnknownField`, answered 415 UnsupportedMediaType by the
caller, as a kind without a table is: the apiserver reads such a field, so dropping it would
store another object than the apiserver stores (a pod without its ``securityContext``).
Sources for the choice: the apiserver's own decoder (gogo-protobuf's generated
``Unmarshal``) skips only field numbers its Go types lack, and strict field validation
(KEP-2885, ``fieldValidation=Strict``) covers JSON and YAML only, so it never refuses a
protobuf field; 415 ``the body of the request was in an unknown format`` is what it answers
for a body it cannot decode for the resource (protobuf for a custom resource). A field the
apiserver reads but this reader cannot is such a body here; 415 tells the client to send
JSON, where everything is kept. A field without an entry that holds its zero (an empty
string or message, a zero varint or fixed value) is skipped: gogo-protobuf writes every
non-pointer field, so kubectl's bodies are full of them, and the zero is what Go leaves for
an absent one. A message of zeros is not skipped (it may be a pointer message whose explicit
``false`` matters), so each kind's ``status``, which gogo writes as one and the apiserver
ignores on create, update and reviews, has an ``ignored`` entry; and as a pointer scalar
set to its zero (``hostUsers: false``) would be skipped, the pod spec's have entries. Empty
strings, zero ints and false bools of known fields are dropped, as Go's JSON omits them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAGIC = b"k8s\x00"


class UnknownField(ValueError):
    """A field with a value this reader has no entry for (see module doc): 415."""

    def __init__(self, where: str, number: int) -> None:
        super().__init__(f"field {number} of {where} is not read by this server; send JSON")
        self.where = where
        self.number = number


@dataclass(frozen=True, slots=True)
class Fixed:
    """A fixed-width (32 or 64-bit) field: no field read here has one, so it is only ever
    checked for being zero."""

    data: bytes


@dataclass(frozen=True, slots=True)
class F:
    """One field: JSON name, type (``str``, ``bytes``, ``int``, ``int0`` (an optional int
    whose zero is meaningful, e.g. replicas), ``bool``, ``bool0`` (an optional bool whose
    false is meaningful, e.g. automountServiceAccountToken), ``msg``,
    ``map`` of string to ``str``/``bytes``, ``ignored`` (read and dropped, as the
    apiserver drops a ``status`` sent with a create or a review), repeated or not, and
    the message's fields."""

    name: str
    type: str = "str"
    repeated: bool = False
    fields: dict[int, F] | None = None
    value: str = "str"  # a map's value type


Fields = dict[int, "F"]

OBJECT_META: Fields = {
    1: F("name"),
    2: F("generateName"),
    3: F("namespace"),
    5: F("uid"),
    6: F("resourceVersion"),
    7: F("generation", "int"),
    11: F("labels", "map"),
    12: F("annotations", "map"),
    14: F("finalizers", repeated=True),
}
_META = F("metadata", "msg", fields=OBJECT_META)
_POLICY_RULE: Fields = {
    1: F("verbs", repeated=True),
    2: F("apiGroups", repeated=True),
    3: F("resources", repeated=True),
    4: F("resourceNames", repeated=True),
    5: F("nonResourceURLs", repeated=True),
}
_SUBJECT: Fields = {1: F("kind"), 2: F("apiGroup"), 3: F("name"), 4: F("namespace")}
_ROLE_REF: Fields = {1: F("apiGroup"), 2: F("kind"), 3: F("name")}
_LABEL_SELECTOR: Fields = {1: F("matchLabels", "map")}
_BINDING: Fields = {
    1: _META,
    2: F("subjects", "msg", True, _SUBJECT),
    3: F("roleRef", "msg", fields=_ROLE_REF),
}
_RESOURCE_ATTRIBUTES: Fields = {
    1: F("namespace"),
    2: F("verb"),
    3: F("group"),
    4: F("version"),
    5: F("resource"),
    6: F("subresource"),
    7: F("name"),
}
_SSAR_SPEC: Fields = {
    1: F("resourceAttributes", "msg", fields=_RESOURCE_ATTRIBUTES),
    2: F("nonResourceAttributes", "msg", fields={1: F("path"), 2: F("verb")}),
}

_CONTAINER: Fields = {
    1: F("name"),
    2: F("image"),
    3: F("command", repeated=True),
    4: F("args", repeated=True),
    5: F("workingDir"),
    6: F(
        "ports",
        "msg",
        True,
        {
            1: F("name"),
            2: F("hostPort", "int"),
            3: F("containerPort", "int"),
            4: F("protocol"),
        },
    ),
    7: F("env", "msg", True, {1: F("name"), 2: F("value")}),
    9: F(
        "volumeMounts",
        "msg",
        True,
        {1: F("name"), 2: F("readOnly", "bool"), 3: F("mountPath"), 4: F("subPath")},
    ),
    14: F("imagePullPolicy"),
}
_POD_SPEC: Fields = {
    2: F("containers", "msg", True, _CONTAINER),
    3: F("restartPolicy"),
    4: F("terminationGracePeriodSeconds", "int0"),
    5: F("activeDeadlineSeconds", "int0"),
    7: F("nodeSelector", "map"),
    8: F("serviceAccountName"),
    9: F("serviceAccount"),
    10: F("nodeName"),
    11: F("hostNetwork", "bool"),
    20: F("initContainers", "msg", True, _CONTAINER),
    21: F("automountServiceAccountToken", "bool0"),
    25: F("priority", "int0"),
    27: F("shareProcessNamespace", "bool0"),
    30: F("enableServiceLinks", "bool0"),
    35: F("setHostnameAsFQDN", "bool0"),
    37: F("hostUsers", "bool0"),
}
"""The pointer scalars (``int0``/``bool0``) are here even where nothing reads them: their
zero is a value (``hostUsers: false``), which the zero rule of the module doc would drop."""
_BOUND_OBJECT: Fields = {1: F("kind"), 2: F("apiVersion"), 3: F("name"), 4: F("uid")}
_TOKEN_REQUEST_SPEC: Fields = {
    1: F("audiences", repeated=True),
    3: F("boundObjectRef", "msg", fields=_BOUND_OBJECT),
    4: F("expirationSeconds", "int0"),
}
_TEMPLATE: Fields = {1: _META, 2: F("spec", "msg", fields=_POD_SPEC)}
_SELECTOR: Fields = {
    1: F("matchLabels", "map"),
    2: F(
        "matchExpressions",
        "msg",
        True,
        {
            1: F("key"),
            2: F("operator"),
            3: F("values", repeated=True),
        },
    ),
}
_DEPLOYMENT_SPEC: Fields = {
    1: F("replicas", "int0"),
    2: F("selector", "msg", fields=_SELECTOR),
    3: F("template", "msg", fields=_TEMPLATE),
    4: F("strategy", "msg", fields={1: F("type")}),
    5: F("minReadySeconds", "int"),
    6: F("revisionHistoryLimit", "int0"),
    7: F("paused", "bool"),
    9: F("progressDeadlineSeconds", "int0"),
}

_STATUS = F("status", "ignored")

KINDS: dict[str, Fields] = {
    "Deployment": {1: _META, 2: F("spec", "msg", fields=_DEPLOYMENT_SPEC), 3: _STATUS},
    "Pod": {1: _META, 2: F("spec", "msg", fields=_POD_SPEC), 3: _STATUS},
    "ConfigMap": {
        1: _META,
        2: F("data", "map"),
        3: F("binaryData", "map", value="bytes"),
        4: F("immutable", "bool"),
    },
    "Secret": {
        1: _META,
        2: F("data", "map", value="bytes"),
        3: F("type"),
        4: F("stringData", "map"),
        5: F("immutable", "bool"),
    },
    "ServiceAccount": {
        1: _META,
        2: F("secrets", "msg", True, {1: F("kind"), 2: F("namespace"), 3: F("name")}),
        3: F("imagePullSecrets", "msg", True, {1: F("name")}),
        4: F("automountServiceAccountToken", "bool0"),
    },
    "Namespace": {
        1: _META,
        2: F("spec", "msg", fields={1: F("finalizers", repeated=True)}),
        3: F("status", "msg", fields={1: F("phase")}),
    },
    "Role": {1: _META, 2: F("rules", "msg", True, _POLICY_RULE)},
    "ClusterRole": {
        1: _META,
        2: F("rules", "msg", True, _POLICY_RULE),
        3: F(
            "aggregationRule",
            "msg",
            fields={1: F("clusterRoleSelectors", "msg", True, _LABEL_SELECTOR)},
        ),
    },
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "SelfSubjectAccessReview": {1: _META, 2: F("spec", "msg", fields=_SSAR_SPEC), 3: _STATUS},
    "SelfSubjectRulesReview": {
        1: _META,
        2: F("spec", "msg", fields={1: F("namespace")}),
        3: _STATUS,
    },
    "SelfSubjectReview": {1: _META, 2: _STATUS},
    "TokenRequest": {1: _META, 2: F("spec", "msg", fields=_TOKEN_REQUEST_SPEC), 3: _STATUS},
    "TokenReview": {
        1: _META,
        2: F("spec", "msg", fields={1: F("token"), 2: F("audiences", repeated=True)}),
        3: _STATUS,
    },
    "Scale": {1: _META, 2: F("spec", "msg", fields={1: F("replicas", "int0")}), 3: _STATUS},
}


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """A base-128 varint as Go's protobuf reads it: at most 10 bytes, the tenth only 0 or 1
    (a value past 64 bits is an overflow, not a big number); returned as the int64 it
    encodes (two's complement), since every int field here is an int32/int64."""
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        if shift == 63 and byte > 1:
            raise ValueError("integer overflow")
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value - (1 << 64) if value >= 1 << 63 else value, position


Value = bytes | int | Fixed


def fields(data: bytes) -> Iterator[tuple[int, Value]]:
    """``(field number, value)`` of each field: bytes for length-delimited ones, ints for
    varints, :class:`Fixed` for fixed 32/64-bit ones."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if number <= 0:
            raise ValueError(f"illegal tag {number} (wire type {wire})")
        if wire == 0:
            value, position = _varint(data, position)
            yield number, value
        elif wire == 2:
            length, position = _varint(data, position)
            if length < 0 or position + length > len(data):
                raise ValueError("truncated field")
            yield number, data[position : position + length]
            position += length
        elif wire in (1, 5):
            end = position + (8 if wire == 1 else 4)
            if end > len(data):
                raise ValueError("truncated fixed-width field")
            yield number, Fixed(data[position:end])
            position = end
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _scalar(kind: str, value: Value) -> Any:
    if kind in ("int", "int0", "bool", "bool0"):
        if not isinstance(value, int):
            raise ValueError("expected a varint")
        return bool(value) if kind.startswith("bool") else value
    if not isinstance(value, bytes):
        raise ValueError("expected a length-delimited field")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    return value.decode()


def _is_zero(value: Value) -> bool:
    """Whether a field without an entry holds its zero: a zero varint or fixed value, or
    empty bytes (an empty string, an empty message). A message of zeros is not zero: it
    may be a pointer message whose explicit ``false`` matters
    (``securityContext.allowPrivilegeEscalation``)."""
    if isinstance(value, Fixed):
        return not any(value.data)
    return value in (0, b"")


def message(data: bytes, table: Fields, where: str = "the object") -> dict[str, Any]:
    """The JSON form of a message described by ``table``; :class:`UnknownField` for a
    field it has no entry for that holds a value (``where`` names the message)."""
    result: dict[str, Any] = {}
    for number, value in fields(data):
        spec = table.get(number)
        if spec is None:
            if _is_zero(value):
                continue  # the zero of a non-pointer field gogo-protobuf always writes
            raise UnknownField(where, number)
        if spec.type == "ignored":
            continue
        if spec.type == "map":
            if not isinstance(value, bytes):
                raise ValueError("expected a map entry")
            entry = dict(fields(value))
            key = _scalar("str", entry.get(1, b""))
            result.setdefault(spec.name, {})[key] = _scalar(spec.value, entry.get(2, b""))
            continue
        if spec.type == "msg":
            if not isinstance(value, bytes):
                raise ValueError("expected a message")
            decoded: Any = message(value, spec.fields or {}, f"{where}.{spec.name}")
        else:
            decoded = _scalar(spec.type, value)
        if spec.repeated:
            result.setdefault(spec.name, []).append(decoded)
        elif decoded not in ("", False) or spec.type in ("int0", "bool0"):
            result[spec.name] = decoded  # Go's JSON omits empty strings, zeros, false
    return result


_TYPE_META: Fields = {1: F("apiVersion"), 2: F("kind")}


def unwrap(data: bytes) -> tuple[dict[str, Any], bytes]:
    """``(TypeMeta, raw object bytes)`` of the ``k8s\\x00`` + ``runtime.Unknown`` envelope;
    its ``contentEncoding`` and ``contentType`` (fields 3 and 4), which this reader does
    not honour, are refused like any unknown field unless empty."""
    if not data.startswith(MAGIC):
        raise ValueError("missing the k8s protobuf magic")
    type_meta: dict[str, Any] = {}
    raw = b""
    for number, value in fields(data[len(MAGIC) :]):
        if number in (1, 2):
            if not isinstance(value, bytes):
                raise ValueError("expected a length-delimited field")
            if number == 1:
                type_meta = message(value, _TYPE_META, "the TypeMeta")
            else:
                raw = value
        elif not _is_zero(value):
            raise UnknownField("the runtime.Unknown envelope", number)
    return type_meta, raw


def decode(data: bytes, kind: str) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object of ``kind``; ``ValueError`` if the kind
    has no field table or the bytes do not parse, :class:`UnknownField` (a ``ValueError``)
    for a field with a value the table lacks."""
    table = KINDS.get(kind)
    if table is None:
        raise ValueError(f"protobuf bodies of kind {kind} are not supported; send JSON")
    type_meta, raw = unwrap(data)
    return {**type_meta, **message(raw, table, kind)}
