"""The STS side: :func:`verify_web_identity_token` and its checks (reference B.2, B.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kubetrust.chain import web_identity
from kubetrust.errors import InputError, KubetrustError, decode_json
from kubetrust.model.vocabulary import IRSA_AUDIENCE
from kubetrust.sandbox.oidc import errors
from kubetrust.sandbox.oidc import issuer as issuers

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 20000
"""``WebIdentityToken`` is 4 to 20000 characters (STS API model)."""

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
"""Signature algorithms STS accepts for web-identity tokens (STS API reference)."""

_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


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
        cls, issuer_url: str, account: str, client_ids: Sequence[str] = (IRSA_AUDIENCE,)
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

    Checks, in this order (reference B.3; the order after step 3 is [uncertain]; steps 3
    and 6, with their codes and messages, are :mod:`kubetrust.chain.web_identity`'s, the
    checks explain makes too):

    1. the token is 4 to 20000 characters (``ValidationError``), a JWS compact token with
       a JSON object header and payload, an allowed ``alg`` (RS/ES 256/384/512: ``none``
       and HMAC are refused), and no ``crit`` header;
    2. the claims ``iss``, ``sub``, ``aud``, ``exp`` are present (in that order: "Missing a
       required claim: <name>"), strings, a string or list of strings, and integers
       (``exp``, and ``iat``/``nbf`` when present);
    3. ``iss`` is an ``https://`` URL and an IAM OIDC provider exists for it ("No
       OpenIDConnect provider found ..." otherwise, also for an ``iss`` without scheme);
    4. the issuer's keys can be fetched and one with the token's ``kid`` exists
       ("Couldn't retrieve verification key ..."), and the signature verifies;
    5. ``exp`` is after ``now`` (``ExpiredTokenException``), ``nbf`` is not after it;
    6. one of the token's audiences is one of the provider's client IDs (the first such,
       in the token's order, becomes :attr:`WebIdentity.audience`).

    Whatever ``token`` holds, only :class:`TokenRejected` is raised for it (a ``now``
    that is not an ``int`` is the caller's bug: :class:`kubetrust.errors.InputError`).
    See https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    """
    if not issuers.is_int(now):
        raise InputError(f"`now` must be epoch seconds as an int, not {type(now).__name__}")
    text = _token_text(token)
    header, claims = _parse(text)
    issuer, subject, audiences, expires = _required_claims(claims)

    def verify_keys_and_lifetime(provider: OidcProvider) -> None:
        _verify_signature(text, header, _keys_of(provider, fetch_jwks))
        _check_lifetime(claims, expires, now)

    try:
        accepted = web_identity.check_provider_and_audience(
            issuer,
            audiences,
            lambda iss: _provider_for(iss, provider_lookup),
            verify=verify_keys_and_lifetime,
        )
    except web_identity.WebIdentityRefused as refused:
        raise errors.TokenRejected(refused.code, refused.message, detail=refused.detail) from None
    logger.debug("web identity token of %s for %s accepted", issuer, subject)
    return WebIdentity(
        issuer=issuer,
        subject=subject,
        audience=accepted.audience,
        claims=claims,
        provider_arn=accepted.provider.arn,
    )


def _check_lifetime(claims: Mapping[str, Any], expires: int, now: int) -> None:
    """``exp`` after ``now`` (``ExpiredTokenException``), ``nbf`` not after it."""
    if now >= expires:
        raise errors.TokenRejected(
            errors.EXPIRED,
            f"Token expired: current date/time {now} must be before the expiration "
            f"date/time{expires}",
            detail="`exp` has passed",
        )
    not_before = claims.get("nbf")
    if isinstance(not_before, int) and not_before > now:
        raise errors.not_yet_valid(now, not_before)


def _provider_for(
    issuer: str, provider_lookup: Callable[[str], OidcProvider | None]
) -> OidcProvider | None:
    """The IAM OIDC provider whose URL is exactly ``issuer``. IAM provider URLs are
    ``https://`` URLs (stored without the scheme, B.3), so an ``iss`` without the scheme,
    or with another one, names no provider, even when the rest of it is a provider's
    stored URL (the lookup is never asked about it)."""
    if not issuer.startswith("https://"):
        return None
    provider_url = issuer.removeprefix("https://")
    try:
        provider = provider_lookup(provider_url)
    except KubetrustError:
        return None
    return provider if provider is not None and provider.url == provider_url else None


def _token_text(token: object) -> str:
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise errors.malformed("the token is not ASCII") from None
    if not isinstance(token, str):
        raise errors.malformed("the token is not a string")
    if not 4 <= len(token) <= MAX_TOKEN_LENGTH:
        raise errors.TokenRejected(
            "ValidationError",
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
            f"constraint: Member must have length between 4 and {MAX_TOKEN_LENGTH}",
            detail=f"the token is {len(token)} characters",
        )
    return token


def reject_json_constant(name: str) -> Any:
    """A ``parse_constant`` for :func:`json.loads` that refuses ``NaN`` and ``Infinity``:
    they are not JSON (RFC 8259), and STS reads neither tokens nor JWKS with them."""
    raise ValueError(f"`{name}` is not JSON")


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token``, unverified; :class:`TokenRejected` if it is not
    a JWS compact token with JSON object header and payload and an allowed ``alg``."""
    if not token.isascii() or token.count(".") != 2:
        raise errors.malformed("not three dot-separated base64url segments")
    try:
        parts = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
        header = parts["header"]
        claims = decode_json(parts["payload"], parse_constant=reject_json_constant)
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError, UnicodeError):
        raise errors.malformed("bad base64url or JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise errors.malformed("header or payload is not a JSON object")
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        allowed = ", ".join(ALLOWED_ALGORITHMS)
        raise errors.malformed(f"algorithm {_shown(algorithm)} is not one of {allowed}")
    if "crit" in header or "b64" in header:
        raise errors.malformed("critical header extensions are not supported")
    if "kid" in header and not isinstance(header["kid"], str):
        raise errors.malformed("`kid` is not a string")
    return header, claims


def _required_claims(claims: Mapping[str, Any]) -> tuple[str, str, list[str], int]:
    for name in ("iss", "sub", "aud", "exp"):
        if name not in claims or claims[name] is None:
            raise errors.TokenRejected(
                errors.INVALID, f"Missing a required claim: {name}", detail=f"no `{name}` claim"
            )
    issuer, subject, audience, expires = (claims[n] for n in ("iss", "sub", "aud", "exp"))
    if not isinstance(issuer, str) or not issuer:
        raise errors.malformed("`iss` is not a non-empty string")
    if not isinstance(subject, str) or not subject:
        raise errors.malformed("`sub` is not a non-empty string")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise errors.malformed("`aud` is not a string or a list of strings")
    if not audiences:
        raise errors.TokenRejected(
            errors.INVALID, "Missing a required claim: aud", detail="`aud` is empty"
        )
    for name in ("exp", "iat", "nbf"):
        if name in claims and not issuers.is_int(claims[name]):
            raise errors.malformed(f"`{name}` is not an integer NumericDate")
    return issuer, subject, audiences, expires


def _keys_of(
    provider: OidcProvider, fetch_jwks: Callable[[str], Mapping[str, Any]]
) -> Sequence[Any]:
    issuer_url = f"https://{provider.url}"
    try:
        jwks = fetch_jwks(issuer_url)
    except errors.IdpCertificateError as exc:
        raise errors.TokenRejected(
            errors.INVALID, errors.MSG_UNTRUSTED_CERTIFICATE, detail=exc.message
        ) from None
    except errors.JwksFetchError as exc:
        raise errors.TokenRejected(errors.INVALID, errors.MSG_NO_KEY, detail=exc.message) from None
    except (OSError, ValueError, HTTPException) as exc:
        raise errors.TokenRejected(
            errors.INVALID, errors.MSG_NO_KEY, detail=type(exc).__name__
        ) from None
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise errors.TokenRejected(
            errors.INVALID, errors.MSG_NO_KEY, detail="the JWKS has no `keys` list"
        )
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
        raise errors.TokenRejected(
            errors.INVALID,
            errors.MSG_NO_KEY,
            detail=f"no {algorithm} key with kid {_shown(kid)} in the JWKS",
        )
    verifier = jwt.PyJWS()
    for key in candidates:
        try:
            verifier.decode_complete(token, key=key, algorithms=[algorithm])
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        return
    raise errors.TokenRejected(
        errors.INVALID,
        errors.MSG_BAD_SIGNATURE,
        detail="the signature does not verify under the issuer's key",
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
