"""Issue 10's AWS-endpoint leftovers, driven from outside with raw signed requests.

- moto echoed characters XML 1.0 cannot carry (a NUL in a ``PolicyArn``, which no model
  pattern refuses; a control character in an S3 key) into bodies no client could parse:
  every XML answer is now a well-formed document (``aws/forward``);
- refusals put an exception's text on the wire ("The request is not readable: <reader
  text>", moto's exception type names): now AWS-shaped messages (``aws/request``);
- ``check_session_name`` (explain) and the sandbox's STS word a bad session name alike:
  one implementation (``chain.sts.text_problems``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from kubetrust.chain import sts
from kubetrust.sandbox.aws.services.sts import params

from .test_gate_isolation import FORM, admin, send, signed


def _xml(body: bytes) -> ET.Element:
    """The body parsed as XML 1.0 (what every SDK does): fails on an unparseable one."""
    return ET.fromstring(body)


def _code(root: ET.Element) -> str:
    return next(e.text or "" for e in root.iter() if e.tag.endswith("Code"))


def _message(root: ET.Element) -> str:
    return next(e.text or "" for e in root.iter() if e.tag.endswith("Message"))


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\ufffe", "\x1b"])
def test_a_character_xml_cannot_carry_in_an_iam_arn_is_a_validation_error(
    aws: Any, bad: str
) -> None:
    arn = f"arn:aws:iam::{aws.CI}:policy/x{bad}y"
    body = urlencode({"Action": "GetPolicy", "Version": "2010-05-08", "PolicyArn": arn})
    answer = signed(
        aws,
        "iam",
        "POST",
        "/",
        body.encode(),
        {"Content-Type": FORM},
        credentials=admin(aws, aws.CI),
    )
    assert answer.status == 400
    root = _xml(answer.body)
    assert _code(root) == "ValidationError"
    assert _message(root) == (
        "1 validation error detected: Value at 'policyArn' failed to satisfy constraint: "
        "Member must contain only characters XML 1.0 allows"
    )


def test_a_valid_arn_still_reaches_iam(aws: Any) -> None:
    arn = f"arn:aws:iam::{aws.CI}:policy/absent-{aws.unique('p')}"
    body = urlencode({"Action": "GetPolicy", "Version": "2010-05-08", "PolicyArn": arn})
    answer = signed(
        aws,
        "iam",
        "POST",
        "/",
        body.encode(),
        {"Content-Type": FORM},
        credentials=admin(aws, aws.CI),
    )
    assert answer.status == 404
    assert _code(_xml(answer.body)) == "NoSuchEntity"


def test_an_s3_error_echoing_a_control_character_is_parseable(aws: Any) -> None:
    bucket = aws.unique("xmlsafe")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    key = quote("a\x01b\x00c")
    answer = signed(aws, "s3", "GET", f"/{bucket}/{key}", credentials=admin(aws, aws.CI))
    assert answer.status == 404
    root = _xml(answer.body)
    assert _code(root) == "NoSuchKey"


def test_an_s3_listing_with_a_control_character_key_is_never_unparseable(aws: Any) -> None:
    """S3 accepts the key; a listing that would carry it raw is refused readably, and the
    URL-encoded listing S3 offers for such keys works."""
    bucket = aws.unique("xmlsafe")
    s3 = aws.client("s3", account=aws.CI)
    s3.create_bucket(Bucket=bucket)
    key = quote("k\x01")
    put = signed(aws, "s3", "PUT", f"/{bucket}/{key}", b"x", credentials=admin(aws, aws.CI))
    assert put.status == 200
    plain = signed(aws, "s3", "GET", f"/{bucket}?list-type=2", credentials=admin(aws, aws.CI))
    root = _xml(plain.body)  # never an unparseable body
    assert (plain.status, _code(root)) == (400, "InvalidRequest")
    encoded = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    assert [o["Key"] for o in encoded["Contents"]] == ["k%01"]  # as S3 sends it


# --------------------------------------------------------------------------- no internal text


def test_unreadable_framing_is_answered_without_the_readers_text(aws: Any) -> None:
    answer = send(
        aws,
        "POST",
        "/",
        b"5\r\nhello\r\n0\r\n\r\n",
        {"Transfer-Encoding": "gzip, chunked", "Content-Type": FORM},
    )
    assert answer.status == 400
    message = _message(_xml(answer.body))
    assert "gzip" not in message and "unsupported transfer encoding" not in message
    assert message == (
        "The request's Transfer-Encoding and Content-Length headers do not frame its body"
    )


def test_a_broken_chunk_is_answered_without_the_readers_text(aws: Any) -> None:
    import http.client

    host, port = aws.sandbox.endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", FORM)
        conn.endheaders()
        conn.send(b"zz\r\n")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 400
    root = _xml(body)
    assert _code(root) == "IncompleteBody"
    assert "chunk-size" not in _message(root) and "zz" not in _message(root)


# --------------------------------------------------------------------------- session names


@pytest.mark.parametrize(
    "name", [None, "", "a", "!", "ok-name_1=+,.@", "has space", "x" * 65, "é" * 3, "a\x00"]
)
def test_explain_and_the_sandbox_word_a_session_name_alike(name: str | None) -> None:
    checks = params.Checks({} if name is None else {"RoleSessionName": [name]})
    checks.text("RoleSessionName", "roleSessionName", 2, 64, pattern=params.NAME, required=True)
    sandbox = None
    try:
        checks.done()
    except Exception as exc:  # wire.AwsError
        sandbox = getattr(exc, "message", None)
    assert sts.check_session_name(name) == sandbox


def test_a_missing_session_name_is_value_null() -> None:
    assert sts.check_session_name(None) == (
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy "
        "constraint: Member must not be null"
    )
    assert sts.check_session_name("!") == (
        "2 validation errors detected: Value '!' at 'roleSessionName' failed to satisfy "
        "constraint: Member must have length greater than or equal to 2; Value '!' at "
        "'roleSessionName' failed to satisfy constraint: Member must satisfy regular "
        r"expression pattern: [\w+=,.@-]*"
    )
