"""The plan's vocabulary: actions, changes, plans, and their readable diffs.

A :class:`Change` pairs a desired resource with what the live state needs (``create``,
``update``, ``delete`` or ``noop``), a unified diff a reviewer can read (policy JSON
canonicalized with sorted keys, ConfigMap data key by key), and the live object read, which
apply hands back to the handler so that it writes exactly what the plan showed.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust.provision.resources import Item, Phase, Resource


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "noop"


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "="}


@dataclass(frozen=True, slots=True)
class Change:
    """What one resource needs. ``conflict`` is set when kubetrust refuses to touch it (it
    belongs to someone else); apply does nothing while a plan has conflicts."""

    action: Action
    item: Item
    diff: str = ""
    live: Any = None
    note: str = ""
    conflict: str = ""

    @property
    def resource(self) -> Resource:
        return self.item.resource

    @property
    def unit(self) -> str:
        return self.item.unit

    @property
    def phase(self) -> Phase:
        return self.item.phase

    @property
    def key(self) -> str:
        return self.item.resource.key

    def to_json(self) -> dict[str, Any]:
        kind, _, name = self.key.partition(" ")
        out: dict[str, Any] = {
            "action": str(self.action),
            "kind": kind,
            "name": name,
            "unit": self.unit,
            "phase": self.phase.name.lower(),
            "diff": self.diff,
        }
        if self.note:
            out["note"] = self.note
        if self.conflict:
            out["conflict"] = self.conflict
        return out


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered changes of one spec for one operation (``apply`` or ``destroy``)."""

    spec_name: str
    operation: str
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()
    kubernetes: bool = True
    facts: Any = field(default=None, compare=False)

    @property
    def pending(self) -> list[Change]:
        return [change for change in self.changes if change.action is not Action.NOOP]

    @property
    def conflicts(self) -> list[str]:
        return [f"{change.key}: {change.conflict}" for change in self.changes if change.conflict]

    def counts(self) -> dict[str, int]:
        counts = {str(action): 0 for action in Action}
        for change in self.changes:
            counts[str(change.action)] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec_name,
            "operation": self.operation,
            "summary": self.counts(),
            "conflicts": self.conflicts,
            "warnings": list(self.warnings),
            "changes": [change.to_json() for change in self.changes],
        }


def unified(before: str, after: str, name: str) -> str:
    """A unified diff of two texts (empty when equal); ``name`` labels both sides."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), f"live {name}", f"desired {name}", lineterm=""
    )
    return "\n".join(lines)


def render_data(data: Mapping[str, str] | None) -> str:
    """ConfigMap data as text for a diff: each key, then its value indented."""
    if not data:
        return ""
    blocks = []
    for key in sorted(data):
        body = "\n".join(f"  {line}" if line else "" for line in data[key].splitlines())
        blocks.append(f"{key}: |\n{body}" if body else f"{key}: ''")
    return "\n".join(blocks)
