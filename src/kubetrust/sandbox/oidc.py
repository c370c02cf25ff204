"""EKS-style OIDC issuers for sandbox clusters, and STS's check of web-identity tokens.

Two sides of IRSA live here, because each is the other's test:

* the **cluster side** (:class:`ClusterIssuer`): one RSA signing key per cluster, the
  discovery document and JWKS that EKS publishes at ``<issuer>/.well-known/openid-configuration``
  and ``<issuer>/keys``, and projected service-account tokens with exactly the header and
  claims a Kubernetes API server signs (reference C.1, C.2);
* the **STS side** (:func:`verify_web_identity_token`): what ``AssumeRoleWithWebIdentity``
  does with such a token before it evaluates the role's trust policy: parse it, find the
  IAM OIDC provider for its ``iss`` in the role's account, fetch the issuer's keys over
  HTTPS (:func:`https_jwks_fetcher`), check the signature, the lifetime and the audience,
  and answer with AWS's error codes and messages (reference B.2, B.3).

The trust policy itself is not evaluated here (that is :mod:`kubetrust.chain`'s job).

Errors (all :class:`kubetrust.errors.KubetrustError`)::

    OidcError
    ├─ IssuerError           a bad issuer URL or persisted issuer state
    ├─ TokenRequestError     a bad mint request (Kubernetes' TokenRequest validation)
    ├─ JwksFetchError        the issuer's discovery document or JWKS could not be fetched
    │  └─ IdpCertificateError  ... because its TLS certificate did not verify
    └─ TokenRejected         what STS answers: ``code``, AWS ``message``, HTTP ``status``

Tokens and private keys are never logged and never put in an error message.

Observed AWS behaviour this module reproduces:

* a token that is not a JWT: ``InvalidIdentityToken`` "The ID Token provided is not a valid
  JWT. (You may see this error if you sent an Access Token)" (STS answer quoted in
  aws-observability/aws-rum-web's troubleshooting guide);
* a missing claim: ``InvalidIdentityToken`` "Missing a required claim: aud"
  (aws/aws-sdk-ruby#2698; "...: sub" in aws-actions/configure-aws-credentials#502) --
  checked *before* the provider lookup: in #2698 a legacy service-account token, whose
  ``iss`` matches no provider, got this message, not "No OpenIDConnect provider found";
* no provider: ``InvalidIdentityToken`` "No OpenIDConnect provider found in your account for
  <iss>" (re:Post knowledge centre "eks-troubleshoot-oidc-and-irsa");
* keys unavailable (discovery or JWKS unreachable, slow beyond 5 s, malformed, or no key
  for the token's ``kid``): ``InvalidIdentityToken`` "Couldn't retrieve verification key
  from your identity provider,  please reference AssumeRoleWithWebIdentity documentation
  for requirements", two spaces after the comma as STS sends it (aws/aws-cli#7194,
  awslabs/aws-sdk-rust#827; re:Post "iam-sts-invalididentitytoken" lists unreachable,
  firewalled and slower-than-5-s endpoints as its causes);
* the IdP's TLS certificate not trusted: ``InvalidIdentityToken`` "OpenIDConnect provider's
  HTTPS certificate doesn't match configured thumbprint" (re:Post
  "eks-error-invalid-identity-token", aws-actions/configure-aws-credentials#357);
* expired: ``ExpiredTokenException`` "Token expired: current date/time <now> must be before
  the expiration date/time<exp>", no space before the second number as STS sends it
  (awslabs/aws-orbit-workbench#707, #771, #890);
* audience: ``InvalidIdentityToken`` "Incorrect token audience"
  (awslabs/amazon-eks-irsa-cfn#18).

Fidelity gaps and uncertainties:

* The order of STS's checks is not documented. Known: parse, then required claims, then
  the provider lookup. After that this module follows reference B.3: keys and signature,
  then ``exp``/``nbf``, then the audience.
* The wording for a signature that does not verify under the key named by ``kid``, and for
  a token whose ``nbf`` lies in the future, has not been observed; the messages used are
  ours (:data:`MSG_BAD_SIGNATURE`, :func:`_not_yet_valid`).
* STS's ``IDPCommunicationError`` is modelled by AWS but no public report shows it for an
  OIDC provider; AWS's knowledge centre attributes unreachable and slow JWKS endpoints to
  ``InvalidIdentityToken`` "Couldn't retrieve verification key ...", so that is used.
* IAM thumbprints are not modelled: trust in the IdP's certificate is trust in the sandbox
  CA given to :func:`https_jwks_fetcher` (AWS's "library of trusted root CAs").
* No clock-skew leeway: ``exp`` must be after ``now`` and ``nbf`` not after it.
* No JWKS caching (EKS asks for it; the sandbox may wrap the fetcher).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kubetrust.errors import InputError, KubetrustError
from kubetrust.sandbox import pki

logger = logging.getLogger(__name__)

__all__ = [
    "AUTHORIZATION_ENDPOINT",
    "DEFAULT_AUDIENCE",
    "MIN_EXPIRATION_SECONDS",
    "ClusterIssuer",
    "IdpCertificateError",
    "IssuerError",
    "JwksFetchError",
    "OidcError",
    "OidcProvider",
    "TokenRejected",
    "TokenRequestError",
    "WebIdentity",
    "https_jwks_fetcher",
    "kubernetes_key_id",
    "verify_web_identity_token",
]

DEFAULT_AUDIENCE = "sts.amazonaws.com"
"""The audience of IRSA tokens and of the IAM OIDC provider (webhook ``--token-audience``)."""

MIN_EXPIRATION_SECONDS = 600
"""Kubernetes refuses token requests for less than 10 minutes."""

MAX_EXPIRATION_SECONDS = 2**32
"""Kubernetes refuses token requests for more than 2^32 seconds."""

AUTHORIZATION_ENDPOINT = "urn:kubernetes:programmatic_authorization"

MAX_TOKEN_LENGTH = 20000
"""``WebIdentityToken`` is 4 to 20000 characters (STS API model)."""

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
"""Signature algorithms STS accepts for web-identity tokens (STS API reference)."""

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
MSG_AUDIENCE = "Incorrect token audience"

_INVALID = "InvalidIdentityToken"
_EXPIRED = "ExpiredTokenException"

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


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


def _malformed(detail: str) -> TokenRejected:
    return TokenRejected(_INVALID, MSG_NOT_A_JWT, detail=detail)


def _not_yet_valid(now: int, nbf: int) -> TokenRejected:
    # [uncertain] our wording, modelled on STS's expiry message
    return TokenRejected(
        _INVALID,
        f"Token not yet valid: current date/time {now} must not be before the not-before "
        f"date/time {nbf}",
        detail="`nbf` is in the future",
    )


# ---------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An IAM OpenID Connect provider as STS sees it.

    ``url`` is stored as IAM stores it, without ``https://`` (for example
    ``oidc.eks.us-west-2.amazonaws.com/id/8EBD...``); ``arn`` is
    ``arn:aws:iam::<account>:oidc-provider/<url>``; ``client_ids`` is the audience list.
    """

    url: str
    arn: str
    client_ids: tuple[str, ...]
    account: str

    @classmethod
    def for_issuer(
        cls, issuer_url: str, account: str, client_ids: Sequence[str] = (DEFAULT_AUDIENCE,)
    ) -> OidcProvider:
        """The provider IAM would create for ``issuer_url`` in ``account``."""
        url = issuer_url.removeprefix("https://")
        return cls(
            url=url,
            arn=f"arn:aws:iam::{account}:oidc-provider/{url}",
            client_ids=tuple(client_ids),
            account=account,
        )


@dataclass(frozen=True, slots=True)
class WebIdentity:
    """A web-identity token STS accepted.

    ``issuer`` is the token's ``iss`` (STS's ``Provider`` output for OIDC), ``subject``
    its ``sub`` (``SubjectFromWebIdentityToken``), ``audience`` the client ID that matched
    (``Audience``), ``claims`` every claim of the token, and ``provider_arn`` the IAM OIDC
    provider that vouched for it (the trust policy's ``Principal.Federated``)."""

    issuer: str
    subject: str
    audience: str
    claims: Mapping[str, Any] = field(repr=False)
    provider_arn: str


# ---------------------------------------------------------------------- the cluster side
def kubernetes_key_id(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    """The ``kid`` Kubernetes gives a signing key: unpadded base64url of the SHA-256 of the
    key's DER SubjectPublicKeyInfo (``keyIDFromPublicKey`` in ``pkg/serviceaccount``)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


class ClusterIssuer:
    """The OIDC issuer of one sandbox cluster: an RSA 2048 key that signs RS256 tokens.

    EKS rotates the signing key every seven days and keeps publishing the old public keys
    until the tokens they signed have expired; :meth:`rotated` does the same. The object
    holds a private key: :meth:`to_dict` output is secret, and ``repr`` shows no key.
    """

    __slots__ = ("_issuer_url", "_key", "_kid", "_retired")

    def __init__(
        self,
        issuer_url: str,
        signing_key: rsa.RSAPrivateKey,
        retired_keys: Sequence[rsa.RSAPublicKey] = (),
    ) -> None:
        self._issuer_url = _check_issuer_url(issuer_url)
        if not isinstance(signing_key, rsa.RSAPrivateKey) or signing_key.key_size < 2048:
            raise IssuerError("the signing key must be an RSA key of at least 2048 bits")
        self._key = signing_key
        self._kid = kubernetes_key_id(signing_key.public_key())
        self._retired = tuple(retired_keys)

    def __repr__(self) -> str:
        return f"ClusterIssuer(issuer_url={self._issuer_url!r}, key_id={self._kid!r})"

    @classmethod
    def create(cls, issuer_url: str) -> ClusterIssuer:
        """A new issuer for ``issuer_url`` with a fresh RSA 2048 signing key.

        ``issuer_url`` must be an ``https://`` URL without query, fragment, user info or
        trailing ``/``, at most 255 characters (the IAM provider URL limit); EKS's look
        like ``https://oidc.eks.us-west-2.amazonaws.com/id/8EBD...``."""
        _check_issuer_url(issuer_url)
        return cls(issuer_url, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def rotated(self) -> ClusterIssuer:
        """The same issuer with a new signing key; the current public key stays in the
        JWKS, so that tokens already minted keep verifying."""
        fresh = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return ClusterIssuer(self._issuer_url, fresh, (self._key.public_key(), *self._retired))

    @property
    def issuer_url(self) -> str:
        """The ``iss`` of every token, and the IAM provider URL (with ``https://``)."""
        return self._issuer_url

    @property
    def key_id(self) -> str:
        """The ``kid`` of the current signing key."""
        return self._kid

    @property
    def jwks_uri(self) -> str:
        """Where EKS publishes the keys: ``<issuer>/keys``."""
        return f"{self._issuer_url}/keys"

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """The issuer as JSON-ready data, private key included (PKCS#8 PEM): secret."""
        return {
            "issuerUrl": self._issuer_url,
            "signingKeyPem": self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
            "retiredPublicKeysPem": [
                key.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ).decode("ascii")
                for key in self._retired
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterIssuer:
        """The issuer :meth:`to_dict` described; :class:`IssuerError` if it is not one."""
        if not isinstance(data, Mapping):
            raise IssuerError("issuer state must be a JSON object")
        url, key_pem, retired = (
            data.get("issuerUrl"),
            data.get("signingKeyPem"),
            data.get("retiredPublicKeysPem", []),
        )
        if not isinstance(url, str) or not isinstance(key_pem, str):
            raise IssuerError("issuer state needs `issuerUrl` and `signingKeyPem` strings")
        if not isinstance(retired, list) or not all(isinstance(k, str) for k in retired):
            raise IssuerError("`retiredPublicKeysPem` must be a list of PEM strings")
        try:
            key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
            old = [serialization.load_pem_public_key(k.encode("ascii")) for k in retired]
        except (ValueError, TypeError, UnicodeError):
            raise IssuerError("issuer state holds an unreadable key") from None
        if not isinstance(key, rsa.RSAPrivateKey) or not all(
            isinstance(k, rsa.RSAPublicKey) for k in old
        ):
            raise IssuerError("issuer keys must be RSA keys")
        return cls(url, key, [k for k in old if isinstance(k, rsa.RSAPublicKey)])

    # ------------------------------------------------------------------ what EKS serves
    def discovery_document(self) -> dict[str, Any]:
        """The document EKS serves at ``<issuer>/.well-known/openid-configuration``.

        EKS's shape (as in the service-account issuer discovery KEP and the pod identity
        webhook's self-hosted set-up), not kube-apiserver's own, which has no
        ``authorization_endpoint`` or ``claims_supported`` and points at
        ``/openid/v1/jwks``."""
        return {
            "issuer": self._issuer_url,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": AUTHORIZATION_ENDPOINT,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set EKS serves at ``<issuer>/keys``: the current key first,
        then the retired ones, each ``{kty, kid, use, alg, n, e}``."""
        keys = [self._key.public_key(), *self._retired]
        return {"keys": [_public_jwk(key) for key in keys]}

    # ------------------------------------------------------------------ tokens
    def mint_service_account_token(
        self,
        *,
        namespace: str,
        service_account: str,
        service_account_uid: str,
        audiences: Sequence[str],
        expiration_seconds: int,
        now: int,
        pod: tuple[str, str] | None = None,
        node: tuple[str, str] | None = None,
    ) -> str:
        """A projected service-account token, as the API server answers a TokenRequest.

        Header ``{"alg": "RS256", "kid": <key id>}`` (no ``typ``: Kubernetes sets none).
        Claims, keys sorted as Go's JSON encoder writes them: ``aud`` (list), ``exp`` =
        ``now + expiration_seconds``, ``iat`` = ``nbf`` = ``now``, ``iss``, ``jti`` (a
        random UUID, the ``ServiceAccountTokenJTI`` gate), ``kubernetes.io``
        (``namespace``, ``serviceaccount {name, uid}``, ``pod {name, uid}`` and
        ``node {name, uid}`` when bound to them), ``sub`` =
        ``system:serviceaccount:<namespace>:<name>``. No ``warnafter``: the API server adds
        it only to tokens for its own audience under the extended-expiry rollout.

        Raises :class:`TokenRequestError` for what Kubernetes would refuse: an expiration
        under 600 s or over 2^32 s, bad names, an empty audience list."""
        _check_name("namespace", namespace, _DNS1123_LABEL, 63)
        _check_name("service account name", service_account, _DNS1123_SUBDOMAIN, 253)
        _check_text("service account uid", service_account_uid)
        audience_list = _check_audiences(audiences)
        _check_expiration(expiration_seconds)
        if not _is_int(now) or now < 0:
            raise TokenRequestError(f"invalid time `{now}`: must be epoch seconds")
        private: dict[str, Any] = {
            "namespace": namespace,
            "serviceaccount": {"name": service_account, "uid": service_account_uid},
        }
        if pod is not None:
            private["pod"] = _reference("pod", pod)
        if node is not None:
            private["node"] = _reference("node", node)
        claims: dict[str, Any] = {
            "aud": audience_list,
            "exp": now + expiration_seconds,
            "iat": now,
            "iss": self._issuer_url,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": private,
            "nbf": now,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
        }
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return jwt.PyJWS().encode(
            payload, self._key, algorithm="RS256", headers={"kid": self._kid, "typ": None}
        )


def _public_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    numbers = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    return {
        "kty": "RSA",
        "kid": kubernetes_key_id(key),
        "use": "sig",
        "alg": "RS256",
        "n": numbers["n"],
        "e": numbers["e"],
    }


def _check_issuer_url(url: object) -> str:
    if not isinstance(url, str) or not url.startswith("https://"):
        raise IssuerError(f"invalid issuer URL `{url}`: must start with `https://`")
    if len(url) > 255:
        raise IssuerError(f"invalid issuer URL `{url[:80]}...`: longer than 255 characters")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise IssuerError(f"invalid issuer URL `{url}`: not a URL") from None
    if not parts.hostname or parts.query or parts.fragment or "?" in url or "#" in url:
        raise IssuerError(f"invalid issuer URL `{url}`: needs a host, no query or fragment")
    if parts.username is not None or url.endswith("/") or not url.isascii() or " " in url:
        raise IssuerError(f"invalid issuer URL `{url}`: no user info, no trailing `/`, ASCII only")
    return url


def _check_name(what: str, value: object, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
        raise TokenRequestError(
            f"invalid {what} `{value}`: must be a lowercase RFC 1123 name of at most "
            f"{limit} characters"
        )


def _check_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or value.strip() != value:
        raise TokenRequestError(f"invalid {what} `{value}`: must be a non-empty string")


def _check_audiences(audiences: object) -> list[str]:
    if isinstance(audiences, str | bytes) or not isinstance(audiences, Sequence):
        raise TokenRequestError("spec.audiences: must be a list of strings")
    result = list(audiences)
    if not result or not all(isinstance(a, str) and a for a in result):
        raise TokenRequestError("spec.audiences: must be a non-empty list of non-empty strings")
    return result


def _check_expiration(seconds: object) -> None:
    if not _is_int(seconds):
        raise TokenRequestError(
            f"spec.expirationSeconds: Invalid value: `{seconds}`: must be an integer"
        )
    assert isinstance(seconds, int)  # for mypy, after _is_int
    if seconds < MIN_EXPIRATION_SECONDS:
        raise TokenRequestError(
            f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration "
            "less than 10 minutes"
        )
    if seconds > MAX_EXPIRATION_SECONDS:
        raise TokenRequestError(
            f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration "
            "larger than 2^32 seconds"
        )


def _reference(what: str, ref: object) -> dict[str, str]:
    if not isinstance(ref, tuple) or len(ref) != 2:
        raise TokenRequestError(f"the {what} binding must be a (name, uid) pair")
    name, uid = ref
    _check_name(f"{what} name", name, _DNS1123_SUBDOMAIN, 253)
    _check_text(f"{what} uid", uid)
    return {"name": name, "uid": uid}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------- the STS side
def verify_web_identity_token(
    token: str | bytes,
    *,
    provider_lookup: Callable[[str], OidcProvider | None],
    fetch_jwks: Callable[[str], Mapping[str, Any]],
    now: int,
) -> WebIdentity:
    """Check ``token`` as STS ``AssumeRoleWithWebIdentity`` does, up to (not including)
    the role's trust policy.

    ``provider_lookup`` gets the token's ``iss`` without ``https://`` (the form IAM stores)
    and returns the IAM OIDC provider of that URL in the **role's account**, or ``None``.
    ``fetch_jwks`` gets the issuer URL (``https://`` + the provider URL) and returns its
    JWKS, raising :class:`JwksFetchError` when it cannot (see :func:`https_jwks_fetcher`).
    ``now`` is epoch seconds.

    Checks, in this order (reference B.3; the order after step 3 is [uncertain]):

    1. the token is 4 to 20000 characters (``ValidationError``), a JWS compact token with
       a JSON object header and payload, an allowed ``alg`` (RS/ES 256/384/512: ``none``
       and HMAC are refused), and no ``crit`` header;
    2. the claims ``iss``, ``sub``, ``aud``, ``exp`` are present (in that order: "Missing a
       required claim: <name>"), strings, a string or list of strings, and integers
       (``exp``, and ``iat``/``nbf`` when present);
    3. an IAM OIDC provider exists for ``iss`` ("No OpenIDConnect provider found ...");
    4. the issuer's keys can be fetched and one with the token's ``kid`` exists
       ("Couldn't retrieve verification key ..."), and the signature verifies;
    5. ``exp`` is after ``now`` (``ExpiredTokenException``), ``nbf`` is not after it;
    6. one of the token's audiences is one of the provider's client IDs (the first such,
       in the token's order, becomes :attr:`WebIdentity.audience`).

    Whatever ``token`` holds, only :class:`TokenRejected` is raised for it (a ``now``
    that is not an ``int`` is the caller's bug: :class:`kubetrust.errors.InputError`).
    See https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    """
    if not _is_int(now):
        raise InputError(f"`now` must be epoch seconds as an int, not {type(now).__name__}")
    text = _token_text(token)
    header, claims = _parse(text)
    issuer, subject, audiences, expires = _required_claims(claims)
    provider_url = issuer.removeprefix("https://")
    try:
        provider = provider_lookup(provider_url)
    except KubetrustError:
        provider = None
    if provider is None or provider.url != provider_url:
        raise TokenRejected(
            _INVALID,
            f"No OpenIDConnect provider found in your account for {issuer}",
            detail="no IAM OIDC provider in the role's account has this URL",
        )
    jwks = _keys_of(provider, fetch_jwks)
    _verify_signature(text, header, jwks)
    if now >= expires:
        raise TokenRejected(
            _EXPIRED,
            f"Token expired: current date/time {now} must be before the expiration "
            f"date/time{expires}",
            detail="`exp` has passed",
        )
    not_before = claims.get("nbf")
    if isinstance(not_before, int) and not_before > now:
        raise _not_yet_valid(now, not_before)
    audience = next((a for a in audiences if a in provider.client_ids), None)
    if audience is None:
        raise TokenRejected(
            _INVALID, MSG_AUDIENCE, detail="no `aud` value is a client ID of the provider"
        )
    logger.debug("web identity token of %s for %s accepted", issuer, subject)
    return WebIdentity(
        issuer=issuer,
        subject=subject,
        audience=audience,
        claims=claims,
        provider_arn=provider.arn,
    )


def _token_text(token: object) -> str:
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise _malformed("the token is not ASCII") from None
    if not isinstance(token, str):
        raise _malformed("the token is not a string")
    if not 4 <= len(token) <= MAX_TOKEN_LENGTH:
        raise TokenRejected(
            "ValidationError",
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
            f"constraint: Member must have length between 4 and {MAX_TOKEN_LENGTH}",
            detail=f"the token is {len(token)} characters",
        )
    return token


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not JSON")


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token``, unverified; :class:`TokenRejected` if it is not
    a JWS compact token with JSON object header and payload and an allowed ``alg``."""
    if not token.isascii() or token.count(".") != 2:
        raise _malformed("not three dot-separated base64url segments")
    try:
        parts = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
        header = parts["header"]
        claims = json.loads(parts["payload"], parse_constant=_reject_constant)
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError, UnicodeError):
        raise _malformed("bad base64url or JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _malformed("header or payload is not a JSON object")
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        allowed = ", ".join(ALLOWED_ALGORITHMS)
        raise _malformed(f"algorithm {_shown(algorithm)} is not one of {allowed}")
    if "crit" in header or "b64" in header:
        raise _malformed("critical header extensions are not supported")
    if "kid" in header and not isinstance(header["kid"], str):
        raise _malformed("`kid` is not a string")
    return header, claims


def _required_claims(claims: Mapping[str, Any]) -> tuple[str, str, list[str], int]:
    for name in ("iss", "sub", "aud", "exp"):
        if name not in claims or claims[name] is None:
            raise TokenRejected(
                _INVALID, f"Missing a required claim: {name}", detail=f"no `{name}` claim"
            )
    issuer, subject, audience, expires = (claims[n] for n in ("iss", "sub", "aud", "exp"))
    if not isinstance(issuer, str) or not issuer:
        raise _malformed("`iss` is not a non-empty string")
    if not isinstance(subject, str) or not subject:
        raise _malformed("`sub` is not a non-empty string")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise _malformed("`aud` is not a string or a list of strings")
    if not audiences:
        raise TokenRejected(_INVALID, "Missing a required claim: aud", detail="`aud` is empty")
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _is_int(claims[name]):
            raise _malformed(f"`{name}` is not an integer NumericDate")
    return issuer, subject, audiences, expires


def _keys_of(
    provider: OidcProvider, fetch_jwks: Callable[[str], Mapping[str, Any]]
) -> Sequence[Any]:
    issuer_url = f"https://{provider.url}"
    try:
        jwks = fetch_jwks(issuer_url)
    except IdpCertificateError as exc:
        raise TokenRejected(_INVALID, MSG_UNTRUSTED_CERTIFICATE, detail=exc.message) from None
    except JwksFetchError as exc:
        raise TokenRejected(_INVALID, MSG_NO_KEY, detail=exc.message) from None
    except (OSError, ValueError, HTTPException) as exc:
        raise TokenRejected(_INVALID, MSG_NO_KEY, detail=type(exc).__name__) from None
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise TokenRejected(_INVALID, MSG_NO_KEY, detail="the JWKS has no `keys` list")
    return keys


def _verify_signature(token: str, header: Mapping[str, Any], keys: Sequence[Any]) -> None:
    algorithm = header["alg"]
    kid = header.get("kid")
    candidates = [
        key
        for entry in keys
        if isinstance(entry, Mapping)
        and (kid is None or entry.get("kid") == kid)
        and (key := _usable_key(entry, algorithm)) is not None
    ]
    if not candidates:
        raise TokenRejected(
            _INVALID, MSG_NO_KEY, detail=f"no {algorithm} key with kid {_shown(kid)} in the JWKS"
        )
    verifier = jwt.PyJWS()
    for key in candidates:
        try:
            verifier.decode_complete(token, key=key, algorithms=[algorithm])
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        return
    raise TokenRejected(
        _INVALID, MSG_BAD_SIGNATURE, detail="the signature does not verify under the issuer's key"
    )


def _usable_key(entry: Mapping[str, Any], algorithm: str) -> Any | None:
    """The public key of JWK ``entry`` if it may verify ``algorithm`` signatures."""
    family = "RSA" if algorithm.startswith("RS") else "EC"
    if entry.get("kty") != family or entry.get("use", "sig") != "sig":
        return None
    if entry.get("alg", algorithm) != algorithm:
        return None
    try:
        key = jwt.PyJWK(dict(entry), algorithm).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key = key.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key if family == "RSA" and key.key_size >= 2048 else None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key if key.curve.name == _CURVES[algorithm] else None
    return None


def _shown(value: object) -> str:
    if isinstance(value, str):
        return f"`{value[:40]}`"
    return type(value).__name__ if value is not None else "none"


# ---------------------------------------------------------------------- fetching keys
def https_jwks_fetcher(
    ca_pem: bytes, timeout: float = 5.0, *, max_bytes: int = 256 * 1024
) -> Callable[[str], Mapping[str, Any]]:
    """A ``fetch_jwks`` for :func:`verify_web_identity_token` that does what STS does.

    For an issuer URL it GETs ``<issuer>/.well-known/openid-configuration``, checks that
    the document is a JSON object whose ``issuer`` is that URL and whose ``jwks_uri`` is an
    ``https`` URL, then GETs the ``jwks_uri`` and returns the JSON object found there.

    TLS is verified against ``ca_pem`` only (hostname checked, no system CAs); redirects
    are not followed; proxies from the environment are ignored (the sandbox lives on
    loopback); each document may be at most ``max_bytes`` and each fetch must finish within
    ``timeout`` seconds (STS gives up after about 5 s). Failures raise
    :class:`JwksFetchError`, or :class:`IdpCertificateError` for a certificate that does
    not verify."""
    context = pki.client_ssl_context(ca_pem)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=context),
        _NoRedirects(),
    )

    def fetch(issuer_url: str) -> Mapping[str, Any]:
        discovery_url = f"{issuer_url.rstrip('/')}/.well-known/openid-configuration"
        discovery = _get_json(opener, discovery_url, timeout, max_bytes)
        if discovery.get("issuer") != issuer_url:
            raise JwksFetchError(
                f"the discovery document at `{discovery_url}` names another issuer"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise JwksFetchError(
                f"the discovery document at `{discovery_url}` has no https `jwks_uri`"
            )
        return _get_json(opener, jwks_uri, timeout, max_bytes)

    return fetch


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get_json(
    opener: urllib.request.OpenerDirector, url: str, timeout: float, max_bytes: int
) -> dict[str, Any]:
    body = _download(opener, url, timeout, max_bytes)
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise JwksFetchError(f"`{_short(url)}` did not send JSON") from None
    if not isinstance(document, dict):
        raise JwksFetchError(f"`{_short(url)}` did not send a JSON object")
    return document


def _download(
    opener: urllib.request.OpenerDirector, url: str, timeout: float, max_bytes: int
) -> bytes:
    """The body of a 200 answer to GET ``url``, within ``timeout`` and ``max_bytes``."""
    if not url.startswith("https://"):
        raise JwksFetchError(f"refusing to fetch `{_short(url)}`: not https")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    body = bytearray()
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            while chunk := response.read(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise JwksFetchError(f"`{_short(url)}` sent more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise JwksFetchError(f"`{_short(url)}` took longer than {timeout} s")
    except urllib.error.HTTPError as exc:
        raise JwksFetchError(f"`{_short(url)}` answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise _unreachable(url, exc.reason) from None
    except (OSError, HTTPException, ValueError) as exc:
        raise _unreachable(url, exc) from None
    if status != 200:
        raise JwksFetchError(f"`{_short(url)}` answered HTTP {status}")
    return bytes(body)


def _unreachable(url: str, reason: object) -> JwksFetchError:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return IdpCertificateError(
            f"TLS certificate of `{_short(url)}` did not verify: {reason.verify_message}"
        )
    return JwksFetchError(f"cannot reach `{_short(url)}`: {_reason(reason)}")


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__ if not isinstance(reason, str) else reason
