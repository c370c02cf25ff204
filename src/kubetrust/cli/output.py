"""Exit codes and renderers shared by every command. No decision logic lives here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ExitCode(enum.IntEnum):
    """0 ok, 1 failure, 2 denied or findings, 3 invalid input (docs/architecture.md, "cli")."""

    OK = 0
    FAILURE = 1
    DENIED = 2
    INVALID = 3


def explain_result(result: Mapping[str, Any]) -> str:
    """A readable block for one simulation result."""
    head = f"[{result.get('id')}] "
    if "error" in result:
        return head + f"error: {result['error']}"
    lines = [head + str(result["decision"])]
    for reason in result.get("reasons", []):
        where = " ".join(p for p in (reason["policy"], reason["statement"]) if p)
        lines.append(f"  - {reason['effect']:<13} {reason['kind']:<9} {where}: {reason['detail']}")
    for problem in result.get("problems", []):
        lines.append(f"  ! {problem}")
    return "\n".join(lines)
