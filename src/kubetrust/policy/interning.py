"""Parse each distinct policy document once and share the parsed value.

Real organizations repeat the same documents everywhere: AWS managed policies in every
account, boundaries and trusts stamped out by templates and modules. A parsed
:class:`~kubetrust.policy.document.PolicyDocument` is immutable, so every equal document
(same compact JSON text, same kind) can be one object: parsed once, held once in memory,
compiled once by the evaluator (which caches by object).

The text is the key; on a miss the already decoded mapping is parsed directly when that
gives the same result as parsing the text — always, except for JSON numbers with a
fraction or exponent, which :func:`~kubetrust.policy.validate.parse_policy` reads from
text as decimals exactly as written, so those documents go through the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubetrust.policy.document import PolicyDocument, PolicyKind
from kubetrust.policy.validate import MAX_DOCUMENT_CHARS, parse_policy

INTERN_LIMIT = 65536
"""Distinct documents kept; the table is emptied when full (a bound, not an LRU: what was
already handed out stays shared, and a later equal document simply parses again)."""

_NON_INTEGER = re.compile(r"[\[:,]-?(?:\d+[.eE]|Infinity|NaN)")
"""A number token with a fraction or an exponent (or a non-finite one) in compact JSON
text: numbers follow ``[``, ``:`` or ``,`` there. A string that looks like one only sends
the document down the (always exact) text path."""

_interned: dict[tuple[str, PolicyKind], PolicyDocument] = {}


def parse_interned(
    text: str, kind: PolicyKind, decoded: Mapping[str, Any] | None = None
) -> PolicyDocument:
    """The document whose compact JSON text is ``text``, parsed as ``kind``: the same
    object for equal texts. ``decoded`` is ``json.loads(text)`` when the caller has it
    (saves decoding again). Raises :class:`~kubetrust.errors.PolicyParseError` as
    :func:`~kubetrust.policy.validate.parse_policy` does (errors are not cached)."""
    key = (text, kind)
    found = _interned.get(key)
    if found is not None:
        return found
    exact_as_mapping = (
        decoded is not None
        and len(text) <= MAX_DOCUMENT_CHARS
        and _NON_INTEGER.search(text) is None
    )
    found = parse_policy(decoded if exact_as_mapping and decoded is not None else text, kind)
    if len(_interned) >= INTERN_LIMIT:
        _interned.clear()
    _interned[key] = found
    return found
