"""The vocabulary of an EKS token: its constants, the guard names, the error and the result.

Kept apart from the codec and the guards so that both can share one error type and one
:class:`Guard` enumeration without importing each other; :mod:`kubetrust.eks_token`
re-exports everything here, which is where callers should import it from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

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
