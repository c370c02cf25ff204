"""Parse each distinct policy document once and share the parsed value.

Real organizations repeat the same documents everywhere: AWS managed policies in every
account, boundaries and trusts stamped out by templates and modules. A parsed
:class:`~kubetrust.policy.document.PolicyDocument` is immutable, so every equal document
(same value, same kind) can be one object: parsed once, held once in memory, compiled once
by the evaluator (which caches by object). Its compact JSON text
(:func:`~kubetrust.policy.compact.compact_json`) is kept beside it and shared the same way.

The key is the decoded mapping's :mod:`marshal` bytes, not its JSON text: marshal writes a
dict of strings and numbers about three times faster than the JSON encoder, and a million
roles repeat most of their documents. Marshal's bytes load back to an equal value, so equal
bytes are equal documents; two equal documents may still give different bytes (marshal
marks strings shared by identity or interned), which only parses one of them again. A value
marshal cannot write (a mapping type of its own) is keyed by its JSON text instead.

On a miss the already decoded mapping is parsed directly when that gives the same result as
parsing the text — always, except for JSON numbers with a fraction or exponent, which
:func:`~kubetrust.policy.validate.parse_policy` reads from text as decimals exactly as
written, so those documents go through the text. A caller that decoded the whole file
knowing it held no such number says so (``numbers_exact``) and saves the search for one.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Mapping
from typing import Any, cast

from kubetrust.policy.compact import compact_json
from kubetrust.policy.document import PolicyDocument, PolicyKind
from kubetrust.policy.validate import MAX_DOCUMENT_CHARS, parse_policy

INTERN_LIMIT = 65536
"""Distinct documents kept; the table is emptied when full (a bound, not an LRU: what was
already handed out stays shared, and a later equal document simply parses again)."""

_NON_INTEGER = re.compile(r"[\[:,]-?(?:\d+[.eE]|Infinity|NaN)")
"""A number token with a fraction or an exponent (or a non-finite one) in compact JSON
text: numbers follow ``[``, ``:`` or ``,`` there. A string that looks like one only sends
the document down the (always exact) text path."""

Interned = tuple[PolicyDocument, str]
"""A parsed document and its compact JSON text."""

_interned: dict[tuple[bytes | str, PolicyKind], Interned] = {}


def intern_document(
    decoded: Mapping[str, Any], kind: PolicyKind, *, numbers_exact: bool = False
) -> Interned:
    """The document ``decoded`` parsed as ``kind``, and its compact JSON text: the same
    objects for equal documents (module doc). ``numbers_exact`` says that ``decoded`` holds
    no number decoded from a fraction, an exponent or a non-finite constant (the caller
    decoded its file and saw none). Raises :class:`~kubetrust.errors.PolicyParseError` as
    :func:`~kubetrust.policy.validate.parse_policy` does (errors are not cached), and what
    JSON encoding raises for a value JSON cannot hold."""
    try:
        key: bytes | str = marshal.dumps(cast(Any, decoded))  # refuses with ValueError
    except ValueError:  # a type marshal does not write: keyed by the text
        key = compact_json(decoded)
    found = _interned.get((key, kind))
    if found is not None:
        return found
    text = key if isinstance(key, str) else compact_json(decoded)
    found = (_parse(text, kind, decoded, numbers_exact), text)
    _remember((key, kind), found)
    return found


def parse_interned(
    text: str, kind: PolicyKind, decoded: Mapping[str, Any] | None = None
) -> PolicyDocument:
    """The document whose compact JSON text is ``text``, parsed as ``kind``: the same
    object for equal texts. ``decoded`` is ``json.loads(text)`` when the caller has it
    (saves decoding again). Raises as :func:`intern_document` does."""
    found = _interned.get((text, kind))
    if found is not None:
        return found[0]
    document = _parse(text, kind, decoded, numbers_exact=False)
    _remember((text, kind), (document, text))
    return document


def _parse(
    text: str, kind: PolicyKind, decoded: Mapping[str, Any] | None, numbers_exact: bool
) -> PolicyDocument:
    """Parse from the mapping where that is exact (module doc), else from the text."""
    exact_as_mapping = (
        decoded is not None
        and len(text) <= MAX_DOCUMENT_CHARS
        and (numbers_exact or _NON_INTEGER.search(text) is None)
    )
    return parse_policy(decoded if exact_as_mapping and decoded is not None else text, kind)


def _remember(key: tuple[bytes | str, PolicyKind], found: Interned) -> None:
    if len(_interned) >= INTERN_LIMIT:
        _interned.clear()
    _interned[key] = found


__all__ = ["INTERN_LIMIT", "Interned", "intern_document", "parse_interned"]
