"""The sandbox's AWS Signature Version 4 verifier: authenticate a request as AWS would.

The sandbox gate calls :func:`verify` on every signed request before moto sees it (moto
authenticates nothing, see ``reference/probe-findings.md``). This module is pure logic: it
gets the raw request pieces, a credential lookup and the current time, and either returns a
:class:`VerifiedRequest` or raises :class:`SignatureError` carrying AWS's error code, HTTP
status and wording. It never raises anything else for any input. Whether a request is signed
at all is the caller's question (:func:`is_signed`).

The signature is recomputed by botocore's own signer (``SigV4Auth``, ``S3SigV4Auth``,
``SigV4QueryAuth``, ``S3SigV4QueryAuth``) through small hooks (:class:`_Recompute`) that make
it read the received request instead of signing a new one: the request's own timestamp, only
the headers it names in ``SignedHeaders`` with their values as received, its query string
decoded and re-encoded by botocore's encoder, and its declared payload hash. The canonical
request, string to sign and signature are botocore's step methods, logged at debug level
with the session token redacted (secrets and signatures are never logged).

What is checked, in order: the shape of the ``Authorization`` header or of the presigned
query parameters; the date (``X-Amz-Date``, else ``Date``); that the credential scope date
is the request's date; the clock (15 minutes either way; for S3 presigned URLs
``X-Amz-Date + X-Amz-Expires`` instead, at most 604800 s); the access key, its session
token and its expiry; for S3 the ``x-amz-content-sha256`` rules and that every ``x-amz-*``
header is signed; the signature; then the payload: a hex ``x-amz-content-sha256`` must be
the body's SHA-256, and S3 ``aws-chunked`` bodies must be well framed, carry
``x-amz-decoded-content-length`` bytes and, for ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
(with or without ``-TRAILER``), a valid chained signature on every chunk.

Observed on the wire (boto3 1.44.8 and aws CLI 1.46.3, whose vendored botocore is 1.43.x):
S3 ``PutObject`` and ``aws s3 cp`` to a plain-HTTP endpoint send ``X-Amz-Content-SHA256``
= the hex SHA-256 of the body, with the default CRC32 checksum in a signed
``x-amz-checksum-crc32`` header; over HTTPS boto3 sends an ``aws-chunked`` body with
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (checksum in an unsigned trailer). boto3's default
presigned S3 URL is SigV2 (``AWSAccessKeyId=``); SigV4 needs ``signature_version="s3v4"``.
Presigned requests to services other than S3 (STS's GetCallerIdentity among them) ignore
``X-Amz-Expires`` and live 15 minutes either side of ``X-Amz-Date`` (aws-sdk-go #2167 and
PR #2224); the EKS token's own ``X-Amz-Expires=60`` is the token verifier's business.

Error dialects (:class:`Dialect`, chosen from the credential scope's service, or from the
``service`` argument when the caller knows it): IAM/STS and other query services answer
``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``ExpiredToken`` (403),
``IncompleteSignature`` (400); EKS (rest-json) answers ``UnrecognizedClientException``,
``InvalidSignatureException``, ``ExpiredTokenException``, ``IncompleteSignatureException``;
S3 answers ``InvalidAccessKeyId``, ``InvalidToken``, ``ExpiredToken`` (400),
``SignatureDoesNotMatch`` (its shorter wording), ``RequestTimeTooSkewed``,
``AuthorizationHeaderMalformed``, ``AuthorizationQueryParametersError``,
``AccessDenied "Request has expired"``, ``XAmzContentSHA256Mismatch``, ``InvalidRequest``.
Texts come from AWS
responses quoted in public issues, AWS's "Common Errors" pages, and moto/localstack, which
copy AWS; the few marked "ours" below had no public AWS wording to follow.

Not verified (fidelity gaps):

- the signature of the trailer of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`` (the chunks
  are verified, the trailing checksum line is not), and the trailer checksums themselves;
- SigV4a (``AWS4-ECDSA-P256-SHA256``) and SigV2 (``AWS AKID:sig``, ``AWSAccessKeyId=``):
  refused with S3's answer of SigV4-only regions; S3 browser POST uploads: not handled;
- an S3 presigned URL dated in the future (only its expiry is checked);
- the 8 KiB minimum chunk size of aws-chunked uploads;
- that the scope's region and service fit the endpoint (the caller routes, and may check
  ``VerifiedRequest.region``/``service``), and that ``host`` is among the signed headers;
- S3 canonical paths are used as sent (botocore sends them encoded once); a client that
  percent-encodes a path differently from botocore would fail here and pass on AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import quote, unquote

from botocore.auth import (
    EMPTY_SHA256_HASH,
    SIGV4_TIMESTAMP,
    UNSIGNED_PAYLOAD,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from kubetrust.errors import KubetrustError

logger = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGNED_EXPIRES = 604800  # seven days, S3's limit for X-Amz-Expires

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_PRESIGN_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_SIGV2_QUERY = ("AWSAccessKeyId", "Signature")
_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
)
_URL_BASE = "http://sandbox.invalid"  # the canonical request never reads the authority


class Dialect(Enum):
    """The family of AWS services whose error codes and wording a failure follows."""

    QUERY = "query"  # IAM, STS (XML ErrorResponse)
    JSON = "json"  # EKS (rest-json, x-amzn-ErrorType)
    S3 = "s3"


_JSON_SERVICES = frozenset({"eks"})


def dialect_for(service: str) -> Dialect:
    """The error dialect of a credential-scope service name (``sts`` → QUERY)."""
    if service == "s3":
        return Dialect.S3
    return Dialect.JSON if service in _JSON_SERVICES else Dialect.QUERY


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A credential the sandbox knows: what :func:`verify` needs to recompute a signature."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None  # None for long-term (AKIA...) keys; ASIA... keys have one
    expires_at: datetime | None  # UTC; None = never


class SignatureError(KubetrustError):
    """A request AWS would refuse before authorization: ``code``, ``message``, ``status``.

    ``code`` is AWS's error code (``SignatureDoesNotMatch``), ``message`` its wording and
    ``status`` the HTTP status; the gate renders them in the service's wire format.
    """

    def __init__(self, code: str, message: str, status: int) -> None:
        self.code = code
        self.status = status
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.status))

    def __repr__(self) -> str:
        return f"SignatureError({self.code!r}, {self.message!r}, {self.status})"


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What a valid signature proves: who signed, for which scope, when, and what."""

    access_key_id: str
    region: str
    service: str  # from the credential scope
    signed_at: datetime
    presigned: bool
    signed_headers: tuple[str, ...]


# --- AWS's words -------------------------------------------------------------------------

_INVALID_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_S3_HEADER_MALFORMED = "The authorization header is malformed; "
_S3_CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_S3_QUERY_PARAMS = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_S3_CONTENT_SHA256_VALUES = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)

_Q, _J, _S = Dialect.QUERY, Dialect.JSON, Dialect.S3
_FAILURES: dict[tuple[str, Dialect], tuple[str, int, str]] = {
    ("missing", _Q): ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    ("missing", _J): ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
    ("missing", _S): ("AccessDenied", 403, "Access Denied"),
    ("unknown-key", _Q): ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    ("unknown-key", _J): ("UnrecognizedClientException", 403, _INVALID_TOKEN),
    ("unknown-key", _S): (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    ("bad-token", _Q): ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    ("bad-token", _J): ("UnrecognizedClientException", 403, _INVALID_TOKEN),
    ("bad-token", _S): (
        "InvalidToken",
        400,
        "The provided token is malformed or otherwise invalid.",
    ),
    ("expired-token", _Q): ("ExpiredToken", 403, _EXPIRED_TOKEN),
    ("expired-token", _J): ("ExpiredTokenException", 403, _EXPIRED_TOKEN),
    ("expired-token", _S): ("ExpiredToken", 400, "The provided token has expired."),
    ("mismatch", _Q): ("SignatureDoesNotMatch", 403, _MISMATCH),
    ("mismatch", _J): ("InvalidSignatureException", 403, _MISMATCH),
    ("mismatch", _S): ("SignatureDoesNotMatch", 403, _S3_MISMATCH),
    ("incomplete", _Q): ("IncompleteSignature", 400, ""),
    ("incomplete", _J): ("IncompleteSignatureException", 400, ""),
    ("incomplete", _S): ("AuthorizationHeaderMalformed", 400, ""),
}


def _fail(kind: str, dialect: Dialect, message: str = "") -> SignatureError:
    """The dialect's error for one kind of failure; ``message`` replaces the stock text."""
    code, status, stock = _FAILURES[(kind, dialect)]
    return SignatureError(code, message or stock, status)


def _s3_error(code: str, message: str, status: int = 400) -> SignatureError:
    return SignatureError(code, message, status)


def _basic(moment: datetime) -> str:
    return moment.strftime(SIGV4_TIMESTAMP)


# --- reading the request -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a request says about its own signature, before any of it is believed."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signed_line: str  # SignedHeaders exactly as sent
    signature: str
    timestamp: str  # the string-to-sign timestamp, ISO 8601 basic
    signed_at: datetime
    token: str | None
    presigned: bool
    expires: int | None  # X-Amz-Expires (S3 presigned only)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _wire_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Headers by lowercase name, every value kept in order (case-insensitive lookup)."""
    wire: dict[str, list[str]] = {}
    for name, value in headers.items():
        text = value if isinstance(value, str) else str(value)
        wire.setdefault(str(name).strip().lower(), []).append(text)
    return wire


def _header(wire: Mapping[str, list[str]], name: str) -> str | None:
    values = wire.get(name)
    return ",".join(values) if values else None


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The query string as decoded ``(name, value)`` pairs, in order, empty segments dropped.

    AWS canonicalizes what it decoded (re-encoding each name and value), so a client that
    leaves a safe character unencoded still verifies; ``+`` stays a plus sign.
    """
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key == name), None)


def is_signed(headers: Mapping[str, str], query: str) -> bool:
    """Whether the request attempts SigV4 authentication (header or presigned query).

    The gate answers "missing authentication" itself when this is false; anything that
    attempts it goes to :func:`verify`, which refuses what it cannot verify.
    """
    if any(str(name).strip().lower() == "authorization" for name in headers):
        return True
    names = {name for name, _ in _query_pairs(query)}
    return any(marker in names for marker in _PRESIGN_MARKERS) or all(
        marker in names for marker in _SIGV2_QUERY
    )


def _claimed_service(wire: Mapping[str, list[str]], pairs: Sequence[tuple[str, str]]) -> str:
    """The service named in the credential scope, read loosely, to pick the error dialect."""
    credential = _first(pairs, "X-Amz-Credential")
    if credential is None:
        found = re.search(r"Credential=([^,\s]*)", _header(wire, "authorization") or "")
        credential = found.group(1) if found else ""
    parts = credential.split("/")
    return parts[3] if len(parts) >= 4 else ""


def _split_credential(credential: str, dialect: Dialect, presigned: bool) -> list[str]:
    """``AKID/YYYYMMDD/region/service/aws4_request`` as its five parts, or AWS's refusal."""
    parts = credential.split("/")
    if dialect is Dialect.S3 and (len(parts) != 5 or parts[4] != "aws4_request"):
        if presigned:
            raise _s3_error(
                "AuthorizationQueryParametersError",
                f"Error parsing the X-Amz-Credential parameter; {_S3_CREDENTIAL_FORMAT}",
            )
        raise _fail("incomplete", dialect, _S3_HEADER_MALFORMED + _S3_CREDENTIAL_FORMAT)
    if len(parts) != 5:
        raise _fail(
            "incomplete",
            dialect,
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'",
        )
    if parts[4] != "aws4_request":  # ours: recalled AWS wording, not found in public sources
        raise _fail(
            "incomplete",
            dialect,
            f"Credential should be scoped with a valid terminator: 'aws4_request', not "
            f"'{parts[4]}'.",
        )
    return parts


def _parse_amz_date(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_http_date(value: str) -> datetime | None:
    try:
        return _utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso_date_error(dialect: Dialect, value: str) -> SignatureError:
    # ours: recalled AWS wording for a malformed X-Amz-Date
    return _fail(
        "incomplete",
        dialect,
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _header_date(wire: Mapping[str, list[str]], dialect: Dialect) -> tuple[str, datetime]:
    """The signing time of a header-signed request: ``X-Amz-Date``, else ``Date``."""
    amz = _header(wire, "x-amz-date")
    if amz is not None:
        moment = _parse_amz_date(amz.strip())
        if moment is not None:
            return amz.strip(), moment
    else:
        http = _header(wire, "date")
        moment = _parse_http_date(http) if http is not None else None
        if moment is not None:
            return _basic(moment), moment
    if dialect is Dialect.S3:
        raise _s3_error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403
        )
    raise _iso_date_error(dialect, amz if amz is not None else _header(wire, "date") or "")


def _unsupported_mechanism(dialect: Dialect) -> SignatureError:
    """SigV2 and SigV4a: S3's answer in regions that take SigV4 only (ours for the others)."""
    message = (
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256."
    )
    if dialect is Dialect.S3:
        return _s3_error("InvalidRequest", message)
    return _fail("incomplete", dialect, message)


def _authorization_fields(auth: str, dialect: Dialect) -> tuple[str, dict[str, str]]:
    """The algorithm and the ``key=value`` fields of an ``Authorization`` header.

    AWS splits the fields on commas and whitespace alike: ``Credential= AKID/...`` is the
    empty ``Credential`` followed by a field without an equal sign.
    """
    algorithm, _, rest = auth.strip().partition(" ")
    if dialect is Dialect.S3 and algorithm in ("AWS", "AWS4-ECDSA-P256-SHA256"):
        raise _unsupported_mechanism(dialect)
    if dialect is Dialect.S3 and algorithm != ALGORITHM:
        raise _s3_error("InvalidArgument", "Unsupported Authorization Type")
    fields: dict[str, str] = {}
    for part in re.split(r"[,\s]+", rest):
        if not part:
            continue
        if "=" not in part:
            raise _fail(
                "incomplete",
                dialect,
                f"'{part}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{auth}'.",
            )
        name, _, value = part.partition("=")
        fields.setdefault(name, value)
    return algorithm, fields


def _require_fields(
    auth: str, fields: Mapping[str, str], wire: Mapping[str, list[str]], dialect: Dialect
) -> None:
    """AWS's ``IncompleteSignature``: every missing field (and the date) named at once."""
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in fields
    ]
    if dialect is Dialect.S3:
        if missing:
            raise _fail(
                "incomplete",
                dialect,
                _S3_HEADER_MALFORMED + "the authorization header requires three components: "
                "Credential, SignedHeaders, and Signature.",
            )
        return
    if "x-amz-date" not in wire and "date" not in wire:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise _fail("incomplete", dialect, " ".join(missing) + f" Authorization={auth}")


def _header_claim(auth: str, wire: Mapping[str, list[str]], dialect: Dialect) -> _Claim:
    algorithm, fields = _authorization_fields(auth, dialect)
    _require_fields(auth, fields, wire, dialect)
    if algorithm != ALGORITHM:  # ours: recalled AWS wording
        raise _fail("incomplete", dialect, f"Unsupported AWS 'algorithm': '{algorithm}'")
    akid, scope_date, region, service, _ = _split_credential(
        fields["Credential"], dialect, presigned=False
    )
    timestamp, signed_at = _header_date(wire, dialect)
    signed_line = fields["SignedHeaders"]
    return _Claim(
        access_key_id=akid,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(signed_line.split(";")),
        signed_line=signed_line,
        signature=fields["Signature"],
        timestamp=timestamp,
        signed_at=signed_at,
        token=_header(wire, "x-amz-security-token"),
        presigned=False,
        expires=None,
    )


def _query_expires(pairs: Sequence[tuple[str, str]], dialect: Dialect) -> int | None:
    """``X-Amz-Expires``: enforced (and required) by S3 only; other services ignore it."""
    raw = _first(pairs, "X-Amz-Expires")
    if dialect is not Dialect.S3:
        return None
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        raise _s3_error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    expires = int(raw.strip())
    if expires < 0:
        raise _s3_error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGNED_EXPIRES:
        raise _s3_error(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        )
    return expires


def _require_query_params(pairs: Sequence[tuple[str, str]], dialect: Dialect) -> None:
    names = {name for name, _ in pairs}
    required = (*_PRESIGN_REQUIRED, "X-Amz-Expires") if dialect is Dialect.S3 else _PRESIGN_REQUIRED
    missing = [name for name in required if name not in names]
    if not missing:
        return
    if dialect is Dialect.S3:
        raise _s3_error("AuthorizationQueryParametersError", _S3_QUERY_PARAMS)
    # ours: recalled AWS wording
    said = " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
    raise _fail("incomplete", dialect, f"{said} Re-examine the query-string parameters.")


def _query_claim(pairs: Sequence[tuple[str, str]], dialect: Dialect) -> _Claim:
    _require_query_params(pairs, dialect)
    algorithm = _first(pairs, "X-Amz-Algorithm") or ""
    if algorithm != ALGORITHM:
        if dialect is Dialect.S3:
            raise _s3_error(
                "AuthorizationQueryParametersError",
                'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            )
        raise _fail("incomplete", dialect, f"Unsupported AWS 'algorithm': '{algorithm}'")
    credential = _first(pairs, "X-Amz-Credential") or ""
    akid, scope_date, region, service, _ = _split_credential(credential, dialect, presigned=True)
    timestamp = _first(pairs, "X-Amz-Date") or ""
    signed_at = _parse_amz_date(timestamp)
    if signed_at is None:
        if dialect is Dialect.S3:
            raise _s3_error(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        raise _iso_date_error(dialect, timestamp)
    signed_line = _first(pairs, "X-Amz-SignedHeaders") or ""
    return _Claim(
        access_key_id=akid,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(signed_line.split(";")),
        signed_line=signed_line,
        signature=_first(pairs, "X-Amz-Signature") or "",
        timestamp=timestamp,
        signed_at=signed_at,
        token=_first(pairs, "X-Amz-Security-Token"),
        presigned=True,
        expires=_query_expires(pairs, dialect),
    )


def _claim(
    wire: Mapping[str, list[str]], pairs: Sequence[tuple[str, str]], dialect: Dialect
) -> _Claim:
    auth = _header(wire, "authorization")
    presigned = any(name in _PRESIGN_MARKERS for name, _ in pairs)
    if auth is not None and presigned:
        message = (
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
        if dialect is Dialect.S3:
            raise _s3_error("InvalidArgument", message)
        raise _fail("incomplete", dialect, message)  # ours: S3's wording, the query code
    if auth is not None:
        return _header_claim(auth, wire, dialect)
    if presigned:
        return _query_claim(pairs, dialect)
    if all(_first(pairs, marker) is not None for marker in _SIGV2_QUERY):
        raise _unsupported_mechanism(dialect)
    raise _fail("missing", dialect)


# --- checking the claim ------------------------------------------------------------------


def _check_scope_date(claim: _Claim, dialect: Dialect) -> None:
    """The credential scope must be dated the day the request was signed."""
    if claim.scope_date == claim.timestamp[:8]:
        return
    if dialect is Dialect.S3:
        reason = "Invalid credential date. Date is not the same as X-Amz-Date."
        if claim.presigned:
            raise _s3_error("AuthorizationQueryParametersError", reason)
        raise _fail("incomplete", dialect, _S3_HEADER_MALFORMED + reason)
    raise _fail(
        "mismatch",
        dialect,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
        f"from HTTP: '{claim.scope_date}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'.",
    )


def _check_clock(claim: _Claim, now: datetime, dialect: Dialect) -> None:
    """15 minutes either way of ``now``; S3 presigned URLs: ``X-Amz-Expires`` instead."""
    if dialect is Dialect.S3 and claim.presigned:
        if claim.expires is not None and now - claim.signed_at > timedelta(seconds=claim.expires):
            raise _s3_error("AccessDenied", "Request has expired", 403)
        return
    if now - claim.signed_at > MAX_SKEW:
        message = (
            f"Signature expired: {claim.timestamp} is now earlier than "
            f"{_basic(now - MAX_SKEW)} ({_basic(now)} - 15 min.)"
        )
    elif claim.signed_at - now > MAX_SKEW:
        message = (
            f"Signature not yet current: {claim.timestamp} is still later than "
            f"{_basic(now + MAX_SKEW)} ({_basic(now)} + 15 min.)"
        )
    else:
        return
    if dialect is Dialect.S3:
        raise _s3_error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        )
    raise _fail("mismatch", dialect, message)


def _same(left: str, right: str) -> bool:
    """Constant-time comparison that accepts any text (``compare_digest`` wants ASCII)."""
    return hmac.compare_digest(
        left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass")
    )


def _resolve_key(
    claim: _Claim, lookup: Callable[[str], SigningKey | None], now: datetime, dialect: Dialect
) -> SigningKey:
    """The signing key, if it exists, its session token matches and it has not expired."""
    key = lookup(claim.access_key_id)
    if key is None:
        raise _fail("unknown-key", dialect)
    if key.session_token is None:
        if claim.token is not None:
            raise _fail("bad-token", dialect)
    elif claim.token is None:
        raise _fail("unknown-key" if dialect is Dialect.S3 else "bad-token", dialect)
    elif not _same(claim.token, key.session_token):
        raise _fail("bad-token", dialect)
    if key.expires_at is not None and now >= _utc(key.expires_at):
        raise _fail("expired-token", dialect)
    return key


def _signed_names(claim: _Claim) -> set[str]:
    return {name.lower() for name in claim.signed_headers}


def _declared_payload(claim: _Claim, wire: Mapping[str, list[str]], dialect: Dialect) -> str | None:
    """The payload hash the request declares (``x-amz-content-sha256``), with S3's rules.

    None means "hash the body", as botocore does for services other than S3.
    """
    declared = _header(wire, "x-amz-content-sha256")
    if dialect is not Dialect.S3 or claim.presigned:
        return None if claim.presigned else declared
    if declared is None:
        raise _s3_error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if "x-amz-content-sha256" not in _signed_names(claim):
        raise _s3_error(
            "InvalidRequest", "header 'x-amz-content-sha256' must be included in signature"
        )
    known = (
        UNSIGNED_PAYLOAD,
        STREAMING_UNSIGNED_TRAILER,
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
    )
    if declared not in known and not _SHA256_HEX.fullmatch(declared):
        raise _s3_error("InvalidArgument", _S3_CONTENT_SHA256_VALUES)
    return declared


def _check_headers_signed(claim: _Claim, wire: Mapping[str, list[str]]) -> None:
    """S3 refuses ``x-amz-*`` headers that the signature does not cover."""
    covered = _signed_names(claim) | ({"x-amz-content-sha256"} if claim.presigned else set())
    unsigned = [name for name in wire if name.startswith("x-amz-") and name not in covered]
    if unsigned:
        raise _s3_error(
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
        claim: _Claim,
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
    claim: _Claim,
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


def _request(method: str, raw_path: str, body: bytes, claim: _Claim) -> Any:
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


def _check_signature(signer: _Recompute, request: Any, claim: _Claim, dialect: Dialect) -> None:
    try:
        expected = _recompute(signer, request).signature
    except Exception as exc:
        # INVARIANT: only input botocore cannot canonicalize gets here (lone surrogates in a
        # header, a path that is not a URL path); AWS cannot verify those either
        logger.debug("cannot canonicalize the request: %s", type(exc).__name__)
        raise _fail("mismatch", dialect) from exc
    if not _same(expected, claim.signature):
        raise _fail("mismatch", dialect)


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


def _incomplete_body() -> SignatureError:
    # ours: S3's IncompleteBody code for an aws-chunked body that does not add up
    return _s3_error("IncompleteBody", "The request body terminated unexpectedly")


def _check_chunked(
    declared: str,
    body: bytes,
    signer: Any,
    request: Any,
    claim: _Claim,
    wire: Mapping[str, list[str]],
) -> None:
    """Framing and decoded length of an aws-chunked body; chunk signatures when signed."""
    try:
        chunks, trailers = _aws_chunks(body)
    except _Framing:
        raise _incomplete_body() from None
    length = _header(wire, "x-amz-decoded-content-length")
    if length is not None and length.strip() != str(sum(len(data) for data, _ in chunks)):
        raise _incomplete_body()
    if declared == STREAMING_UNSIGNED_TRAILER:
        return
    previous = claim.signature
    for data, signature in chunks:
        expected = _chunk_signature(signer, request, previous, data)
        if signature is None or not _same(expected, signature):
            raise _fail("mismatch", Dialect.S3)
        previous = signature
    if declared == STREAMING_SIGNED_TRAILER and not any(
        line.startswith(b"x-amz-trailer-signature:") for line in trailers
    ):
        raise _fail("mismatch", Dialect.S3)


def _check_payload(
    declared: str | None,
    body: bytes,
    signer: Any,
    request: Any,
    claim: _Claim,
    wire: Mapping[str, list[str]],
    dialect: Dialect,
) -> None:
    """The body must be what the signature covers (declared hash or chunk signatures)."""
    if declared is None or declared == UNSIGNED_PAYLOAD:
        return
    if _SHA256_HEX.fullmatch(declared):
        if hashlib.sha256(body).hexdigest() == declared:
            return
        if dialect is Dialect.S3:
            raise _s3_error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        raise _fail("mismatch", dialect)
    if dialect is not Dialect.S3:
        raise _fail("mismatch", dialect)  # ours: a payload hash we cannot check
    _check_chunked(declared, body, signer, request, claim, wire)


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
) -> VerifiedRequest:
    """Authenticate one request exactly as AWS would, or raise :class:`SignatureError`.

    ``raw_path`` and ``raw_query`` are as sent (percent-encoding preserved), ``headers`` any
    mapping (names compared case-insensitively), ``body`` the bytes received (HTTP chunking
    already removed, S3 ``aws-chunked`` encoding not). ``lookup`` maps an access key id to
    its :class:`SigningKey`; ``now`` is the sandbox clock (naive means UTC). ``service``,
    when the caller knows it, picks the error dialect before the credential scope is read.
    """
    now = _utc(now)
    wire = _wire_headers(headers)
    pairs = _query_pairs(raw_query)
    dialect = dialect_for(service if service is not None else _claimed_service(wire, pairs))
    claim = _claim(wire, pairs, dialect)
    dialect = dialect_for(service if service is not None else claim.service)
    _check_scope_date(claim, dialect)
    _check_clock(claim, now, dialect)
    key = _resolve_key(claim, lookup, now, dialect)
    declared = _declared_payload(claim, wire, dialect)
    if dialect is Dialect.S3:
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
