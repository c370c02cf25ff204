"""S3 ``aws-chunked`` payloads: framing, decoded length and the chained chunk signatures."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from botocore.auth import EMPTY_SHA256_HASH

from kubetrust.sandbox.aws.sigv4 import errors, parse

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")


# --- the payload -------------------------------------------------------------------------


class _Framing(ValueError):
    """An aws-chunked body that does not parse."""


def _aws_chunks(body: bytes) -> tuple[list[tuple[bytes, str | None]], list[bytes]]:
    """An ``aws-chunked`` body as ``(data, chunk-signature)`` pairs and its trailer lines.

    Each chunk is ``hex-size[;chunk-signature=sig]CRLF data CRLF``; the zero-size chunk ends
    the data and is followed either by CRLF or by trailer lines and an empty line.
    """
    chunks: list[tuple[bytes, str | None]] = []
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise _Framing("chunk header without CRLF")
        size_text, _, extension = body[pos:eol].partition(b";")
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _Framing("bad chunk size")
        size = int(size_text, 16)
        signature = None
        if extension:
            name, _, value = extension.partition(b"=")
            if name != b"chunk-signature":
                raise _Framing("unknown chunk extension")
            signature = value.decode("ascii", "replace")
        data = body[eol + 2 : eol + 2 + size]
        if len(data) != size:
            raise _Framing("chunk shorter than its size")
        chunks.append((data, signature))
        pos = eol + 2 + size
        if size == 0:
            return chunks, _trailer_lines(body[pos:])
        if body[pos : pos + 2] != b"\r\n":
            raise _Framing("chunk data without CRLF")
        pos += 2


def _trailer_lines(rest: bytes) -> list[bytes]:
    if rest == b"\r\n":
        return []
    if not rest.endswith(b"\r\n\r\n"):
        raise _Framing("trailer not ended by an empty line")
    lines = rest[:-4].split(b"\r\n")
    if any(b":" not in line for line in lines):
        raise _Framing("malformed trailer line")
    return lines


def _chunk_signature(signer: Any, request: Any, previous: str, data: bytes) -> str:
    """botocore's key derivation and HMAC over the chunk string to sign (S3 chunked upload)."""
    string_to_sign = "\n".join(
        (
            "AWS4-HMAC-SHA256-PAYLOAD",
            request.context["timestamp"],
            signer.credential_scope(request),
            previous,
            EMPTY_SHA256_HASH,
            hashlib.sha256(data).hexdigest(),
        )
    )
    return str(signer.signature(string_to_sign, request))


def _incomplete_body() -> errors.SignatureError:
    # ours: S3's IncompleteBody code for an aws-chunked body that does not add up
    return errors.s3_error("IncompleteBody", "The request body terminated unexpectedly")


def check_chunked(
    declared: str,
    body: bytes,
    signer: Any,
    request: Any,
    claim: parse.Claim,
    wire: Mapping[str, list[str]],
) -> None:
    """Framing and decoded length of an aws-chunked body; chunk signatures when signed."""
    try:
        chunks, trailers = _aws_chunks(body)
    except _Framing:
        raise _incomplete_body() from None
    length = parse.header(wire, "x-amz-decoded-content-length")
    if length is not None and length.strip() != str(sum(len(data) for data, _ in chunks)):
        raise _incomplete_body()
    if declared == STREAMING_UNSIGNED_TRAILER:
        return
    previous = claim.signature
    for data, signature in chunks:
        expected = _chunk_signature(signer, request, previous, data)
        if signature is None or not parse.same(expected, signature):
            raise errors.fail("mismatch", errors.Dialect.S3)
        previous = signature
    if declared == STREAMING_SIGNED_TRAILER and not any(
        line.startswith(b"x-amz-trailer-signature:") for line in trailers
    ):
        raise errors.fail("mismatch", errors.Dialect.S3)
