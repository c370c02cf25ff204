"""The proof of a migration: what every affected principal can do, before and after.

A migration is safe when every principal keeps exactly the access it had. kubetrust can
show that because it evaluates both worlds with the chain code explain uses, so the proof
compares *outcomes*, never configurations:

- an **IAM principal** (a role or user as aws-auth or an access entry names it) on the
  migrated cluster: how the authenticator maps it there (authentication mode, access
  entries first, aws-auth, ``mapAccounts``, templates: reference E.1, D.3) and every
  request of the cluster's probe universe RBAC then allows (:mod:`.equivalence_kube`);
- a **service account**: the AWS role sessions it reaches (IRSA or Pod Identity with its
  ``targetRoleArn``, then every ``sts:AssumeRole`` hop), what those sessions may do in AWS,
  and what each may do on every cluster that maps it (:mod:`.equivalence_aws`).

Lines are canonical and independent of the path (``aws 222222222222: s3:ListAllMyBuckets
on *``, ``k8s target-cluster: list pods in ns default``), so the same access reached
another way counts as the same. :func:`compare` builds one probe universe from both worlds,
so both sides answer the same questions; :func:`proof_record` keeps that universe with the
before side, so that a later world (after an apply, after a rollback) is judged against the
recorded before (:func:`compare_with_record`).

Pure: topologies in, differences out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubetrust import errors
from kubetrust.migrate import equivalence_aws, equivalence_kube
from kubetrust.migrate.equivalence_kube import ClusterProbes, Universe, build_universe
from kubetrust.model.topology import Topology

__all__ = [
    "IAM",
    "SERVICE_ACCOUNT",
    "Capabilities",
    "Difference",
    "Principal",
    "as_json",
    "build_universe",
    "capabilities",
    "compare",
    "compare_with_record",
    "counted",
    "proof_record",
    "render_text",
]

IAM = "iam"
SERVICE_ACCOUNT = "service-account"
SAME, GAINED, LOST, CHANGED = "same", "gained", "lost", "changed"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who the proof is about. ``key``: an IAM principal ARN as aws-auth / access entries
    name it, or ``NAMESPACE/SA``; ``kind``: :data:`IAM` or :data:`SERVICE_ACCOUNT`;
    ``cluster``: the migrated cluster (IAM) or the service account's own cluster."""

    key: str
    kind: str
    cluster: str

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "kind": self.kind, "cluster": self.cluster}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Principal:
        try:
            principal = cls(str(data["key"]), str(data["kind"]), str(data["cluster"]))
        except (KeyError, TypeError) as error:
            raise errors.InputError(f"a recorded principal is malformed: {error}") from None
        if principal.kind not in (IAM, SERVICE_ACCOUNT):
            raise errors.InputError(f"a recorded principal has kind {principal.kind!r}")
        return principal


@dataclass(frozen=True, slots=True)
class Capabilities:
    """How a principal is seen (one line each) and what it can do (canonical lines)."""

    identities: tuple[str, ...]
    allowed: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {"identities": list(self.identities), "allowed": sorted(self.allowed)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Capabilities:
        try:
            return cls(
                tuple(str(i) for i in data["identities"]),
                frozenset(str(a) for a in data["allowed"]),
            )
        except (KeyError, TypeError) as error:
            raise errors.InputError(f"recorded capabilities are malformed: {error}") from None


@dataclass(frozen=True, slots=True)
class Difference:
    """One principal before and after."""

    principal: Principal
    before: Capabilities
    after: Capabilities

    @property
    def lost(self) -> tuple[str, ...]:
        return tuple(sorted(self.before.allowed - self.after.allowed))

    @property
    def gained(self) -> tuple[str, ...]:
        return tuple(sorted(self.after.allowed - self.before.allowed))

    @property
    def verdict(self) -> str:
        """``same``, ``gained``, ``lost`` or ``changed`` (lost some, gained some). Decided
        by what the principal can do only: a new way of being mapped to the same access
        is ``same`` (the identities are shown all the same)."""
        lost, gained = bool(self.lost), bool(self.gained)
        if lost and gained:
            return CHANGED
        return LOST if lost else GAINED if gained else SAME


def capabilities(topology: Topology, principal: Principal, universe: Universe) -> Capabilities:
    """What ``principal`` can do in ``topology``, asked over ``universe``. Raises
    :class:`errors.InputError` for a principal the proof cannot read (a malformed ARN,
    a ``NAMESPACE/SA`` without the slash)."""
    if principal.kind == IAM:
        return _iam_capabilities(topology, principal, universe)
    if principal.kind == SERVICE_ACCOUNT:
        identities, allowed = equivalence_aws.service_account_capabilities(
            topology, principal.cluster, principal.key, universe
        )
        return Capabilities(identities, allowed)
    raise errors.InputError(
        f"principal kind {errors.shown(principal.kind)} is not iam or service-account"
    )


def _iam_capabilities(topology: Topology, principal: Principal, universe: Universe) -> Capabilities:
    """The principal on its cluster; a cluster missing from this world maps nobody."""
    caller = equivalence_kube.caller_for(topology, principal.key)
    found = [c for c in topology.clusters if c.name == principal.cluster]
    if not found:
        line = f"k8s {principal.cluster}: not mapped (the cluster is not in the inputs)"
        return Capabilities((line,), frozenset())
    cluster = found[0]
    identity = equivalence_kube.identify(topology, cluster, caller)
    line = equivalence_kube.identity_line(cluster.name, identity)
    if isinstance(identity, str):
        return Capabilities((line,), frozenset())
    probes = universe.get(cluster.name) or build_universe([topology])[cluster.name]
    return Capabilities((line,), equivalence_kube.allowed_lines(cluster, identity, probes))


def compare(before: Topology, after: Topology, principals: Sequence[Principal]) -> list[Difference]:
    """Every principal's capabilities in both worlds, over one universe built from both."""
    universe = build_universe([before, after])
    return [
        Difference(p, capabilities(before, p, universe), capabilities(after, p, universe))
        for p in principals
    ]


# ------------------------------------------------------------------ the backup's record


def proof_record(
    before: Topology, after: Topology, principals: Sequence[Principal]
) -> dict[str, Any]:
    """What a backup keeps (``migration.json``'s ``proof_before``): the universe built from
    the world before and the planned world after, and every principal's capabilities
    before — so that rollback can judge a later world against it."""
    universe = build_universe([before, after])
    return {
        "universe": {name: probes.as_json() for name, probes in universe.items()},
        "principals": [
            {
                "principal": p.as_json(),
                "capabilities": capabilities(before, p, universe).as_json(),
            }
            for p in principals
        ],
    }


def compare_with_record(record: Mapping[str, Any], now: Topology) -> list[Difference]:
    """Each recorded principal's recorded capabilities (before) against ``now`` (after),
    asked over the recorded universe. Raises :class:`errors.InputError` on a record of
    another shape."""
    try:
        raw_universe = record["universe"]
        entries = record["principals"]
        universe = {str(k): ClusterProbes.from_json(v) for k, v in raw_universe.items()}
        recorded = [
            (Principal.from_json(e["principal"]), Capabilities.from_json(e["capabilities"]))
            for e in entries
        ]
    except (KeyError, TypeError, AttributeError) as error:
        raise errors.InputError(f"the recorded proof is malformed: {error}") from None
    return [Difference(p, caps, capabilities(now, p, universe)) for p, caps in recorded]


# ------------------------------------------------------------------ output


def render_text(differences: Sequence[Difference], *, limit: int = 10) -> str:
    """Per principal: the verdict, the identities before and after when they differ, and
    the first ``limit`` lost and gained lines (then ``... and N more``)."""
    blocks = [_render_one(d, limit) for d in differences]
    if not blocks:
        return "no principal is affected"
    counts = {
        v: sum(1 for d in differences if d.verdict == v) for v in (SAME, GAINED, LOST, CHANGED)
    }
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return "\n".join([*blocks, f"proof: {counted(len(differences), 'principal')}: {summary}"])


def _render_one(difference: Difference, limit: int) -> str:
    principal = difference.principal
    lines = [
        f"{difference.verdict.upper():8} {principal.key} ({principal.kind}, {principal.cluster}): "
        f"{len(difference.before.allowed)} allowed before, {len(difference.after.allowed)} after"
    ]
    if difference.before.identities != difference.after.identities:
        lines += [f"  before: {i}" for i in difference.before.identities]
        lines += [f"  after:  {i}" for i in difference.after.identities]
    else:
        lines += [f"  as: {i}" for i in difference.before.identities]
    lines += _listed("lost", difference.lost, limit)
    lines += _listed("gained", difference.gained, limit)
    return "\n".join(lines)


def _listed(label: str, items: Sequence[str], limit: int) -> list[str]:
    shown = [f"  {label}: {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"  ... and {len(items) - limit} more {label}")
    return shown


def as_json(differences: Sequence[Difference]) -> list[dict[str, Any]]:
    """One object per principal: verdict, identities, counts, every lost and gained line."""
    return [
        {
            "principal": d.principal.as_json(),
            "verdict": d.verdict,
            "before": {
                "identities": list(d.before.identities),
                "allowed_count": len(d.before.allowed),
            },
            "after": {
                "identities": list(d.after.identities),
                "allowed_count": len(d.after.allowed),
            },
            "lost": list(d.lost),
            "gained": list(d.gained),
        }
        for d in differences
    ]


def counted(number: int, noun: str) -> str:
    """``1 principal``, ``2 principals``: the count and the noun, as a person writes them."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
