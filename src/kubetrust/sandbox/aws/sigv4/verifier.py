"""Checking a claim and recomputing its signature with botocore: :func:`verify`."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.auth import (
    UNSIGNED_PAYLOAD,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from kubetrust.sandbox.aws.sigv4 import chunked, errors, parse, scope

logger = logging.getLogger(__name__)

MAX_SKEW = timedelta(minutes=15)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)
_URL_BASE = "http://sandbox.invalid"  # the canonical request never reads the authority


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A credential the sandbox knows: what :func:`verify` needs to recompute a signature."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None  # None for long-term (AKIA...) keys; ASIA... keys have one
    expires_at: datetime | None  # UTC; None = never


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What a valid signature proves: who signed, for which scope, when, and what."""

    access_key_id: str
    region: str
    service: str  # from the credential scope
    signed_at: datetime
    presigned: bool
    signed_headers: tuple[str, ...]


# --- checking the claim ------------------------------------------------------------------


def _check_scope_date(claim: parse.Claim, dialect: errors.Dialect) -> None:
    """The credential scope must be dated the day the request was signed."""
    if claim.scope_date == claim.timestamp[:8]:
        return
    if dialect is errors.Dialect.S3:
        reason = "Invalid credential date. Date is not the same as X-Amz-Date."
        if claim.presigned:
            raise errors.s3_error("AuthorizationQueryParametersError", reason)
        raise errors.fail("incomplete", dialect, errors.S3_HEADER_MALFORMED + reason)
    raise errors.fail(
        "mismatch",
        dialect,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
        f"from HTTP: '{claim.scope_date}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'.",
    )


def _check_clock(claim: parse.Claim, now: datetime, dialect: errors.Dialect) -> None:
    """15 minutes either way of ``now``; S3 presigned URLs: ``X-Amz-Expires`` after their
    date, and not valid before it (beyond the same 15 minutes of skew): a URL dated a year
    ahead must not work now and for a year more."""
    if dialect is errors.Dialect.S3 and claim.presigned:
        if claim.expires is not None and now - claim.signed_at > timedelta(seconds=claim.expires):
            raise errors.s3_error("AccessDenied", "Request has expired", 403)
        if claim.signed_at - now > MAX_SKEW:
            raise errors.s3_error("AccessDenied", "Request is not yet valid", 403)
        return
    if now - claim.signed_at > MAX_SKEW:
        message = (
            f"Signature expired: {claim.timestamp} is now earlier than "
            f"{parse.basic_timestamp(now - MAX_SKEW)} ({parse.basic_timestamp(now)} - 15 min.)"
        )
    elif claim.signed_at - now > MAX_SKEW:
        message = (
            f"Signature not yet current: {claim.timestamp} is still later than "
            f"{parse.basic_timestamp(now + MAX_SKEW)} ({parse.basic_timestamp(now)} + 15 min.)"
        )
    else:
        return
    if dialect is errors.Dialect.S3:
        raise errors.s3_error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        )
    raise errors.fail("mismatch", dialect, message)


def _resolve_key(
    claim: parse.Claim,
    lookup: Callable[[str], SigningKey | None],
    now: datetime,
    dialect: errors.Dialect,
) -> SigningKey:
    """The signing key, if it exists, its session token matches and it has not expired."""
    key = lookup(claim.access_key_id)
    if key is None:
        raise errors.fail("unknown-key", dialect)
    if key.session_token is None:
        if claim.token is not None:
            raise errors.fail("bad-token", dialect)
    elif claim.token is None:
        raise errors.fail("unknown-key" if dialect is errors.Dialect.S3 else "bad-token", dialect)
    elif not parse.same(claim.token, key.session_token):
        raise errors.fail("bad-token", dialect)
    if key.expires_at is not None and now >= parse.utc(key.expires_at):
        raise errors.fail("expired-token", dialect)
    return key


def _signed_names(claim: parse.Claim) -> set[str]:
    return {name.lower() for name in claim.signed_headers}


def _declared_payload(
    claim: parse.Claim, wire: Mapping[str, list[str]], dialect: errors.Dialect
) -> str | None:
    """The payload hash the request declares (``x-amz-content-sha256``), with S3's rules.

    None means "hash the body". Only S3 lets a request declare its payload
    (``UNSIGNED-PAYLOAD``, aws-chunked); every other service hashes the body it received,
    so a declared value there can only match or fail, never unbind the body.
    """
    if dialect is not errors.Dialect.S3 or claim.presigned:
        return None
    declared = parse.header(wire, "x-amz-content-sha256")
    if declared is None:
        raise errors.s3_error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if "x-amz-content-sha256" not in _signed_names(claim):
        raise errors.s3_error(
            "InvalidRequest", "header 'x-amz-content-sha256' must be included in signature"
        )
    known = (
        UNSIGNED_PAYLOAD,
        chunked.STREAMING_UNSIGNED_TRAILER,
        chunked.STREAMING_SIGNED,
        chunked.STREAMING_SIGNED_TRAILER,
    )
    if declared not in known and not _SHA256_HEX.fullmatch(declared):
        raise errors.s3_error("InvalidArgument", errors.S3_CONTENT_SHA256_VALUES)
    return declared


def _check_headers_signed(claim: parse.Claim, wire: Mapping[str, list[str]]) -> None:
    """S3 refuses ``x-amz-*`` headers that the signature does not cover."""
    covered = _signed_names(claim) | ({"x-amz-content-sha256"} if claim.presigned else set())
    unsigned = [name for name in wire if name.startswith("x-amz-") and name not in covered]
    if unsigned:
        raise errors.s3_error(
            "AccessDenied", "There were headers present in the request which were not signed", 403
        )


# --- recomputing with botocore -----------------------------------------------------------


class _Recompute:
    """Hooks that turn a botocore signer into a verifier of a received request.

    botocore signs a request it builds; to verify, its step methods must see the request as
    received: only the headers named in ``SignedHeaders`` (values as sent, all of them), the
    ``SignedHeaders`` line as sent, the decoded query re-encoded by botocore's own encoder
    (minus ``X-Amz-Signature``), and the declared payload hash when there is one. Everything
    else (path normalization per service, scope, string to sign, key derivation, HMAC) is
    botocore's unchanged.
    """

    def __init__(
        self,
        credentials: Any,
        service: str,
        region: str,
        *,
        claim: parse.Claim,
        wire: Mapping[str, list[str]],
        query: Sequence[tuple[str, str]],
        payload: str | None,
    ) -> None:
        super().__init__(credentials, service, region)  # type: ignore[call-arg]
        self._claim = claim
        self._wire = wire
        self._query = list(query)
        self._payload = payload

    def headers_to_sign(self, request: Any) -> Any:
        selected = HTTPHeaders()
        for name in dict.fromkeys(self._claim.signed_headers):
            for value in self._wire.get(name.lower(), ()):
                selected[name.lower()] = value
        return selected

    def signed_headers(self, headers_to_sign: Any) -> str:
        return self._claim.signed_line

    def canonical_query_string(self, request: Any) -> str:
        return str(self._canonical_query_string_params(self._query))  # type: ignore[attr-defined]

    def payload(self, request: Any) -> str:
        if self._payload is not None:
            return self._payload
        return str(super().payload(request))  # type: ignore[misc]


class _HeaderVerifier(_Recompute, SigV4Auth):  # type: ignore[misc]
    """Header auth for every service but S3 (normalized, double-encoded path)."""


class _S3HeaderVerifier(_Recompute, S3SigV4Auth):  # type: ignore[misc]
    """S3 header auth (path used as sent)."""


class _QueryVerifier(_Recompute, SigV4QueryAuth):  # type: ignore[misc]
    """Presigned URLs for every service but S3 (payload: the body's hash)."""


class _S3QueryVerifier(_Recompute, S3SigV4QueryAuth):  # type: ignore[misc]
    """S3 presigned URLs (payload: ``UNSIGNED-PAYLOAD``)."""


@dataclass(frozen=True, slots=True)
class _Recomputation:
    """The intermediate artifacts of one recomputation (what AWS would echo in a 403)."""

    canonical_request: str
    string_to_sign: str
    signature: str


def _signer(
    claim: parse.Claim,
    key: SigningKey,
    wire: Mapping[str, list[str]],
    pairs: Sequence[tuple[str, str]],
    payload: str | None,
) -> _Recompute:
    s3 = claim.service == "s3"
    if claim.presigned:
        cls: type[_Recompute] = _S3QueryVerifier if s3 else _QueryVerifier
    else:
        cls = _S3HeaderVerifier if s3 else _HeaderVerifier
    query = [(k, v) for k, v in pairs if not (claim.presigned and k == "X-Amz-Signature")]
    credentials = ReadOnlyCredentials(key.access_key_id, key.secret_access_key, key.session_token)
    return cls(
        credentials,
        claim.service,
        claim.region,
        claim=claim,
        wire=wire,
        query=query,
        payload=payload,
    )


def _request(method: str, raw_path: str, body: bytes, claim: parse.Claim) -> Any:
    path = raw_path if raw_path.startswith("/") else "/" + raw_path
    request = AWSRequest(method=method, url=_URL_BASE + path, data=body)
    request.context["timestamp"] = claim.timestamp
    return request


def _recompute(signer: Any, request: Any) -> _Recomputation:
    """botocore's three steps on the received request, each logged (token redacted)."""
    canonical = str(signer.canonical_request(request))
    string_to_sign = str(signer.string_to_sign(request, canonical))
    signature = str(signer.signature(string_to_sign, request))
    shown = canonical
    token = signer.credentials.token
    if token:  # as a header value, and percent-encoded in a presigned query
        for form in (token, quote(token, safe="-_.~")):
            shown = shown.replace(form, "<redacted>")
    logger.debug("CanonicalRequest:\n%s", shown)
    logger.debug("StringToSign:\n%s", string_to_sign)
    return _Recomputation(canonical, string_to_sign, signature)


def _check_signature(
    signer: _Recompute, request: Any, claim: parse.Claim, dialect: errors.Dialect
) -> None:
    try:
        expected = _recompute(signer, request).signature
    except Exception as exc:
        # INVARIANT: only input botocore cannot canonicalize gets here (lone surrogates in a
        # header, a path that is not a URL path); AWS cannot verify those either
        logger.debug("cannot canonicalize the request: %s", type(exc).__name__)
        raise errors.fail("mismatch", dialect) from exc
    if not parse.same(expected, claim.signature):
        raise errors.fail("mismatch", dialect)


# --- the payload -------------------------------------------------------------------------


def _check_payload(
    declared: str | None,
    body: bytes,
    signer: Any,
    request: Any,
    claim: parse.Claim,
    wire: Mapping[str, list[str]],
    dialect: errors.Dialect,
) -> None:
    """The body must be what the signature covers (declared hash or chunk signatures)."""
    if declared is None or declared == UNSIGNED_PAYLOAD:
        return
    if _SHA256_HEX.fullmatch(declared):
        if hashlib.sha256(body).hexdigest() == declared:
            return
        if dialect is errors.Dialect.S3:
            raise errors.s3_error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        raise errors.fail("mismatch", dialect)
    if dialect is not errors.Dialect.S3:
        raise errors.fail("mismatch", dialect)  # ours: a payload hash we cannot check
    chunked.check_chunked(declared, body, signer, request, claim, wire)


# --- the entry point ---------------------------------------------------------------------


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: Callable[[str], SigningKey | None],
    now: datetime,
    *,
    service: str | None = None,
    endpoint: scope.Endpoint | None = None,
) -> VerifiedRequest:
    """Authenticate one request exactly as AWS would, or raise :class:`SignatureError`.

    ``raw_path`` and ``raw_query`` are as sent (percent-encoding preserved), ``headers`` any
    mapping (names compared case-insensitively), ``body`` the bytes received (HTTP chunking
    already removed, S3 ``aws-chunked`` encoding not). ``lookup`` maps an access key id to
    its :class:`SigningKey`; ``now`` is the sandbox clock (naive means UTC). ``service``,
    when the caller knows it, picks the error dialect before the credential scope is read.
    ``endpoint``, when given, is the endpoint the request reached: the scope's service and
    region must fit it and ``host`` must be signed (:mod:`.scope`).
    """
    now = parse.utc(now)
    wire = parse.wire_headers(headers)
    pairs = parse.query_pairs(raw_query)
    dialect = errors.dialect_for(
        service if service is not None else parse.claimed_service(wire, pairs)
    )
    claim = parse.read_claim(wire, pairs, dialect)
    dialect = errors.dialect_for(service if service is not None else claim.service)
    if endpoint is not None:
        scope.check(claim, endpoint, dialect)
    _check_scope_date(claim, dialect)
    _check_clock(claim, now, dialect)
    key = _resolve_key(claim, lookup, now, dialect)
    declared = _declared_payload(claim, wire, dialect)
    if dialect is errors.Dialect.S3:
        _check_headers_signed(claim, wire)
    signer = _signer(claim, key, wire, pairs, declared)
    request = _request(method, raw_path, body, claim)
    _check_signature(signer, request, claim, dialect)
    _check_payload(declared, body, signer, request, claim, wire, dialect)
    return VerifiedRequest(
        access_key_id=claim.access_key_id,
        region=claim.region,
        service=claim.service,
        signed_at=claim.signed_at,
        presigned=claim.presigned,
        signed_headers=claim.signed_headers,
    )
