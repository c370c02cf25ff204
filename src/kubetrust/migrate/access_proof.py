"""aws-auth → access entries: the proof, and who would lose what and why (issue 15, item 3).

Pure. :func:`prove` compares, with :func:`kubetrust.migrate.equivalence.compare`, what every
affected principal (:func:`.access_after.affected_principals`) can do on the cluster before
and after the migration; :func:`losses` turns each loss into a sentence that says who, what
and why (the mapping not carried and its reason, the aws-auth mapping removed, or the mode
that stops reading aws-auth). :func:`refusal` says whether ``--apply`` must refuse: any loss
not accepted by name, and *always* a loss of the caller's own access (it would lock the
migration itself out, issue 15: "never removes the caller's own access").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubetrust import errors
from kubetrust.chain.access_entries import strip_role_path
from kubetrust.migrate import equivalence
from kubetrust.migrate.access_after import (
    AccessMove,
    affected_principals,
    with_creator,
    world_after,
)
from kubetrust.migrate.access_plan import NotCarried
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import API

__all__ = ["Loss", "Proof", "losses", "principals_of", "prove", "recheck", "refusal"]


@dataclass(frozen=True, slots=True)
class Loss:
    """A principal that would lose access: what it loses and why."""

    principal: str
    lost: tuple[str, ...]
    why: str
    caller: bool


@dataclass(frozen=True, slots=True)
class Proof:
    """The worlds compared and the differences found."""

    before: Topology
    after: Topology
    principals: tuple[equivalence.Principal, ...]
    differences: tuple[equivalence.Difference, ...]


def principals_of(move: AccessMove, extra: Sequence[str] = ()) -> tuple[equivalence.Principal, ...]:
    """The IAM principals the proof compares on the migrated cluster."""
    names = list(affected_principals(move))
    seen = {_norm(n) for n in names}
    names += [n for n in extra if _norm(n) not in seen]
    cluster = move.cluster.name
    return tuple(equivalence.Principal(name, equivalence.IAM, cluster) for name in names)


def prove(world: Topology, move: AccessMove) -> Proof:
    """Before (``world`` and the creator's invisible mapping) against the world the
    migration leaves."""
    before = with_creator(world, move.cluster.info.arn, move.creator)
    after = world_after(before, move)
    principals = principals_of(move)
    differences = equivalence.compare(before, after, principals)
    return Proof(before, after, principals, tuple(differences))


def losses(proof: Sequence[equivalence.Difference], move: AccessMove) -> list[Loss]:
    """Each principal that loses something, with the reason."""
    found = []
    for difference in proof:
        if not difference.lost:
            continue
        who = difference.principal.key
        found.append(Loss(who, difference.lost, _why(who, move), _same(who, move.caller)))
    return found


def _why(principal: str, move: AccessMove) -> str:
    item = _not_carried(principal, move.plan.not_carried)
    if item is not None:
        unread = " and with --mode API aws-auth is no longer read" if move.mode_after == API else ""
        return f"mapping {item.source} not carried: {item.reason}{unread} ({item.manual})"
    entry = next((e for e in move.plan.entries if _same(principal, e.principal_arn)), None)
    if entry is not None and entry.dropped_groups:
        return (
            f"its {entry.type} entry puts it in system:nodes only, and RBAC gives the dropped "
            f"group(s) {', '.join(entry.dropped_groups)} more than system:nodes (bind those "
            "roles to system:nodes too, as EKS's own eks:node-bootstrapper binding does, "
            "reference E.6)"
        )
    if entry is not None:
        return "its new access entry grants less than its aws-auth mapping did"
    if move.mode_after == API:
        return "with --mode API aws-auth is no longer read, and no access entry maps it"
    if move.removed_keys:
        return "its aws-auth mapping is removed (--remove-aws-auth-entries)"
    return "the migration changes how the cluster maps it"


def _not_carried(principal: str, items: Sequence[NotCarried]) -> NotCarried | None:
    return next((i for i in items if _same(principal, i.what)), None)


def _same(one: str, other: str) -> bool:
    return _norm(one) == _norm(other)


def _norm(principal: str) -> str:
    """A principal as the authenticator compares it (path removed, case ignored); a name
    that is no ARN (an account id, a typo in --accept-loss) as it is."""
    try:
        return strip_role_path(principal).lower()
    except errors.InvalidArnError:
        return principal.lower()


def refusal(found: Sequence[Loss], accepted: Sequence[str], move: AccessMove) -> list[str]:
    """Why ``--apply`` must not go on (empty: it may): losses not named by
    ``--accept-loss``, the caller's own in any case, and with ``--mode API`` every mapping
    not carried (its principals would be locked out) not named either."""
    reasons = []
    for loss in found:
        if loss.caller:
            reasons.append(
                f"{loss.principal} (you, the caller) would lose access: {loss.why}; kubetrust "
                "never removes the caller's own access, --accept-loss does not change that"
            )
        elif not any(_same(loss.principal, a) for a in accepted):
            reasons.append(f"{loss.principal} would lose access: {loss.why}")
    if move.mode_after == API:
        for item in move.plan.not_carried:
            named = any(_same(item.what, a) or item.what == a for a in accepted)
            if not named and not any(_same(item.what, loss.principal) for loss in found):
                reasons.append(
                    f"{item.what} ({item.source}) would be locked out by --mode API: "
                    f"{item.reason} ({item.manual})"
                )
    return reasons


def recheck(
    proof: Proof, move: AccessMove, now: Topology
) -> tuple[list[equivalence.Difference], list[str]]:
    """The world re-read after apply against the world before, per principal; and each way
    it differs from what the proof showed. A principal with an access entry now that neither
    existed nor was planned (EKS's entry for a creator the plan could not know, E.1) is
    compared too."""
    now = with_creator(now, move.cluster.info.arn, move.creator)
    cluster = next((c for c in now.clusters if c.info.arn == move.cluster.info.arn), None)
    known = {_norm(p.key) for p in proof.principals}
    extra = [
        e.principal_arn
        for e in (cluster.access_entries if cluster is not None else ())
        if _norm(e.principal_arn) not in known
    ]
    principals = principals_of(move, extra)
    found = equivalence.compare(proof.before, now, principals)
    planned = {d.principal.key: d for d in proof.differences}
    unexpected = []
    for difference in found:
        expected = planned.get(difference.principal.key)
        if expected is None:
            if difference.verdict != "same":
                unexpected.append(
                    f"{difference.principal.key}: {difference.verdict} — it has an access entry "
                    "the plan did not make (EKS makes one for the cluster creator when the "
                    "cluster leaves CONFIG_MAP, E.1; or someone else made it)"
                )
        elif difference.after.allowed != expected.after.allowed:
            unexpected.append(
                f"{difference.principal.key}: proven {expected.verdict}, found "
                f"{difference.verdict} (a change made meanwhile, or one EKS has not shown yet)"
            )
    return found, unexpected
