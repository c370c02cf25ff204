"""``kubetrust audit``: least-privilege findings over a whole topology.

Rules are plain functions ``AuditContext → Iterator[Finding]`` in a registry (style habit 4,
PMapper's ``checker_map``); :func:`run_audit` runs them and sorts the findings (severity,
then rule, then location). The reachability report — for every target role, every
principal that can reach it — is computed once and returned with the findings as ``info``
findings (:mod:`kubetrust.explain.audit.reach`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from kubetrust.explain.audit import (
    reach,
    rules_cluster,
    rules_iam,
    rules_nodes,
    rules_pod_identity,
)
from kubetrust.explain.audit.context import AuditContext
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.explain.gcpause import paused_gc
from kubetrust.model.topology import Topology

Rule = Callable[[AuditContext], Iterator[Finding]]

SHOWN_REACHERS = 20
"""How many principals a reach finding names in its message (JSON lists them all)."""


def reach_report(ctx: AuditContext) -> Iterator[Finding]:
    """For every target role, every principal with a path to it (info)."""
    graph = ctx.reach
    for role in reach.targets(ctx.topology, graph):
        found = reach.reachers(graph, role.arn)
        kinds: dict[str, int] = {}
        for source, _ in found:
            kinds[source.kind] = kinds.get(source.kind, 0) + 1
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        names = [s.label + (" (if its conditions hold)" if c else "") for s, c in found]
        shown = "; ".join(names[:SHOWN_REACHERS])
        more = f"; and {len(names) - SHOWN_REACHERS} more" if len(names) > SHOWN_REACHERS else ""
        yield Finding(
            "reach",
            Severity.INFO,
            role.arn,
            f"reachable by {len(found)} principal(s) ({counts}): {shown}{more}",
            "check that each is intended; narrow trust policies that admit more",
            {
                "reachers": [
                    {"kind": s.kind, "principal": s.key, "label": s.label, "conditional": c}
                    for s, c in found
                ]
            },
        )


RULES: Mapping[str, Rule] = {
    "irsa-trust": rules_iam.irsa_trusts,
    "root-trust": rules_iam.root_trusts,
    "principal-deleted": rules_iam.dangling_principals,
    "public-idp-trust": rules_iam.public_idp_trusts,
    "trust-size": rules_iam.trust_size,
    "node-roles": rules_iam.node_roles,
    "node-role-imds": rules_nodes.exposed_node_roles,
    "session-duration": rules_iam.chained_durations,
    "aws-auth-masters": rules_cluster.aws_auth_masters,
    "aws-auth-problems": rules_cluster.aws_auth_problems,
    "access-entries": rules_cluster.access_entry_overrides,
    "pod-identity-trust-open": rules_pod_identity.open_trusts,
    "pod-identity-target-trust": rules_pod_identity.target_trusts,
    "irsa-and-pod-identity": rules_pod_identity.both_federations,
    "pod-identity-agent-missing": rules_pod_identity.agent_missing,
    "reach": reach_report,
}


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Findings (sorted, most severe first) and the input problems met while loading."""

    findings: tuple[Finding, ...]
    problems: tuple[str, ...] = ()
    edges: int = 0

    @property
    def has_findings(self) -> bool:
        """Whether any finding is ``low`` or worse (``info`` does not count)."""
        return any(f.severity > Severity.INFO for f in self.findings)


NEEDS_REACH = frozenset({"node-roles", "node-role-imds", "session-duration", "reach"})
"""The rules that read the reach graph. The others run while its edges are judged (on a
large organization, while a forked child judges most of them: :func:`run_audit`); one of
them asking for the graph fails loudly (``AuditContext.build_reach``), so this list cannot
silently go stale."""


def run_audit(topology: Topology, rules: Mapping[str, Rule] = RULES) -> AuditReport:
    """Run ``rules`` over ``topology`` (module doc). When some need the reach graph, it is
    built first, and the rules that do not need it run while its edges are judged; the
    findings are the same as running each rule in turn."""
    ctx = AuditContext(topology)
    found: dict[str, list[Finding]] = {}

    def without_reach() -> None:
        for name, rule in rules.items():
            if name not in NEEDS_REACH:
                found[name] = list(rule(ctx))

    with paused_gc():
        if NEEDS_REACH.intersection(rules):
            ctx.build_reach(meanwhile=without_reach)
        for name, rule in rules.items():
            if name not in found:
                found[name] = list(rule(ctx))
    findings = [finding for name in rules for finding in found[name]]
    findings.sort(key=lambda f: (-f.severity, f.rule, f.location))
    edges = ctx.reach.edges if ctx.has_reach else 0
    return AuditReport(tuple(findings), tuple(str(p) for p in topology.problems), edges)


__all__ = [
    "NEEDS_REACH",
    "RULES",
    "AuditContext",
    "AuditReport",
    "Finding",
    "Severity",
    "run_audit",
]
