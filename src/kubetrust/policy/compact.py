"""A policy document's compact JSON text: what IAM counts as its size, and what a role's
trust text is kept as (the audit's trust-size rule, the Pod Identity migration's edits).

Why in :mod:`kubetrust.policy`: the interning of parsed documents
(:mod:`kubetrust.policy.interning`) hands each document out with its text, and the model's
readers and the migration use the same text.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_C_MAKE_ENCODER: Callable[..., Callable[[object, int], Sequence[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_FAST_COMPACT = (
    _C_MAKE_ENCODER(
        None, _COMPACT.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if _C_MAKE_ENCODER is not None
    else None
)
"""What ``_COMPACT.encode`` runs, made once: ``json.dumps`` builds an encoder per call and
``encode`` its C part per call, a measurable share of loading a million roles (every
distinct document is encoded; ``benchmarks/scale.py``). Without the
circular-reference check, so on any error the document goes through ``_COMPACT``, which
raises exactly what ``json.dumps`` does."""


def compact_json(document: Mapping[str, Any]) -> str:
    """The document without insignificant whitespace: how IAM counts a policy's size."""
    if _FAST_COMPACT is not None and type(document) is dict:
        try:
            return "".join(_FAST_COMPACT(document, 0))
        except Exception:  # re-done below, which raises what json.dumps raises
            pass
    return _COMPACT.encode(document)


__all__ = ["compact_json"]
