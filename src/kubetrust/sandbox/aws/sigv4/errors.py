"""How a SigV4 failure is reported: the error dialects, :class:`SignatureError`, AWS's words."""

from __future__ import annotations

from enum import Enum
from typing import Any

from kubetrust.errors import KubetrustError


class Dialect(Enum):
    """The family of AWS services whose error codes and wording a failure follows."""

    QUERY = "query"  # IAM, STS (XML ErrorResponse)
    JSON = "json"  # EKS (rest-json, x-amzn-ErrorType)
    S3 = "s3"


_JSON_SERVICES = frozenset({"eks", "eks-auth"})


def dialect_for(service: str) -> Dialect:
    """The error dialect of a credential-scope service name (``sts`` → QUERY)."""
    if service == "s3":
        return Dialect.S3
    return Dialect.JSON if service in _JSON_SERVICES else Dialect.QUERY


class SignatureError(KubetrustError):
    """A request AWS would refuse before authorization: ``code``, ``message``, ``status``.

    ``code`` is AWS's error code (``SignatureDoesNotMatch``), ``message`` its wording and
    ``status`` the HTTP status; the gate renders them in the service's wire format.
    ``details`` are the extra elements S3 puts in its ``<Error>`` (``Region`` of a wrongly
    scoped request, which botocore's region redirector reads; ``HeadersNotSigned``).
    """

    def __init__(
        self, code: str, message: str, status: int, details: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.code = code
        self.status = status
        self.details = details
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.status, self.details))

    def __repr__(self) -> str:
        return f"SignatureError({self.code!r}, {self.message!r}, {self.status})"


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
S3_HEADER_MALFORMED = "The authorization header is malformed; "
S3_CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
S3_QUERY_PARAMS = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
S3_CONTENT_SHA256_VALUES = (
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


def fail(kind: str, dialect: Dialect, message: str = "") -> SignatureError:
    """The dialect's error for one kind of failure; ``message`` replaces the stock text."""
    code, status, stock = _FAILURES[(kind, dialect)]
    return SignatureError(code, message or stock, status)


def s3_error(
    code: str, message: str, status: int = 400, *, details: tuple[tuple[str, str], ...] = ()
) -> SignatureError:
    return SignatureError(code, message, status, details)
