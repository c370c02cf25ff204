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

from collections.abc import Collection
from datetime import UTC, datetime

from kubetrust import errors
from kubetrust.eks_token import guards, query
from kubetrust.eks_token.codec import decode, encode, require_str
from kubetrust.eks_token.model import (
    ALLOWED_PARAMETERS,
    CLUSTER_ID_HEADER,
    MAX_EXPIRES_SECONDS,
    MAX_TOKEN_BYTES,
    PREFIX,
    PRESIGNED_URL_LIFETIME,
    SIGV4_ALGORITHM,
    STS_API_VERSION,
    Guard,
    PresignedIdentityRequest,
    TokenFormatError,
)

__all__ = [
    "ALLOWED_PARAMETERS",
    "CLUSTER_ID_HEADER",
    "MAX_EXPIRES_SECONDS",
    "MAX_TOKEN_BYTES",
    "PREFIX",
    "PRESIGNED_URL_LIFETIME",
    "SIGV4_ALGORITHM",
    "STS_API_VERSION",
    "Guard",
    "PresignedIdentityRequest",
    "TokenFormatError",
    "check",
    "decode",
    "encode",
]


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
    require_str(token)
    size = len(token.encode("utf-8", "surrogatepass"))
    if size > MAX_TOKEN_BYTES:
        raise TokenFormatError(
            f"token is too large ({size} bytes, at most {MAX_TOKEN_BYTES})", guard=Guard.SIZE
        )
    url = decode(token)
    parts = query.parse_url(url)
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
    pairs = query.parse_query(parts.query)
    params = query.single_valued(pairs)
    guards.check_action_and_version(params)
    signed_headers = guards.signed_headers(params)
    expires_seconds = guards.expires(params)
    signed_at = guards.signed_at(params)
    expires_at = guards.expiry(signed_at)
    if _aware(now) > expires_at:
        raise TokenFormatError(
            f"X-Amz-Date parameter is expired (15 minute expiration) {signed_at.isoformat()}",
            guard=Guard.EXPIRED,
        )
    guards.check_algorithm(params)
    access_key_id, scope = guards.credential(params, signed_at)
    signature = guards.signature(params)
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
