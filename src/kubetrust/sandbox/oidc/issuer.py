"""The cluster side: :class:`ClusterIssuer`, its discovery document and JWKS, and the
projected service-account tokens it mints (reference C.1, C.2)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kubetrust.model import vocabulary
from kubetrust.sandbox.oidc import errors

MIN_EXPIRATION_SECONDS = 600
"""Kubernetes refuses token requests for less than 10 minutes."""

MAX_EXPIRATION_SECONDS = 2**32
"""Kubernetes refuses token requests for more than 2^32 seconds."""

AUTHORIZATION_ENDPOINT = "urn:kubernetes:programmatic_authorization"

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


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
            raise errors.IssuerError("the signing key must be an RSA key of at least 2048 bits")
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
            raise errors.IssuerError("issuer state must be a JSON object")
        url, key_pem, retired = (
            data.get("issuerUrl"),
            data.get("signingKeyPem"),
            data.get("retiredPublicKeysPem", []),
        )
        if not isinstance(url, str) or not isinstance(key_pem, str):
            raise errors.IssuerError("issuer state needs `issuerUrl` and `signingKeyPem` strings")
        if not isinstance(retired, list) or not all(isinstance(k, str) for k in retired):
            raise errors.IssuerError("`retiredPublicKeysPem` must be a list of PEM strings")
        try:
            key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
            old = [serialization.load_pem_public_key(k.encode("ascii")) for k in retired]
        except (ValueError, TypeError, UnicodeError):
            raise errors.IssuerError("issuer state holds an unreadable key") from None
        if not isinstance(key, rsa.RSAPrivateKey) or not all(
            isinstance(k, rsa.RSAPublicKey) for k in old
        ):
            raise errors.IssuerError("issuer keys must be RSA keys")
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
        if not is_int(now) or now < 0:
            raise errors.TokenRequestError(f"invalid time `{now}`: must be epoch seconds")
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
            "sub": vocabulary.service_account_subject(namespace, service_account),
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
        raise errors.IssuerError(f"invalid issuer URL `{url}`: must start with `https://`")
    if len(url) > 255:
        raise errors.IssuerError(f"invalid issuer URL `{url[:80]}...`: longer than 255 characters")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise errors.IssuerError(f"invalid issuer URL `{url}`: not a URL") from None
    if not parts.hostname or parts.query or parts.fragment or "?" in url or "#" in url:
        raise errors.IssuerError(f"invalid issuer URL `{url}`: needs a host, no query or fragment")
    if parts.username is not None or url.endswith("/") or not url.isascii() or " " in url:
        raise errors.IssuerError(
            f"invalid issuer URL `{url}`: no user info, no trailing `/`, ASCII only"
        )
    return url


def _check_name(what: str, value: object, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
        raise errors.TokenRequestError(
            f"invalid {what} `{value}`: must be a lowercase RFC 1123 name of at most "
            f"{limit} characters"
        )


def _check_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or value.strip() != value:
        raise errors.TokenRequestError(f"invalid {what} `{value}`: must be a non-empty string")


def _check_audiences(audiences: object) -> list[str]:
    if isinstance(audiences, str | bytes) or not isinstance(audiences, Sequence):
        raise errors.TokenRequestError("spec.audiences: must be a list of strings")
    result = list(audiences)
    if not result or not all(isinstance(a, str) and a for a in result):
        raise errors.TokenRequestError(
            "spec.audiences: must be a non-empty list of non-empty strings"
        )
    return result


def _check_expiration(seconds: object) -> None:
    if not is_int(seconds):
        raise errors.TokenRequestError(
            f"spec.expirationSeconds: Invalid value: `{seconds}`: must be an integer"
        )
    assert isinstance(seconds, int)  # for mypy, after is_int
    if seconds < MIN_EXPIRATION_SECONDS:
        raise errors.TokenRequestError(
            f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration "
            "less than 10 minutes"
        )
    if seconds > MAX_EXPIRATION_SECONDS:
        raise errors.TokenRequestError(
            f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration "
            "larger than 2^32 seconds"
        )


def _reference(what: str, ref: object) -> dict[str, str]:
    if not isinstance(ref, tuple) or len(ref) != 2:
        raise errors.TokenRequestError(f"the {what} binding must be a (name, uid) pair")
    name, uid = ref
    _check_name(f"{what} name", name, _DNS1123_SUBDOMAIN, 253)
    _check_text(f"{what} uid", uid)
    return {"name": name, "uid": uid}


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (a NumericDate, epoch seconds), ``bool`` excluded:
    JSON's ``true`` is no time."""
    return isinstance(value, int) and not isinstance(value, bool)
