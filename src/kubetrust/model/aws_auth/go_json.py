"""Go's ``encoding/json`` decoding a JSON object into a struct, as the authenticator's
``mapRoles``/``mapUsers`` go YAML -> JSON (``sigs.k8s.io/yaml``, keys sorted) -> Go struct.

Hence: field names match *ignoring case*, unknown fields are ignored, and a value of the wrong
type leaves its field empty while the rest of the entry is kept. Every such decision comes back
as a :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from kubetrust import errors

from .mappings import Problem

STRING: Final = "a string"
STRINGS: Final = "a list of strings"
MAPPING: Final = "a mapping"


def decode_struct(
    raw: object, fields: Mapping[str, str], path: str, problems: list[Problem]
) -> dict[str, object]:
    """Decode one mapping as Go's ``encoding/json`` decodes a JSON object into a struct.

    Field names match ignoring case; unknown keys are ignored; ``null`` leaves a string field
    as it was and empties a list or pointer field; a value of the wrong type leaves the field
    as it was and is reported. ``sigs.k8s.io/yaml`` hands the keys over sorted, so of two
    spellings of one field (``Username``, ``username``) the one sorting last wins.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"expected a mapping, got {kind_of(raw)}"))
        return {}
    decoded: dict[str, object] = {}
    for key in sorted(raw, key=_go_key):
        name = _go_key(key)
        wanted = fields.get(name.lower())
        if wanted is None:
            problems.append(Problem(f"{path}.{name}", "unknown field ignored"))
            continue
        _decode_field(decoded, name.lower(), wanted, raw[key], f"{path}.{name}", problems)
    return decoded


def _decode_field(
    decoded: dict[str, object],
    field: str,
    wanted: str,
    value: object,
    path: str,
    problems: list[Problem],
) -> None:
    if value is None:
        if wanted != STRING:
            decoded[field] = None
        return
    if wanted == STRING and isinstance(value, str):
        decoded[field] = value
    elif wanted == STRINGS and isinstance(value, list):
        decoded[field] = _string_items(value, path, problems)
    elif wanted == MAPPING and isinstance(value, dict):
        decoded[field] = value
    else:
        consequence = "the field stays empty" if field not in decoded else "the earlier value stays"
        problems.append(
            Problem(path, f"expected {wanted}, got {kind_of(value)} {_shown(value)}; {consequence}")
        )


def _string_items(items: Sequence[object], path: str, problems: list[Problem]) -> tuple[str, ...]:
    """List elements into ``[]string``: a ``null`` or mistyped element becomes ``""``."""
    out: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            out.append(item)
            continue
        if item is not None:
            problems.append(
                Problem(
                    f"{path}[{index}]",
                    f"expected a string, got {kind_of(item)} {_shown(item)}; it becomes an "
                    "empty group",
                )
            )
        out.append("")
    return tuple(out)


def _go_key(key: object) -> str:
    """A YAML mapping key as ``sigs.k8s.io/yaml`` turns it into a JSON key."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _shown(value: object) -> str:
    return errors.shown(value) if isinstance(value, str | int | float | bool) else ""
