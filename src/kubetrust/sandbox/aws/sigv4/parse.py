"""Reading a request's claim about its own signature: ``Authorization`` header or presigned
query parameters, credential scope and date, with AWS's refusals of malformed ones."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from botocore.auth import SIGV4_TIMESTAMP

from kubetrust.sandbox.aws.sigv4 import errors

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_PRESIGNED_EXPIRES = 604800  # seven days, S3's limit for X-Amz-Expires

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
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


def basic_timestamp(moment: datetime) -> str:
    """``moment`` as SigV4's ISO 8601 basic timestamp (``20240101T000000Z``)."""
    return moment.strftime(SIGV4_TIMESTAMP)


# --- reading the request -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
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


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive one is UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def wire_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Headers by lowercase name, every value kept in order (case-insensitive lookup)."""
    wire: dict[str, list[str]] = {}
    for name, value in headers.items():
        text = value if isinstance(value, str) else str(value)
        wire.setdefault(str(name).strip().lower(), []).append(text)
    return wire


def header(wire: Mapping[str, list[str]], name: str) -> str | None:
    """A header's values joined by commas, as HTTP combines repeated fields; ``None``
    when absent (``wire`` as :func:`wire_headers` made it)."""
    values = wire.get(name)
    return ",".join(values) if values else None


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
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
    names = {name for name, _ in query_pairs(query)}
    return any(marker in names for marker in _PRESIGN_MARKERS) or all(
        marker in names for marker in _SIGV2_QUERY
    )


def _claimed_scope(wire: Mapping[str, list[str]], pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The credential scope's parts (``AKID/date/region/service/aws4_request``), read
    loosely: a presigned ``X-Amz-Credential`` first, else the Authorization header."""
    credential = _first(pairs, "X-Amz-Credential")
    if credential is None:
        found = re.search(r"Credential=([^,\s]*)", header(wire, "authorization") or "")
        credential = found.group(1) if found else ""
    return credential.split("/")


def claimed_scope(headers: Mapping[str, str], raw_query: str) -> list[str]:
    """What a request *claims* as its credential scope, before anything is verified: other
    parts of the sandbox use it to answer in the right service's format and region."""
    return _claimed_scope(wire_headers(headers), query_pairs(raw_query))


def claimed_service(wire: Mapping[str, list[str]], pairs: Sequence[tuple[str, str]]) -> str:
    """The service named in the credential scope, read loosely, to pick the error dialect."""
    parts = _claimed_scope(wire, pairs)
    return parts[3] if len(parts) >= 4 else ""


def _split_credential(credential: str, dialect: errors.Dialect, presigned: bool) -> list[str]:
    """``AKID/YYYYMMDD/region/service/aws4_request`` as its five parts, or AWS's refusal."""
    parts = credential.split("/")
    if dialect is errors.Dialect.S3 and (len(parts) != 5 or parts[4] != "aws4_request"):
        if presigned:
            raise errors.s3_error(
                "AuthorizationQueryParametersError",
                f"Error parsing the X-Amz-Credential parameter; {errors.S3_CREDENTIAL_FORMAT}",
            )
        raise errors.fail(
            "incomplete", dialect, errors.S3_HEADER_MALFORMED + errors.S3_CREDENTIAL_FORMAT
        )
    if len(parts) != 5:
        raise errors.fail(
            "incomplete",
            dialect,
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'",
        )
    if parts[4] != "aws4_request":  # ours: recalled AWS wording, not found in public sources
        raise errors.fail(
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
        return utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso_date_error(dialect: errors.Dialect, value: str) -> errors.SignatureError:
    # ours: recalled AWS wording for a malformed X-Amz-Date
    return errors.fail(
        "incomplete",
        dialect,
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _header_date(wire: Mapping[str, list[str]], dialect: errors.Dialect) -> tuple[str, datetime]:
    """The signing time of a header-signed request: ``X-Amz-Date``, else ``Date``."""
    amz = header(wire, "x-amz-date")
    if amz is not None:
        moment = _parse_amz_date(amz.strip())
        if moment is not None:
            return amz.strip(), moment
    else:
        http = header(wire, "date")
        moment = _parse_http_date(http) if http is not None else None
        if moment is not None:
            return basic_timestamp(moment), moment
    if dialect is errors.Dialect.S3:
        raise errors.s3_error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403
        )
    raise _iso_date_error(dialect, amz if amz is not None else header(wire, "date") or "")


def _unsupported_mechanism(dialect: errors.Dialect) -> errors.SignatureError:
    """SigV2 and SigV4a: S3's answer in regions that take SigV4 only (ours for the others)."""
    message = (
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256."
    )
    if dialect is errors.Dialect.S3:
        return errors.s3_error("InvalidRequest", message)
    return errors.fail("incomplete", dialect, message)


def _authorization_fields(auth: str, dialect: errors.Dialect) -> tuple[str, dict[str, str]]:
    """The algorithm and the ``key=value`` fields of an ``Authorization`` header.

    AWS splits the fields on commas and whitespace alike: ``Credential= AKID/...`` is the
    empty ``Credential`` followed by a field without an equal sign.
    """
    algorithm, _, rest = auth.strip().partition(" ")
    if dialect is errors.Dialect.S3 and algorithm in ("AWS", "AWS4-ECDSA-P256-SHA256"):
        raise _unsupported_mechanism(dialect)
    if dialect is errors.Dialect.S3 and algorithm != ALGORITHM:
        raise errors.s3_error("InvalidArgument", "Unsupported Authorization Type")
    fields: dict[str, str] = {}
    for part in re.split(r"[,\s]+", rest):
        if not part:
            continue
        if "=" not in part:
            raise errors.fail(
                "incomplete",
                dialect,
                f"'{part}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{auth}'.",
            )
        name, _, value = part.partition("=")
        fields.setdefault(name, value)
    return algorithm, fields


def _require_fields(
    auth: str, fields: Mapping[str, str], wire: Mapping[str, list[str]], dialect: errors.Dialect
) -> None:
    """AWS's ``IncompleteSignature``: every missing field (and the date) named at once."""
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in fields
    ]
    if dialect is errors.Dialect.S3:
        if missing:
            raise errors.fail(
                "incomplete",
                dialect,
                errors.S3_HEADER_MALFORMED + "the authorization header requires three components: "
                "Credential, SignedHeaders, and Signature.",
            )
        return
    if "x-amz-date" not in wire and "date" not in wire:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise errors.fail("incomplete", dialect, " ".join(missing) + f" Authorization={auth}")


def _header_claim(auth: str, wire: Mapping[str, list[str]], dialect: errors.Dialect) -> Claim:
    algorithm, fields = _authorization_fields(auth, dialect)
    _require_fields(auth, fields, wire, dialect)
    if algorithm != ALGORITHM:  # ours: recalled AWS wording
        raise errors.fail("incomplete", dialect, f"Unsupported AWS 'algorithm': '{algorithm}'")
    akid, scope_date, region, service, _ = _split_credential(
        fields["Credential"], dialect, presigned=False
    )
    timestamp, signed_at = _header_date(wire, dialect)
    signed_line = fields["SignedHeaders"]
    return Claim(
        access_key_id=akid,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(signed_line.split(";")),
        signed_line=signed_line,
        signature=fields["Signature"],
        timestamp=timestamp,
        signed_at=signed_at,
        token=header(wire, "x-amz-security-token"),
        presigned=False,
        expires=None,
    )


def _query_expires(pairs: Sequence[tuple[str, str]], dialect: errors.Dialect) -> int | None:
    """``X-Amz-Expires``: enforced (and required) by S3 only; other services ignore it."""
    raw = _first(pairs, "X-Amz-Expires")
    if dialect is not errors.Dialect.S3:
        return None
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        raise errors.s3_error(
            "AuthorizationQueryParametersError", "X-Amz-Expires should be a number"
        )
    expires = int(raw.strip())
    if expires < 0:
        raise errors.s3_error(
            "AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative"
        )
    if expires > MAX_PRESIGNED_EXPIRES:
        raise errors.s3_error(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        )
    return expires


def _require_query_params(pairs: Sequence[tuple[str, str]], dialect: errors.Dialect) -> None:
    names = {name for name, _ in pairs}
    required = (
        (*_PRESIGN_REQUIRED, "X-Amz-Expires") if dialect is errors.Dialect.S3 else _PRESIGN_REQUIRED
    )
    missing = [name for name in required if name not in names]
    if not missing:
        return
    if dialect is errors.Dialect.S3:
        raise errors.s3_error("AuthorizationQueryParametersError", errors.S3_QUERY_PARAMS)
    # ours: recalled AWS wording
    said = " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
    raise errors.fail("incomplete", dialect, f"{said} Re-examine the query-string parameters.")


def _query_claim(pairs: Sequence[tuple[str, str]], dialect: errors.Dialect) -> Claim:
    _require_query_params(pairs, dialect)
    algorithm = _first(pairs, "X-Amz-Algorithm") or ""
    if algorithm != ALGORITHM:
        if dialect is errors.Dialect.S3:
            raise errors.s3_error(
                "AuthorizationQueryParametersError",
                'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            )
        raise errors.fail("incomplete", dialect, f"Unsupported AWS 'algorithm': '{algorithm}'")
    credential = _first(pairs, "X-Amz-Credential") or ""
    akid, scope_date, region, service, _ = _split_credential(credential, dialect, presigned=True)
    timestamp = _first(pairs, "X-Amz-Date") or ""
    signed_at = _parse_amz_date(timestamp)
    if signed_at is None:
        if dialect is errors.Dialect.S3:
            raise errors.s3_error(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        raise _iso_date_error(dialect, timestamp)
    signed_line = _first(pairs, "X-Amz-SignedHeaders") or ""
    return Claim(
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


def read_claim(
    wire: Mapping[str, list[str]], pairs: Sequence[tuple[str, str]], dialect: errors.Dialect
) -> Claim:
    """The request's claim: its ``Authorization`` header or its presigned query, never
    both; SigV2 and SigV4a are refused, and no claim at all is "missing authentication"."""
    auth = header(wire, "authorization")
    presigned = any(name in _PRESIGN_MARKERS for name, _ in pairs)
    if auth is not None and presigned:
        message = (
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
        if dialect is errors.Dialect.S3:
            raise errors.s3_error("InvalidArgument", message)
        raise errors.fail("incomplete", dialect, message)  # ours: S3's wording, the query code
    if auth is not None:
        return _header_claim(auth, wire, dialect)
    if presigned:
        return _query_claim(pairs, dialect)
    if all(_first(pairs, marker) is not None for marker in _SIGV2_QUERY):
        raise _unsupported_mechanism(dialect)
    raise errors.fail("missing", dialect)


def same(left: str, right: str) -> bool:
    """Constant-time comparison that accepts any text (``compare_digest`` wants ASCII)."""
    return hmac.compare_digest(
        left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass")
    )
