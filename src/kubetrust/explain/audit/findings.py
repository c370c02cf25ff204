"""Audit findings as values: what, how bad, where, and the fix.

Every rule returns :class:`Finding` values; nothing in a rule prints or exits. Severity
orders findings (``critical`` first); ``info`` findings (the reachability report) are shown
but do not count as problems: ``kubetrust audit`` exits 2 only for ``low`` and above.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: ``rule`` (a stable id), ``severity``, ``location`` (a role ARN, a file
    and entry, a profile), ``message`` (what is wrong and why it matters), ``fix``, and
    ``details`` (structured data for JSON)."""

    rule: str
    severity: Severity
    location: str
    message: str
    fix: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "location": self.location,
            "message": self.message,
            "fix": self.fix,
            "details": dict(self.details),
        }
