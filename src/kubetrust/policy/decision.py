"""Decisions are values: the outcome, the reasons, and the problems met on the way.

``authorize`` returns a :class:`Decision` for every request, a denial included; it never
raises because something is not allowed (style anchors B4, Cedar's ``Response``). The
sandbox renders a denial as AWS's ``AccessDenied`` message (:func:`access_denied_message`),
the CLI as an exit code; both read the same value.
"""

from __future__ import annotations

import enum
from typing import Literal, NamedTuple

from kubetrust.policy.document import StatementEffect

ReasonKind = Literal["identity", "resource", "trust", "scp", "rcp", "boundary", "session", "root"]
"""Which policy a reason comes from: a :class:`~kubetrust.policy.document.PolicyKind`'s value,
or ``root`` for the account root user's implicit allow (and its refusal to assume roles)."""

Effect = Literal[StatementEffect, "ImplicitDeny", "NotApplicable"]
"""What a reason says: a statement's effect, ``ImplicitDeny`` for "nothing here allows", or
``NotApplicable`` for an Allow whose condition did not hold (explain's near miss)."""


class Outcome(enum.Enum):
    """The three results of AWS policy evaluation (A.1, A.3)."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


class Reason(NamedTuple):
    """One fact that contributed to a decision.

    ``kind`` is the policy kind (``identity``, ``resource``, ``trust``, ``scp``, ``rcp``,
    ``boundary``, ``session``, or ``root`` for the root user's implicit allow); ``policy``
    names the document (``identity[0]``, ``scp[level 1][0]``); ``statement`` is the Sid or
    ``Statement[i]`` (empty when no statement applied); ``effect`` is ``Allow``, ``Deny``,
    or ``ImplicitDeny`` for "nothing here allows"; ``detail`` says why in words.
    """

    kind: ReasonKind
    policy: str
    statement: str
    effect: Effect
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "policy": self.policy,
            "statement": self.statement,
            "effect": self.effect,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        where = " ".join(p for p in (self.policy, self.statement) if p)
        return f"{self.effect} by {self.kind} {where}: {self.detail}".replace("  ", " ")


class Decision(NamedTuple):
    """The answer to one request: ``outcome``, ``reasons`` and ``problems``."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    problems: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    @property
    def deciding_kind(self) -> ReasonKind | None:
        """For a denial, the policy kind AWS would name in its message."""
        if self.outcome is Outcome.ALLOW:
            return None
        wanted: Effect = "Deny" if self.outcome is Outcome.EXPLICIT_DENY else "ImplicitDeny"
        for reason in self.reasons:
            if reason.effect == wanted:
                return reason.kind
        return "identity"

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.outcome.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "problems": list(self.problems),
        }


_PHRASES = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "trust": "resource-based policy",
    "scp": "service control policy",
    "rcp": "resource control policy",
    "boundary": "permissions boundary",
    "session": "session policy",
}


def access_denied_message(decision: Decision, principal: str, action: str, resource: str) -> str:
    """AWS's AccessDenied text for a denial (A.3).

    ``User: P is not authorized to perform: A on resource: R with an explicit deny in a
    service control policy`` or ``... because no identity-based policy allows the A
    action``.
    """
    head = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    kind = decision.deciding_kind or "identity"
    phrase = _PHRASES.get(kind, "identity-based policy")
    if decision.outcome is Outcome.EXPLICIT_DENY:
        article = "an" if phrase[0] in "aeiou" else "a"
        return f"{head} with an explicit deny in {article} {phrase}"
    return f"{head} because no {phrase} allows the {action} action"
