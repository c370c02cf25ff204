"""Shared pieces of the fix rules: the :class:`Fix` value and the wording helpers."""

from __future__ import annotations

import difflib
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


def closest(wanted: str, candidates: Iterable[str]) -> str | None:
    """The candidate that looks like a typo of ``wanted``, if one is close enough."""
    found = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=0.8)
    return found[0] if found else None


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
