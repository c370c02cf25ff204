"""EKS bearer tokens (``k8s-aws-v1.``): encode, decode, and the authenticator's guard checks.

An EKS token is ``k8s-aws-v1.`` followed by the unpadded base64url text of a presigned STS
``GetCallerIdentity`` URL whose SigV4 signature covers the header ``x-k8s-aws-id: <cluster>``
(semantics reference D.1). The server side (reference D.2, aws-iam-authenticator
``pkg/token/token.go`` ``tokenVerifier.Verify``) runs a flat list of guard clauses on the token
and only then replays the URL against STS with its *own* cluster id in that header.

:func:`check` is the pre-STS part of that verifier, in the authenticator's order, with one
:class:`TokenFormatError` per failed guard. It does not verify the signature: it returns a
:class:`PresignedIdentityRequest` holding what a SigV4 verifier needs to recompute it
(``GET``, the path, the query, the headers ``host`` and ``x-k8s-aws-id``).

The URL never carries the cluster id itself, only the *name* of the signed header. A token
minted for another cluster is caught by the signature recomputed with the verifier's
``cluster_id``, exactly as STS catches it for the authenticator. :func:`check` can only
demand that the header be signed.

This module is pure. It does no I/O, reads no clock (``now`` is a parameter) and no
environment, and imports only the standard library and :mod:`kubetrust.errors`. Every
refusal is a :class:`TokenFormatError`; no other exception escapes for any token.

Fidelity notes, where we differ from the authenticator on purpose:

- The allowed hosts and schemes are parameters. The authenticator derives hosts from its
  partition and region and accepts only ``https``; the sandbox serves plain ``http``.
- Go iterates query parameters in random map order, so with two bad parameters it may name
  either one. We always name the first in URL order.
- We refuse a URL containing a space, a control character or invalid UTF-8. Python's
  ``urlsplit`` would silently drop some of these, and no presigned URL contains them.
- After the authenticator's guards, we add checks that STS itself would make:
  ``Version`` (if present) is ``2011-06-15``; ``X-Amz-Algorithm`` is ``AWS4-HMAC-SHA256``;
  ``X-Amz-Credential`` is ``AKID/YYYYMMDD/region/sts/aws4_request`` and its date is the date
  of ``X-Amz-Date``; ``X-Amz-Signature`` is present. The authenticator leaves all of these to
  STS. It reads the access key id from the credential without checking anything else.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from kubetrust import errors

PREFIX = "k8s-aws-v1."
"""The token version prefix (authenticator ``v1Prefix``)."""

MAX_TOKEN_BYTES = 4096
"""Longest token accepted, in UTF-8 bytes (authenticator ``maxTokenLenBytes``)."""

CLUSTER_ID_HEADER = "x-k8s-aws-id"
"""The header that binds a token to one cluster; it must be among the signed headers."""

PRESIGNED_URL_LIFETIME = timedelta(minutes=15)
"""STS honours a presigned ``GetCallerIdentity`` URL for 15 minutes after ``X-Amz-Date``,
whatever ``X-Amz-Expires`` says (authenticator ``presignedURLExpiration``)."""

MAX_EXPIRES_SECONDS = 900
"""``X-Amz-Expires`` must be an integer in ``[0, 900]``. Beyond that it is ignored."""

STS_API_VERSION = "2011-06-15"
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"

ALLOWED_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
"""The query parameters the authenticator accepts, compared lowercased (``parameterWhitelist``)."""

_GO_DATE_LAYOUT = "20060102T150405Z"
_BASE64_ILLEGAL = re.compile(r"[^A-Za-z0-9_\-\r\n]")
_URL_ILLEGAL = re.compile(r"[\x00-\x20\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_GO_ATOI = re.compile(r"[+-]?[0-9]+")
_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_REGION = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class Guard(enum.StrEnum):
    """Which guard refused a token, in the order :func:`check` runs them."""

    TYPE = "type"
    SIZE = "size"
    PREFIX = "prefix"
    BASE64 = "base64"
    TEXT = "text"
    URL = "url"
    SCHEME = "scheme"
    HOST = "host"
    PATH = "path"
    QUERY = "query"
    DUPLICATE = "duplicate"
    PARAMETER = "parameter"
    MULTIPLE_VALUES = "multiple-values"
    ACTION = "action"
    VERSION = "version"
    SIGNED_HEADERS = "signed-headers"
    EXPIRES = "expires"
    DATE = "date"
    EXPIRED = "expired"
    ALGORITHM = "algorithm"
    CREDENTIAL = "credential"
    SIGNATURE = "signature"


class TokenFormatError(errors.KubetrustError):
    """A token that is not a well-formed, fresh, presigned ``GetCallerIdentity`` URL.

    The message starts with the authenticator's ``FormatError`` prefix so that users can
    search for either text. ``reason`` is the specific detail and ``guard`` names the check
    that failed.
    """

    def __init__(self, reason: str, *, guard: Guard | None = None) -> None:
        self.reason = reason
        self.guard = guard
        super().__init__(f"input token was not properly formatted: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_error, (self.reason, self.guard))


def _rebuild_error(reason: str, guard: Guard | None) -> TokenFormatError:
    return TokenFormatError(reason, guard=guard)


@dataclass(frozen=True, slots=True, kw_only=True)
class PresignedIdentityRequest:
    """The presigned ``GetCallerIdentity`` request inside a token that passed :func:`check`.

    A SigV4 verifier checks ``signature`` by recomputing it over :attr:`method`, ``path``,
    the query without ``X-Amz-Signature``, and :meth:`replay_headers`.
    """

    method: ClassVar[str] = "GET"

    url: str
    """The decoded URL, exactly as it was in the token."""
    scheme: str
    host: str
    """The URL's host, with the port if the URL has one (``127.0.0.1:9``)."""
    path: str
    raw_query: str
    """The query string as it was in the URL, still percent-encoded."""
    query: tuple[tuple[str, str], ...]
    """Decoded ``(name, value)`` pairs in URL order, names with their original case."""
    access_key_id: str
    credential_scope: str
    """``YYYYMMDD/region/sts/aws4_request``."""
    region: str
    service: str
    signed_at: datetime
    """``X-Amz-Date`` (UTC)."""
    expires_at: datetime
    """``signed_at`` + 15 minutes: the token is refused after this instant."""
    expires_seconds: int
    """``X-Amz-Expires``. Checked for range, but STS ignores it."""
    signed_headers: tuple[str, ...]
    signature: str
    security_token: str | None
    """``X-Amz-Security-Token`` for temporary credentials, else ``None``."""
    cluster_id: str
    """The verifier's own cluster id: the value to replay as ``x-k8s-aws-id``. The URL only
    names the signed header, so the id the client claimed is unknowable until the signature
    is recomputed with this value."""
    cluster_id_header_required: bool
    """Whether ``x-k8s-aws-id`` is among the signed headers. Always true here, because
    :func:`check` refuses any token that does not sign it."""

    def replay_headers(self) -> dict[str, str]:
        """The headers to recompute the signature with: ``host`` and ``x-k8s-aws-id``."""
        return {"host": self.host, CLUSTER_ID_HEADER: self.cluster_id}

    def param(self, name: str) -> str | None:
        """The value of query parameter ``name``, compared case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.query if key.lower() == wanted), None)


# --------------------------------------------------------------------------- codec


def encode(presigned_url: str) -> str:
    """The token for ``presigned_url``: the prefix plus its unpadded base64url text."""
    try:
        raw = presigned_url.encode("utf-8")
    except UnicodeEncodeError:
        raise TokenFormatError("the URL cannot be encoded as UTF-8", guard=Guard.TEXT) from None
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str) -> str:
    """The presigned URL inside ``token``, checking the prefix, base64url and UTF-8.

    Decoding follows Go's ``base64.RawURLEncoding``, as the authenticator does. Padding
    (``=``) is refused, ``\\r`` and ``\\n`` are skipped, and non-zero trailing bits are
    accepted. There is no length limit here; :func:`check` applies one.
    """
    _require_str(token)
    if not token.startswith(PREFIX):
        raise TokenFormatError(f'token is missing expected "{PREFIX}" prefix', guard=Guard.PREFIX)
    raw = _unbase64(token[len(PREFIX) :])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TokenFormatError(
            f"the decoded token is not UTF-8 text (byte {exc.start})", guard=Guard.TEXT
        ) from None


def _require_str(token: object) -> None:
    if not isinstance(token, str):
        raise TokenFormatError(
            f"a token must be a string, not {type(token).__name__}", guard=Guard.TYPE
        )


def _unbase64(data: str) -> bytes:
    """Go ``RawURLEncoding.DecodeString``, with Go's error offsets."""
    illegal = _BASE64_ILLEGAL.search(data)
    if illegal:
        # every character before it is ASCII, so the index is also Go's byte offset
        raise TokenFormatError(
            f"illegal base64 data at input byte {illegal.start()}", guard=Guard.BASE64
        )
    compact = data.replace("\r", "").replace("\n", "")
    if len(compact) % 4 == 1:
        raise TokenFormatError(
            f"illegal base64 data at input byte {len(data) - 1}", guard=Guard.BASE64
        )
    try:
        return base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
    except binascii.Error as exc:  # pragma: no cover - excluded above
        raise TokenFormatError(f"illegal base64 data ({exc})", guard=Guard.BASE64) from None


# --------------------------------------------------------------------------- check


def check(
    token: str,
    *,
    cluster_id: str,
    sts_hosts: Collection[str],
    now: datetime,
    schemes: Collection[str] = ("https",),
) -> PresignedIdentityRequest:
    """Run the authenticator's pre-STS guards on ``token``, in its order.

    ``sts_hosts`` are the exact hosts accepted (with the port, if any). ``now`` is the
    verifier's clock; if it is naive, it is taken as UTC. ``cluster_id`` is not compared
    with anything (see :attr:`PresignedIdentityRequest.cluster_id`). Raise
    :class:`TokenFormatError` for the first guard that fails.
    """
    _require_str(token)
    size = len(token.encode("utf-8", "surrogatepass"))
    if size > MAX_TOKEN_BYTES:
        raise TokenFormatError(
            f"token is too large ({size} bytes, at most {MAX_TOKEN_BYTES})", guard=Guard.SIZE
        )
    url = decode(token)
    parts = _parse_url(url)
    scheme = parts.scheme
    if scheme not in _lowered(schemes):
        raise TokenFormatError(
            f"unexpected scheme {errors.shown(scheme)} in pre-signed URL", guard=Guard.SCHEME
        )
    # Go's URL.Host leaves out any user info, keeping only what follows the last `@`
    host = parts.netloc.rpartition("@")[2]
    if host not in _as_set(sts_hosts):
        raise TokenFormatError(
            f"unexpected hostname {errors.shown(host)} in pre-signed URL", guard=Guard.HOST
        )
    if parts.path != "/":
        raise TokenFormatError("unexpected path in pre-signed URL", guard=Guard.PATH)
    pairs = _parse_query(parts.query)
    params = _single_valued(pairs)
    _check_action_and_version(params)
    signed_headers = _signed_headers(params)
    expires_seconds = _expires(params)
    signed_at = _signed_at(params)
    expires_at = _expiry(signed_at)
    if _aware(now) > expires_at:
        raise TokenFormatError(
            f"X-Amz-Date parameter is expired (15 minute expiration) {signed_at.isoformat()}",
            guard=Guard.EXPIRED,
        )
    _check_algorithm(params)
    access_key_id, scope = _credential(params, signed_at)
    signature = _signature(params)
    return PresignedIdentityRequest(
        url=url,
        scheme=scheme,
        host=host,
        path=parts.path,
        raw_query=parts.query,
        query=tuple(pairs),
        access_key_id=access_key_id,
        credential_scope="/".join(scope),
        region=scope[1],
        service=scope[2],
        signed_at=signed_at,
        expires_at=expires_at,
        expires_seconds=expires_seconds,
        signed_headers=signed_headers,
        signature=signature,
        security_token=params.get("x-amz-security-token"),
        cluster_id=cluster_id,
        cluster_id_header_required=CLUSTER_ID_HEADER in (h.lower() for h in signed_headers),
    )


def _as_set(values: Collection[str]) -> frozenset[str]:
    # a bare string is one value, not a collection of characters
    return frozenset((values,) if isinstance(values, str) else values)


def _lowered(values: Collection[str]) -> frozenset[str]:
    return frozenset(value.lower() for value in _as_set(values))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _parse_url(url: str) -> SplitResult:
    """Split the URL, refusing what Go's ``url.Parse`` refuses (or we refuse, see module doc)."""
    bad = _URL_ILLEGAL.search(url)
    if bad:
        raise TokenFormatError(
            f"invalid control character or space in URL at offset {bad.start()}",
            guard=Guard.URL,
        )
    if url.startswith(":"):
        raise TokenFormatError("missing protocol scheme", guard=Guard.URL)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise TokenFormatError(f"cannot parse the pre-signed URL: {exc}", guard=Guard.URL) from None
    for name, piece in (("host", parts.netloc), ("path", parts.path), ("fragment", parts.fragment)):
        escape = _BAD_ESCAPE.search(piece)
        if escape:
            text = piece[escape.start() : escape.start() + 3]
            raise TokenFormatError(
                f"invalid URL escape {errors.shown(text)} in the {name}", guard=Guard.URL
            )
    return parts


def _parse_query(raw: str) -> list[tuple[str, str]]:
    """Go ``url.ParseQuery``: ``&``-separated, ``+`` is a space, a ``;`` is an error."""
    pairs: list[tuple[str, str]] = []
    for piece in raw.split("&"):
        if ";" in piece:
            raise TokenFormatError(
                "malformed query parameter (invalid semicolon separator in query)",
                guard=Guard.QUERY,
            )
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((_unescape(key), _unescape(value)))
    return pairs


def _unescape(text: str) -> str:
    bad = _BAD_ESCAPE.search(text)
    if bad:
        shown = errors.shown(text[bad.start() : bad.start() + 3])
        raise TokenFormatError(
            f"malformed query parameter (invalid URL escape {shown})", guard=Guard.QUERY
        )
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise TokenFormatError(
            "malformed query parameter (not UTF-8 once unescaped)", guard=Guard.QUERY
        ) from None


def _single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Duplicates (ignoring case), allow-list, one value each; names lowercased."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    seen: set[str] = set()
    for key in grouped:
        if key.lower() in seen:
            raise TokenFormatError(
                f"duplicate query parameter found: {errors.shown(key)}", guard=Guard.DUPLICATE
            )
        seen.add(key.lower())
    for key, values in grouped.items():
        if key.lower() not in ALLOWED_PARAMETERS:
            raise TokenFormatError(
                f"non-whitelisted query parameter {errors.shown(key)}", guard=Guard.PARAMETER
            )
        if len(values) != 1:
            raise TokenFormatError(
                f"query parameter with multiple values not supported: {errors.shown(key)}",
                guard=Guard.MULTIPLE_VALUES,
            )
    return {key.lower(): values[0] for key, values in grouped.items()}


def _check_action_and_version(params: dict[str, str]) -> None:
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


def _signed_headers(params: dict[str, str]) -> tuple[str, ...]:
    headers = tuple(params.get("x-amz-signedheaders", "").split(";"))
    if CLUSTER_ID_HEADER not in (header.lower() for header in headers):
        raise TokenFormatError(
            f"client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL",
            guard=Guard.SIGNED_HEADERS,
        )
    return headers


def _expires(params: dict[str, str]) -> int:
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


def _signed_at(params: dict[str, str]) -> datetime:
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


def _expiry(signed_at: datetime) -> datetime:
    try:
        return signed_at + PRESIGNED_URL_LIFETIME
    except OverflowError:  # a date in year 9999 never expires
        return datetime.max.replace(tzinfo=UTC)


def _check_algorithm(params: dict[str, str]) -> None:
    algorithm = params.get("x-amz-algorithm", "")
    if algorithm != SIGV4_ALGORITHM:
        raise TokenFormatError(
            f"unexpected X-Amz-Algorithm parameter in pre-signed URL: "
            f"{errors.shown(algorithm)}, expected `{SIGV4_ALGORITHM}`",
            guard=Guard.ALGORITHM,
        )


def _credential(params: dict[str, str], signed_at: datetime) -> tuple[str, tuple[str, ...]]:
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


def _signature(params: dict[str, str]) -> str:
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
