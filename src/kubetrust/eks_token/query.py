"""Parse the presigned URL and its query the way Go's ``net/url`` does.

The authenticator refuses a token whenever Go's ``url.Parse`` or ``url.ParseQuery`` fails,
and Python's ``urllib`` is more lenient (it drops control characters, accepts ``;`` and bad
escapes). These helpers reproduce Go's refusals, each as a :class:`TokenFormatError` with
the :class:`Guard` the authenticator would have failed on, so that :func:`check
<kubetrust.eks_token.check>` accepts exactly what the authenticator accepts.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from kubetrust import errors
from kubetrust.eks_token.model import ALLOWED_PARAMETERS, Guard, TokenFormatError

_URL_ILLEGAL = re.compile(r"[\x00-\x20\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_url(url: str) -> SplitResult:
    """Split the URL, refusing what Go's ``url.Parse`` refuses (or we refuse, see module doc)."""
    bad = _URL_ILLEGAL.search(url)
    if bad:
        raise TokenFormatError(
            f"invalid control character or space in URL at offset {bad.start()}",
            guard=Guard.URL,
        )
    if url.startswith(":"):
        raise TokenFormatError("missing protocol scheme", guard=Guard.URL)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise TokenFormatError(f"cannot parse the pre-signed URL: {exc}", guard=Guard.URL) from None
    for name, piece in (("host", parts.netloc), ("path", parts.path), ("fragment", parts.fragment)):
        escape = _BAD_ESCAPE.search(piece)
        if escape:
            text = piece[escape.start() : escape.start() + 3]
            raise TokenFormatError(
                f"invalid URL escape {errors.shown(text)} in the {name}", guard=Guard.URL
            )
    return parts


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Go ``url.ParseQuery``: ``&``-separated, ``+`` is a space, a ``;`` is an error."""
    pairs: list[tuple[str, str]] = []
    for piece in raw.split("&"):
        if ";" in piece:
            raise TokenFormatError(
                "malformed query parameter (invalid semicolon separator in query)",
                guard=Guard.QUERY,
            )
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((_unescape(key), _unescape(value)))
    return pairs


def _unescape(text: str) -> str:
    bad = _BAD_ESCAPE.search(text)
    if bad:
        shown = errors.shown(text[bad.start() : bad.start() + 3])
        raise TokenFormatError(
            f"malformed query parameter (invalid URL escape {shown})", guard=Guard.QUERY
        )
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise TokenFormatError(
            "malformed query parameter (not UTF-8 once unescaped)", guard=Guard.QUERY
        ) from None


def single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Duplicates (ignoring case), allow-list, one value each; names lowercased."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    seen: set[str] = set()
    for key in grouped:
        if key.lower() in seen:
            raise TokenFormatError(
                f"duplicate query parameter found: {errors.shown(key)}", guard=Guard.DUPLICATE
            )
        seen.add(key.lower())
    for key, values in grouped.items():
        if key.lower() not in ALLOWED_PARAMETERS:
            raise TokenFormatError(
                f"non-whitelisted query parameter {errors.shown(key)}", guard=Guard.PARAMETER
            )
        if len(values) != 1:
            raise TokenFormatError(
                f"query parameter with multiple values not supported: {errors.shown(key)}",
                guard=Guard.MULTIPLE_VALUES,
            )
    return {key.lower(): values[0] for key, values in grouped.items()}
