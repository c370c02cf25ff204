"""The guard clauses on the query parameters of a presigned ``GetCallerIdentity`` URL.

One function per parameter (or pair), each raising the :class:`TokenFormatError` of its
:class:`Guard`. :func:`check <kubetrust.eks_token.check>` calls them in the authenticator's
order, which is what decides the error a token with several faults gets; keeping them here,
away from that order, keeps the sequence readable in one screen. The date and credential
helpers go beyond the authenticator with checks STS itself makes (see the package doc).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from kubetrust import errors
from kubetrust.eks_token.model import (
    CLUSTER_ID_HEADER,
    MAX_EXPIRES_SECONDS,
    PRESIGNED_URL_LIFETIME,
    SIGV4_ALGORITHM,
    STS_API_VERSION,
    Guard,
    TokenFormatError,
)

_GO_DATE_LAYOUT = "20060102T150405Z"
_GO_ATOI = re.compile(r"[+-]?[0-9]+")
_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_REGION = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def check_action_and_version(params: dict[str, str]) -> None:
    action = params.get("action", "")
    if action != "GetCallerIdentity":
        raise TokenFormatError(
            f"unexpected action parameter in pre-signed URL: {errors.shown(action)}",
            guard=Guard.ACTION,
        )
    version = params.get("version")
    if version is not None and version != STS_API_VERSION:
        raise TokenFormatError(
            f"unexpected version parameter in pre-signed URL: {errors.shown(version)}, "
            f"expected `{STS_API_VERSION}`",
            guard=Guard.VERSION,
        )


def signed_headers(params: dict[str, str]) -> tuple[str, ...]:
    headers = tuple(params.get("x-amz-signedheaders", "").split(";"))
    if CLUSTER_ID_HEADER not in (header.lower() for header in headers):
        raise TokenFormatError(
            f"client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL",
            guard=Guard.SIGNED_HEADERS,
        )
    return headers


def expires(params: dict[str, str]) -> int:
    raw = params.get("x-amz-expires", "")
    # Go's Atoi: an optional sign and ASCII digits only (Python's int() takes far more)
    value = int(raw) if len(raw) <= 20 and _GO_ATOI.fullmatch(raw) else -1
    if not 0 <= value <= MAX_EXPIRES_SECONDS:
        raise TokenFormatError(
            f"invalid X-Amz-Expires parameter in pre-signed URL: {errors.shown(raw)} "
            f"(an integer from 0 to {MAX_EXPIRES_SECONDS} is required)",
            guard=Guard.EXPIRES,
        )
    return value


def signed_at(params: dict[str, str]) -> datetime:
    raw = params.get("x-amz-date", "")
    if not raw:
        raise TokenFormatError(
            "X-Amz-Date parameter must be present in pre-signed URL", guard=Guard.DATE
        )
    match = _AMZ_DATE.fullmatch(raw)
    try:
        if not match:
            raise ValueError("not YYYYMMDDTHHMMSSZ")
        year, month, day, hour, minute, second = (int(group) for group in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise TokenFormatError(
            f"error parsing X-Amz-Date parameter {errors.shown(raw)} "
            f"into format {_GO_DATE_LAYOUT}: {exc}",
            guard=Guard.DATE,
        ) from None


def expiry(signed_at: datetime) -> datetime:
    try:
        return signed_at + PRESIGNED_URL_LIFETIME
    except OverflowError:  # a date in year 9999 never expires
        return datetime.max.replace(tzinfo=UTC)


def check_algorithm(params: dict[str, str]) -> None:
    algorithm = params.get("x-amz-algorithm", "")
    if algorithm != SIGV4_ALGORITHM:
        raise TokenFormatError(
            f"unexpected X-Amz-Algorithm parameter in pre-signed URL: "
            f"{errors.shown(algorithm)}, expected `{SIGV4_ALGORITHM}`",
            guard=Guard.ALGORITHM,
        )


def credential(params: dict[str, str], signed_at: datetime) -> tuple[str, tuple[str, ...]]:
    """Split ``AKID/YYYYMMDD/region/sts/aws4_request`` into the key id and the scope."""
    raw = params.get("x-amz-credential", "")
    parts = raw.split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        raise TokenFormatError(
            f"malformed X-Amz-Credential parameter {errors.shown(raw)}: expected "
            "ACCESS_KEY_ID/YYYYMMDD/REGION/sts/aws4_request",
            guard=Guard.CREDENTIAL,
        )
    access_key_id, day, region, service, _ = parts
    if day != signed_at.strftime("%Y%m%d"):
        raise TokenFormatError(
            f"X-Amz-Credential date {errors.shown(day)} is not the date of X-Amz-Date "
            f"`{signed_at.strftime('%Y%m%d')}`",
            guard=Guard.CREDENTIAL,
        )
    if not _REGION.fullmatch(region):
        raise TokenFormatError(
            f"invalid region {errors.shown(region)} in X-Amz-Credential", guard=Guard.CREDENTIAL
        )
    if service != "sts":
        raise TokenFormatError(
            f"X-Amz-Credential is scoped to service {errors.shown(service)}, not `sts`",
            guard=Guard.CREDENTIAL,
        )
    return access_key_id, tuple(parts[1:])


def signature(params: dict[str, str]) -> str:
    signature = params.get("x-amz-signature", "")
    if not signature:
        raise TokenFormatError(
            "X-Amz-Signature parameter must be present in pre-signed URL", guard=Guard.SIGNATURE
        )
    if not _SIGNATURE.fullmatch(signature):
        raise TokenFormatError(
            f"malformed X-Amz-Signature parameter {errors.shown(signature)}: "
            "expected 64 lowercase hex digits",
            guard=Guard.SIGNATURE,
        )
    return signature
