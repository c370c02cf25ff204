"""The ``k8s-aws-v1.`` codec: the prefix plus the unpadded base64url text of a URL.

Separate from :func:`kubetrust.eks_token.check` because minting a token (the sandbox's
``kube_access``, the boto3 adapter) needs only :func:`encode`, while the guard clauses need
:func:`decode` as their first steps. Decoding follows Go's ``base64.RawURLEncoding`` as the
authenticator does, error offsets included, so refusals read like the authenticator's.
"""

from __future__ import annotations

import base64
import binascii
import re

from kubetrust.eks_token.model import PREFIX, Guard, TokenFormatError

_BASE64_ILLEGAL = re.compile(r"[^A-Za-z0-9_\-\r\n]")


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
    require_str(token)
    if not token.startswith(PREFIX):
        raise TokenFormatError(f'token is missing expected "{PREFIX}" prefix', guard=Guard.PREFIX)
    raw = _unbase64(token[len(PREFIX) :])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TokenFormatError(
            f"the decoded token is not UTF-8 text (byte {exc.start})", guard=Guard.TEXT
        ) from None


def require_str(token: object) -> None:
    """Refuse a non-string with :attr:`Guard.TYPE`, so no other exception escapes for it."""
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
