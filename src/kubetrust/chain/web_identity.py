"""What STS checks of a web identity before it reads the role's trust policy (B.2, B.3).

``AssumeRoleWithWebIdentity`` first finds the IAM OIDC provider for the token's ``iss``
**in the role's account**, then checks the token against the issuer's keys and its
lifetime, then that one of the token's audiences is among the provider's client IDs; only
then does the trust policy decide (:func:`kubetrust.chain.sts.assume_role_with_web_identity`).
:func:`check_provider_and_audience` is those checks, with AWS's codes and messages; the
sandbox's verifier (``kubetrust.sandbox.oidc``) calls it with its JWT/JWKS verification
as ``verify``, explain (:func:`kubetrust.chain.links.web_identity`) without (a token EKS
minted for the workload is signed by its cluster's key).

Observed messages: "No OpenIDConnect provider found in your account for <iss>" (re:Post
knowledge centre "eks-troubleshoot-oidc-and-irsa"), "Incorrect token audience"
(awslabs/amazon-eks-irsa-cfn#18), both ``InvalidIdentityToken``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from kubetrust.errors import KubetrustError

INVALID_IDENTITY_TOKEN = "InvalidIdentityToken"
"""STS's error code for a web identity it refuses before the trust policy."""
MSG_AUDIENCE = "Incorrect token audience"


def no_provider_message(issuer: str) -> str:
    """STS's message when the role's account has no IAM OIDC provider for ``issuer``."""
    return f"No OpenIDConnect provider found in your account for {issuer}"


class ProviderFacts(Protocol):
    """What the checks read of an IAM OIDC provider: its client IDs (``None`` when the
    inputs did not list them: explain then cannot tell, and does not refuse)."""

    @property
    def arn(self) -> str: ...

    @property
    def client_ids(self) -> Sequence[str] | None: ...


Provider = TypeVar("Provider", bound=ProviderFacts)


class Refusal(enum.Enum):
    """Which check refused (explain picks its fix by it)."""

    NO_PROVIDER = "no-provider"
    AUDIENCE = "audience"


class WebIdentityRefused(KubetrustError):
    """STS refused the web identity before its trust policy: ``code`` and ``message`` are
    what STS answers; ``detail`` says what was wrong, for logs, never sent on the wire;
    ``provider`` is the provider found (``None`` when there is none)."""

    def __init__(
        self,
        refusal: Refusal,
        message: str,
        *,
        detail: str,
        provider: ProviderFacts | None = None,
    ) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.code = INVALID_IDENTITY_TOKEN
        self.detail = detail
        self.provider = provider


@dataclass(frozen=True, slots=True)
class Accepted(Generic[Provider]):
    """The provider that vouches for the token and the audience that matched (the first of
    the token's audiences, in its order, that is a client ID: STS's ``Audience``)."""

    provider: Provider
    audience: str


def check_provider_and_audience(
    issuer: str,
    audiences: Sequence[str],
    find_provider: Callable[[str], Provider | None],
    *,
    verify: Callable[[Provider], None] | None = None,
) -> Accepted[Provider]:
    """The checks before the trust policy, in STS's order (module doc): the provider for
    ``issuer`` (``find_provider`` gets the token's ``iss`` and looks in the role's
    account), then ``verify`` (the sandbox's signature and lifetime checks, which raise
    their own refusals), then the audience. Raises :class:`WebIdentityRefused`."""
    provider = find_provider(issuer)
    if provider is None:
        raise WebIdentityRefused(
            Refusal.NO_PROVIDER,
            no_provider_message(issuer),
            detail="no IAM OIDC provider in the role's account has this URL",
        )
    if verify is not None:
        verify(provider)
    audience = matching_audience(audiences, provider.client_ids)
    if audience is None:
        raise WebIdentityRefused(
            Refusal.AUDIENCE,
            MSG_AUDIENCE,
            detail="no `aud` value is a client ID of the provider",
            provider=provider,
        )
    return Accepted(provider, audience)


def matching_audience(audiences: Sequence[str], client_ids: Sequence[str] | None) -> str | None:
    """The first of ``audiences`` that is one of ``client_ids``; with the client IDs
    unknown (``None``), the first audience."""
    if client_ids is None:
        return audiences[0] if audiences else None
    return next((a for a in audiences if a in client_ids), None)
