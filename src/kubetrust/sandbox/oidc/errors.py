"""How OIDC problems are reported: the error classes, and STS's words for a rejected token."""

from __future__ import annotations

from typing import Any

from kubetrust.chain import web_identity
from kubetrust.errors import KubetrustError

MSG_NOT_A_JWT = (
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
)
MSG_NO_KEY = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
MSG_UNTRUSTED_CERTIFICATE = (
    "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
)
MSG_BAD_SIGNATURE = "The signature of the token is invalid"
"""[uncertain] Our wording: no public report shows STS's text for this case."""
MSG_AUDIENCE = web_identity.MSG_AUDIENCE

INVALID = web_identity.INVALID_IDENTITY_TOKEN
EXPIRED = "ExpiredTokenException"


# ---------------------------------------------------------------------- errors
class OidcError(KubetrustError):
    """A problem with an OIDC issuer, a token request, or a web-identity token."""


class IssuerError(OidcError):
    """An issuer URL Kubernetes or IAM would refuse, or unreadable persisted issuer state."""


class TokenRequestError(OidcError):
    """A token request the Kubernetes API server would refuse (TokenRequest validation)."""


class JwksFetchError(OidcError):
    """The issuer's discovery document or JWKS could not be fetched or understood."""


class IdpCertificateError(JwksFetchError):
    """The issuer's TLS certificate did not verify against the trusted CA."""


class TokenRejected(OidcError):
    """STS refused a web-identity token.

    ``code`` and ``message`` are exactly what STS puts in ``<Code>`` and ``<Message>``;
    ``status`` is the HTTP status; ``detail`` says precisely what was wrong, for logs and
    for ``str()``, and is never sent on the wire."""

    def __init__(self, code: str, message: str, status: int = 400, *, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        return f"{text} ({self.detail})" if self.detail else text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_rejection, (self.code, self.message, self.status, self.detail))


def _rebuild_rejection(code: str, message: str, status: int, detail: str) -> TokenRejected:
    return TokenRejected(code, message, status, detail=detail)


def malformed(detail: str) -> TokenRejected:
    return TokenRejected(INVALID, MSG_NOT_A_JWT, detail=detail)


def not_yet_valid(now: int, nbf: int) -> TokenRejected:
    # [uncertain] our wording, modelled on STS's expiry message
    return TokenRejected(
        INVALID,
        f"Token not yet valid: current date/time {now} must not be before the not-before "
        f"date/time {nbf}",
        detail="`nbf` is in the future",
    )
