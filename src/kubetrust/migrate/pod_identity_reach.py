"""Where an IRSA role's sessions go next, and what the Pod Identity path needs on the way.

A pod that moves from IRSA to Pod Identity keeps its role, but its session now carries
EKS's six session tags, all transitive (reference F.1). STS sets transitive tags again on
every later ``sts:AssumeRole`` of the chain, so each such hop asks for ``sts:TagSession``
besides ``sts:AssumeRole`` ([seen] aws/copilot-cli#5358, reference B.6; the sandbox and
explain decide it so, :func:`kubetrust.chain.sts.assume_role`): on the next role's trust for
the caller and, across accounts, in the caller's identity policy too (A.2). :func:`reach`
finds those hops — the edges audit's reach graph judges (:mod:`kubetrust.chain.graph`),
followed from the role a few hops deep — and :func:`tag_session_gaps` says which side of
each lacks ``sts:TagSession``.

Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubetrust.chain import graph, paths
from kubetrust.model.iam import Role
from kubetrust.model.topology import Topology
from kubetrust.policy.document import PolicyDocument

MAX_DEPTH = 4
"""How many ``sts:AssumeRole`` hops past the service account's own role are followed."""
CHAIN_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession"})


@dataclass(frozen=True, slots=True)
class Hop:
    """An allowed ``sts:AssumeRole`` from ``caller`` into ``role``."""

    caller: Role
    role: Role

    @property
    def cross_account(self) -> bool:
        return self.caller.account != self.role.account


@dataclass(frozen=True, slots=True)
class Gap:
    """One hop of the new path that lacks ``sts:TagSession``: on the role's trust for the
    caller (``trust``), in the caller's identity policy (``identity``), or both."""

    hop: Hop
    trust: bool
    identity: bool


def reach(topology: Topology, start: Role, depth: int = MAX_DEPTH) -> list[Hop]:
    """Every allowed hop from ``start`` onwards (breadth first, each role once)."""
    index = graph.TrustIndex.build(topology.roles())
    judge = graph.EdgeJudge(topology)
    hops: list[Hop] = []
    seen = {start.arn}
    frontier = [start]
    for _ in range(depth):
        following: list[Role] = []
        for caller in frontier:
            for role in paths.assume_candidates(topology, index, caller):
                if not judge.judge(caller, role).allowed:
                    continue
                hops.append(Hop(caller, role))
                if role.arn not in seen:
                    seen.add(role.arn)
                    following.append(role)
        frontier = following
    return hops


def first_hops(hops: list[Hop], start: Role) -> list[Role]:
    """The roles ``start`` itself assumes into, in another account (the targets)."""
    return [hop.role for hop in hops if hop.caller.arn == start.arn and hop.cross_account]


def tag_session_gaps(topology: Topology, hops: list[Hop]) -> list[Gap]:
    """The hops whose trust or (across accounts) caller policy lacks ``sts:TagSession``."""
    gaps: list[Gap] = []
    for hop in hops:
        trust = not _trust_allows_tags(hop.role.trust, hop.caller)
        identity = hop.cross_account and not _identity_allows_tags(topology, hop)
        if trust or identity:
            gaps.append(Gap(hop, trust, identity))
    return gaps


def _trust_allows_tags(trust: PolicyDocument | None, caller: Role) -> bool:
    """An unconditioned Allow of ``sts:TagSession`` naming the caller, its account or
    everyone. A conditioned one is not counted: the conditions are the user's to keep, and
    the migration adds its own narrow statement next to them."""
    if trust is None:
        return False
    for statement in trust.statements:
        if statement.effect != "Allow" or statement.conditions or statement.principal is None:
            continue
        if not graph.action_matches(statement, "sts:tagsession"):
            continue
        block = statement.principal
        names = {entry.lower() for entry in block.aws}
        accepted = {caller.arn.lower(), caller.account, f"arn:aws:iam::{caller.account}:root"}
        if block.everyone or names & accepted:
            return True
    return False


def _identity_allows_tags(topology: Topology, hop: Hop) -> bool:
    for named in topology.permissions(hop.caller).identity:
        for statement in named.document.statements:
            if statement.effect != "Allow" or statement.conditions:
                continue
            if not graph.action_matches(statement, "sts:tagsession"):
                continue
            if statement.resource and graph.patterns_match(statement.resource, hop.role.arn):
                return True
    return False


def own_permissions(topology: Topology, role: Role) -> list[str]:
    """The actions ``role`` is allowed beyond assuming roles: what a ``targetRoleArn``
    association would take from the pod, which then holds only the target's session."""
    found: list[str] = []
    for named in topology.permissions(role).identity:
        for statement in named.document.statements:
            if statement.effect != "Allow":
                continue
            if statement.not_action is not None:
                found.append(f"NotAction {', '.join(statement.not_action)} ({named.name})")
                continue
            found += [
                f"{action} ({named.name})"
                for action in statement.action or ()
                if action.lower() not in CHAIN_ACTIONS
            ]
    return found
