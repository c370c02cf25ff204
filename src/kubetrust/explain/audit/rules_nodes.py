"""Audit rule over clusters' nodes: the node role every pod reaches through IMDS.

A pod whose service account has neither IRSA nor Pod Identity gets the node's instance role
from IMDS unless IMDS is blocked for pods (reference H.5; :mod:`kubetrust.explain.node_role`)
— and any pod can simply ignore its own credentials and ask IMDS. So on a cluster whose node
groups let pods through, whatever the node role can do or assume, every pod can: the seed's
"node role" anti-pattern (permissions on the instance role instead of IRSA).

Severity, by what the node role reaches (the reach graph, :mod:`.reach`, walked forwards):

- ``high``: a role of another account (unconditionally), or a Kubernetes identity in another
  cluster (its session, or a role it reaches, mapped there: :mod:`kubetrust.chain.kube_links`);
- ``medium``: only roles of its own account, another account's under a condition the inputs
  cannot settle, an identity in its own cluster through another role, or permissions of its
  own beyond the EKS worker-node baseline (:data:`BASELINE_POLICIES`) — or the role is not in
  the inputs, so what it can do is unknown;
- ``low``: the baseline alone (EKS still recommends blocking pods from it).

No finding when IMDS is blocked for pods on every node group carrying the role, or when the
inputs do not hold the cluster's nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from kubetrust.chain import kube_links
from kubetrust.explain import node_role
from kubetrust.explain.audit.context import AuditContext
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology

RULE = "node-role-imds"
BASELINE_POLICIES = frozenset(
    {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }
)
"""The AWS managed policies EKS documents for a node role (reference H.5): a node role with
only these is the worker baseline, not a finding above ``low``."""
SHOWN = 5
"""How many reached roles and identities the message names (details list them all)."""


@dataclass(frozen=True, slots=True)
class Exposure:
    """What an exposed node role gives every pod: the roles it reaches (``(ARN,
    conditional)``), the Kubernetes identities its sessions map to (``(cluster, text)``) and
    its policies beyond the baseline."""

    reached: tuple[tuple[str, bool], ...]
    identities: tuple[tuple[str, str], ...]
    extra_policies: tuple[str, ...]


def exposed_node_roles(ctx: AuditContext) -> Iterator[Finding]:
    """One finding per exposed instance role of each cluster's nodes (module doc)."""
    for cluster in ctx.topology.clusters:
        for start in node_role.starts(cluster):
            if start.exposed:
                yield _finding(ctx, cluster, start)


def _finding(ctx: AuditContext, cluster: Cluster, start: node_role.NodeRoleStart) -> Finding:
    lead = (
        f"every pod on the nodes of cluster {cluster.info.name} can act as the node role "
        f"{start.role_arn} (IMDS reachable: {start.why})"
    )
    where = f"{cluster.info.arn} nodes ({start.group_names})"
    role = ctx.topology.role(start.role_arn)
    if role is None:
        return Finding(
            RULE,
            Severity.MEDIUM,
            where,
            f"{lead}; the role is not in the inputs, so what it can do is unknown",
            node_role.NODE_ROLE_FIX,
            {"role": start.role_arn, "imds": start.why},
        )
    exposure = exposure_of(ctx, cluster, role)
    return Finding(
        RULE,
        _severity(role, cluster, exposure),
        where,
        lead + _reach_text(exposure),
        node_role.NODE_ROLE_FIX,
        {
            "role": role.arn,
            "imds": start.why,
            "reaches": [{"role": r, "conditional": c} for r, c in exposure.reached],
            "kubernetes": [{"cluster": c, "identity": i} for c, i in exposure.identities],
            "beyond_baseline": list(exposure.extra_policies),
        },
    )


def exposure_of(ctx: AuditContext, cluster: Cluster, role: Role) -> Exposure:
    """What ``role``'s session reaches (module doc)."""
    reached = forward(ctx, role.arn)
    mapped: list[tuple[str, str]] = []
    sessions = [role.arn, *(arn for arn, conditional in reached if not conditional)]
    for target in ctx.topology.clusters:
        for session_role in sessions:
            if target is cluster and session_role == role.arn:
                continue  # the node role's own mapping in its cluster: the nodes' identity
            text = _identity(ctx.topology, target, session_role)
            if text is not None:
                mapped.append((target.info.name, text))
    return Exposure(tuple(reached), tuple(mapped), _beyond_baseline(role))


def forward(ctx: AuditContext, role_arn: str) -> list[tuple[str, bool]]:
    """Every role reachable from ``role_arn``'s session over the reach graph's edges, and
    whether every path to it is conditional (breadth-first)."""
    outgoing: dict[str, list[tuple[str, bool]]] = {}
    for target, sources in ctx.reach.incoming.items():
        for key, conditions in sources:
            outgoing.setdefault(key, []).append((target, bool(conditions)))
    seen: dict[str, bool] = {}
    queue: deque[tuple[str, bool]] = deque([(role_arn, False)])
    while queue:
        node, conditional = queue.popleft()
        for target, needs in outgoing.get(node, ()):
            via_condition = conditional or needs
            if target == role_arn or (target in seen and (not seen[target] or via_condition)):
                continue
            seen[target] = via_condition
            queue.append((target, via_condition))
    return sorted(seen.items())


def _identity(topology: Topology, cluster: Cluster, role_arn: str) -> str | None:
    role = topology.role(role_arn)
    if role is None:
        return None
    _, identity = kube_links.kube_identity(topology, cluster, role)
    if identity is None:
        return None
    groups = f" (groups {', '.join(identity.groups)})" if identity.groups else ""
    return f"{role.name} → user {identity.username}{groups}"


def _beyond_baseline(role: Role) -> tuple[str, ...]:
    """The role's inline policies and attached policies outside the worker baseline."""
    inline = [document.name for document in role.inline]
    attached = [
        policy
        for policy in role.attached
        if not (":iam::aws:policy/" in policy and policy.rsplit("/", 1)[-1] in BASELINE_POLICIES)
    ]
    return (*inline, *attached)


def _severity(role: Role, cluster: Cluster, exposure: Exposure) -> Severity:
    other_account = any(
        not conditional and arn.split(":")[4] != role.account
        for arn, conditional in exposure.reached
    )
    other_cluster = any(name != cluster.info.name for name, _ in exposure.identities)
    if other_account or other_cluster:
        return Severity.HIGH
    if exposure.reached or exposure.identities or exposure.extra_policies:
        return Severity.MEDIUM
    return Severity.LOW


def _reach_text(exposure: Exposure) -> str:
    parts = []
    if exposure.reached:
        names = [arn + (" (if its conditions hold)" if c else "") for arn, c in exposure.reached]
        parts.append("which can sts:AssumeRole into " + _listed(names))
    if exposure.identities:
        names = [f"{text} in cluster {name}" for name, text in exposure.identities]
        parts.append("whose sessions map to " + _listed(names))
    if exposure.extra_policies:
        parts.append(
            "with permissions beyond the EKS worker baseline: "
            + _listed(list(exposure.extra_policies))
        )
    if not parts:
        return "; it holds the EKS worker-node baseline policies only"
    return ", " + "; ".join(parts)


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more
