"""Shared pieces of the fix rules: the :class:`Fix` value and the wording helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kubetrust import arn
from kubetrust.model.topology import Topology


@dataclass(frozen=True, slots=True)
class Fix:
    """Why the link failed and the smallest change that makes it pass."""

    cause: str
    action: str
    snippet: str = ""

    @property
    def text(self) -> str:
        return f"{self.cause}: {self.action}" if self.action else self.cause

    def as_dict(self) -> dict[str, str]:
        return {"cause": self.cause, "action": self.action, "snippet": self.snippet}


# ---------------------------------------------------------------------- wording helpers


def name_of(role_arn: str) -> str:
    """The role's name for prose (``ci-account-iam-role``)."""
    try:
        return arn.parse(role_arn).resource_name
    except Exception:
        return role_arn


def statement_json(statement: Mapping[str, object]) -> str:
    """A policy statement, indented for pasting."""
    return json.dumps(statement, indent=2)


MAX_TYPO_EDITS = 2


def closest(wanted: str, candidates: Iterable[str]) -> str | None:
    """The candidate that looks like a typo of ``wanted``: at most two edits apart (and not
    more than a quarter of the word), the nearest first. A similarity ratio is not enough:
    in ``system:serviceaccount:ci-namespace:ci-serviceaccount`` a long shared prefix makes
    ``other-serviceaccount`` look "close" when it is another name, not a typo."""
    best: tuple[int, str] | None = None
    for candidate in candidates:
        if candidate == wanted:
            continue
        limit = min(MAX_TYPO_EDITS, max(1, len(wanted) // 4))
        edits = _edits(wanted, candidate, limit)
        if edits <= limit and (best is None or edits < best[0]):
            best = (edits, candidate)
    return best[1] if best else None


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def unknown_role(role_arn: str, topology: Topology, *, what: str) -> Fix:
    """A role the inputs do not hold: a typo, or a missing account dump."""
    try:
        parsed = arn.parse(role_arn)
    except Exception:
        return Fix(f"`{role_arn}` is not a role ARN", f"fix the {what}")
    account = topology.accounts.get(parsed.account)
    if account is None:
        return Fix(
            f"account {parsed.account} is not in the inputs, so role `{parsed.resource_name}` "
            "cannot be evaluated",
            f"add that account's `aws iam get-account-authorization-details` output to the "
            f"bundle (accounts/{parsed.account}/authorization-details.json)",
        )
    guess = closest(parsed.resource_name, (r.name for r in account.roles.values()))
    hint = f"; did you mean `{guess}`?" if guess else ""
    return Fix(
        f"account {parsed.account} has no role `{parsed.resource_name}`{hint}",
        f"fix the {what}, or create the role",
    )
