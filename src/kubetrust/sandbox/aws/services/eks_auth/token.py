"""The service-account token EKS Auth is given: a token of *this* cluster, for Pod Identity.

EKS Auth checks the token against the cluster named in the call (reference F.3): signed by
that cluster's service-account key, ``iss`` that cluster's issuer, an audience of
``pods.eks.amazonaws.com``, not expired; the pod comes from the token's ``kubernetes.io``
claims. The JWT checks are the ones STS makes of a web identity
(:func:`kubetrust.sandbox.oidc.verify_web_identity_token`), with the cluster's issuer as the
one provider and its JWKS read directly (EKS holds its own keys: no HTTP fetch); STS's
codes become EKS Auth's (:mod:`.errors`).

[unconfirmed] A token bound to no pod (``kubectl create token`` without
``--bound-object-kind Pod``) is refused (``InvalidTokenException``): the session tags need
the pod's name and uid, the agent only ever sends the pod's projected token, and refusing
is the side that cannot grant what EKS would not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubetrust.model.vocabulary import POD_IDENTITY_AUDIENCE, service_account_subject
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import wire
from kubetrust.sandbox.aws.services.eks_auth import errors

MSG_UNREADABLE = "The service account token is not a valid JWT of this cluster"
MSG_OTHER_ISSUER = "The service account token was not issued by this cluster"
MSG_AUDIENCE = f"The service account token's audience is not {POD_IDENTITY_AUDIENCE}"
MSG_SIGNATURE = "The service account token's signature does not verify"
MSG_NOT_POD = "The service account token is not bound to a pod"
MSG_EXPIRED = "The service account token has expired"
MSG_INVALIDATED = "The service account token has been invalidated"
"""[unconfirmed wording] A token whose pod or service account is gone (or was recreated):
the cluster's own TokenReview refuses it, and EKS Auth, which EKS runs beside the cluster,
is taken to refuse it alike (reference F.7) rather than hand out credentials for a pod that
no longer exists."""


@dataclass(frozen=True, slots=True)
class PodToken:
    """What a verified token says: the service account and the pod it was minted for."""

    namespace: str
    service_account: str
    pod_name: str
    pod_uid: str
    service_account_uid: str


def verify(token: str, issuer: oidc.ClusterIssuer, account: str, now: int) -> PodToken:
    """``token`` checked against ``issuer`` (module doc), or EKS Auth's refusal."""
    own = issuer.issuer_url.removeprefix("https://")
    provider = oidc.OidcProvider(
        url=own,
        arn=f"arn:aws:iam::{account}:oidc-provider/{own}",
        client_ids=(POD_IDENTITY_AUDIENCE,),
        account=account,
    )
    try:
        verified = oidc.verify_web_identity_token(
            token,
            provider_lookup=lambda url: provider if url == own else None,
            fetch_jwks=lambda _url: issuer.jwks(),
            now=now,
        )
    except oidc.TokenRejected as refused:
        raise _refusal(refused) from None
    return _pod_of(verified.claims)


def _refusal(refused: oidc.TokenRejected) -> wire.AwsError:
    """STS's refusal of the token, as EKS Auth's (see :mod:`.errors`)."""
    if refused.code == "ExpiredTokenException":
        return errors.expired_token(MSG_EXPIRED)
    message = refused.message
    if message.startswith("No OpenIDConnect provider"):
        return errors.invalid_token(MSG_OTHER_ISSUER)
    if message == oidc.MSG_AUDIENCE:
        return errors.invalid_token(MSG_AUDIENCE)
    if message in (oidc.MSG_BAD_SIGNATURE, oidc.MSG_NO_KEY):
        return errors.invalid_token(MSG_SIGNATURE)
    return errors.invalid_token(MSG_UNREADABLE)


def _pod_of(claims: Mapping[str, Any]) -> PodToken:
    """The ``kubernetes.io`` claims of a projected pod token (reference C.1)."""
    private = claims.get("kubernetes.io")
    if not isinstance(private, Mapping):
        raise errors.invalid_token(MSG_UNREADABLE)
    namespace = private.get("namespace")
    account = private.get("serviceaccount")
    pod = private.get("pod")
    name = account.get("name") if isinstance(account, Mapping) else None
    account_uid = account.get("uid") if isinstance(account, Mapping) else None
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise errors.invalid_token(MSG_UNREADABLE)
    if not isinstance(account_uid, str):
        raise errors.invalid_token(MSG_UNREADABLE)
    if claims.get("sub") != service_account_subject(namespace, name):
        raise errors.invalid_token(MSG_UNREADABLE)
    pod_name = pod.get("name") if isinstance(pod, Mapping) else None
    pod_uid = pod.get("uid") if isinstance(pod, Mapping) else None
    if not isinstance(pod_name, str) or not isinstance(pod_uid, str):
        raise errors.invalid_token(MSG_NOT_POD)
    return PodToken(namespace, name, pod_name, pod_uid, account_uid)
