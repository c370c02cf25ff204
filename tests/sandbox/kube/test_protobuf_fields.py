"""A protobuf body with a field the sandbox's reader does not know is refused, 415
UnsupportedMediaType, rather than stored without it; a field holding its zero (what
gogo-protobuf writes for every unset non-pointer field) is not a reason to refuse. Raw
HTTPS requests on loopback, bodies built byte by byte."""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust.sandbox.kube import protowire

from .conftest import Client

PROTOBUF = "application/vnd.kubernetes.protobuf"
CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _fixed64(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 1) + data


def _envelope(api_version: bytes, kind: bytes, raw: bytes, extra: bytes = b"") -> bytes:
    type_meta = _bytes(1, api_version) + _bytes(2, kind)
    return protowire.MAGIC + _bytes(1, type_meta) + _bytes(2, raw) + extra


def _meta(name: bytes, extra: bytes = b"") -> bytes:
    return _bytes(1, _bytes(1, name) + extra)


def _configmap(name: bytes, extra: bytes = b"") -> bytes:
    return _envelope(
        b"v1", b"ConfigMap", _meta(name) + _bytes(2, _bytes(1, b"k") + _bytes(2, b"v")) + extra
    )


def _pod(
    name: bytes, spec_extra: bytes = b"", container_extra: bytes = b"", extra: bytes = b""
) -> bytes:
    container = _bytes(1, b"app") + _bytes(2, b"busybox:1") + container_extra
    spec = _bytes(2, container) + spec_extra
    return _envelope(b"v1", b"Pod", _meta(name) + _bytes(2, spec) + extra)


def _refused(answer: tuple[int, Any], number: int) -> None:
    code, body = answer
    assert (code, body["reason"], body["code"]) == (415, "UnsupportedMediaType", 415), body
    assert f"field {number} of " in body["message"]
    assert "accepted media types include: application/json, application/yaml" in body["message"]


@pytest.mark.parametrize(
    ("name", "extra", "number"),
    [
        (b"pb-unknown-string", _bytes(9, b"surprise"), 9),
        (b"pb-unknown-varint", _int(10, 1), 10),
        (b"pb-unknown-fixed", _fixed64(11, b"\x01" + b"\x00" * 7), 11),
        (b"pb-unknown-message", _bytes(12, _int(1, 0)), 12),
    ],
    ids=["string", "varint", "fixed64", "message-of-zeros"],
)
def test_an_unknown_field_with_a_value_is_415_and_nothing_is_stored(
    client: Client, name: bytes, extra: bytes, number: int
) -> None:
    _refused(client.call("POST", CM, raw=_configmap(name, extra), content_type=PROTOBUF), number)
    assert client.call("GET", f"{CM}/{name.decode()}")[0] == 404


def test_an_unknown_field_in_metadata_is_415(client: Client) -> None:
    body = _envelope(b"v1", b"ConfigMap", _meta(b"pb-meta", _bytes(13, _bytes(1, b"x"))))
    code, answer = client.call("POST", CM, raw=body, content_type=PROTOBUF)
    _refused((code, answer), 13)
    assert "ConfigMap.metadata" in answer["message"]


def test_unknown_fields_holding_their_zero_are_read_past(client: Client) -> None:
    zeros = _bytes(9, b"") + _int(10, 0) + _fixed64(11, b"\x00" * 8)
    meta_zeros = _bytes(8, b"")  # creationTimestamp: gogo writes the zero time as empty
    raw = _meta(b"pb-zeros", meta_zeros) + _bytes(2, _bytes(1, b"k") + _bytes(2, b"v")) + zeros
    code, body = client.call(
        "POST", CM, raw=_envelope(b"v1", b"ConfigMap", raw), content_type=PROTOBUF
    )
    assert code == 201, body
    assert body["data"] == {"k": "v"}


def test_a_pod_with_what_the_reader_lacks_is_refused(client: Client) -> None:
    volume = _bytes(1, _bytes(1, b"data"))  # spec.volumes[0].name
    _refused(client.call("POST", PODS, raw=_pod(b"pb-vol", volume), content_type=PROTOBUF), 1)
    security = _bytes(15, _int(5, 0))  # securityContext: {allowPrivilegeEscalation: false}
    answer = client.call(
        "POST", PODS, raw=_pod(b"pb-sc", container_extra=security), content_type=PROTOBUF
    )
    _refused(answer, 15)
    assert "Pod.spec.containers" in answer[1]["message"]
    assert client.call("GET", f"{PODS}/pb-sc")[0] == 404


def test_a_pod_keeps_its_pointer_zeros_and_drops_its_status(client: Client) -> None:
    host_users_false = _int(37, 0)
    status = _bytes(3, _bytes(1, b"") + _bytes(2, b"") + _bytes(3, b""))  # gogo's unset status
    body = _pod(b"pb-pod", host_users_false + _int(30, 0), extra=status)
    code, created = client.call("POST", PODS, raw=body, content_type=PROTOBUF)
    assert code == 201, created
    assert created["spec"]["hostUsers"] is False
    assert created["spec"]["enableServiceLinks"] is False


def test_the_envelope_refuses_a_content_encoding_it_would_ignore(client: Client) -> None:
    raw = _meta(b"pb-gzip") + _bytes(2, _bytes(1, b"k") + _bytes(2, b"v"))
    gzip = _envelope(b"v1", b"ConfigMap", raw, _bytes(3, b"gzip"))
    _refused(client.call("POST", CM, raw=gzip, content_type=PROTOBUF), 3)
    empty = _configmap(b"pb-plain") + _bytes(3, b"") + _bytes(4, b"")
    assert client.call("POST", CM, raw=empty, content_type=PROTOBUF)[0] == 201


def test_a_review_with_an_unknown_field_is_415(client: Client) -> None:
    attributes = _bytes(1, b"default") + _bytes(2, b"get") + _bytes(5, b"pods")
    field_selector = _bytes(9, _bytes(1, b"x"))  # resourceAttributes.fieldSelector (1.31)
    raw = _bytes(2, _bytes(1, attributes + field_selector))
    body = _envelope(b"authorization.k8s.io/v1", b"SelfSubjectAccessReview", raw)
    _refused(client.call("POST", SSAR, raw=body, content_type=PROTOBUF), 9)
    known = _envelope(
        b"authorization.k8s.io/v1", b"SelfSubjectAccessReview", _bytes(2, _bytes(1, attributes))
    )
    code, review = client.call("POST", SSAR, raw=known, content_type=PROTOBUF)
    assert code == 201 and review["spec"]["resourceAttributes"]["verb"] == "get"


def test_decode_names_the_field_it_refuses() -> None:
    with pytest.raises(protowire.UnknownField) as refused:
        protowire.decode(_configmap(b"x", _int(6, 2)), "ConfigMap")
    assert (refused.value.number, refused.value.where) == (6, "ConfigMap")
    with pytest.raises(ValueError, match="expected a varint"):  # a known field, wrong wire type
        protowire.decode(_envelope(b"v1", b"Scale", _bytes(2, _fixed64(1, b"\x01" * 8))), "Scale")
