"""The node-role fallback: a pod with neither IRSA nor Pod Identity acts as its node's role.

The SDKs' credential chain ends at the instance metadata service: on EKS a pod whose service
account has no ``eks.amazonaws.com/role-arn`` annotation and no Pod Identity association
gets the credentials of the node's instance role through IMDS — unless IMDS is blocked for
pods (reference H.5: IMDSv2 required with a hop limit of 1). That is the seed's "node role"
anti-pattern: whatever the node role can do, or assume, every pod on those nodes can.

This module decides when explain follows that path (:func:`falls_back`), the first link of
the chain (``imds``: pod → node role, allowed when the node group's IMDS settings let pods
through, :func:`kubetrust.model.eks.pods_reach_imds`), its fix when blocked, and the notes
that name the anti-pattern. The hops after it are the usual ``AssumeRole`` hops, decided
by :func:`kubetrust.chain.paths.evaluate` from the node role's session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubetrust.chain.links import Failure, Kind, Link, Workload
from kubetrust.explain.fix_common import Fix, name_of
from kubetrust.model.eks import NodeGroup
from kubetrust.model.topology import Cluster

NODE_ROLE_FIX = (
    "set the node group's launch template to HttpTokens=required, "
    "HttpPutResponseHopLimit=1; give the pods IRSA or Pod Identity; remove sts:AssumeRole "
    "from the node role"
)
"""The fix for an exposed node role, as audit and explain both give it (reference H.5)."""
HOST_NETWORK_NOTE = (
    "pods with hostNetwork: true reach IMDS whatever the hop limit (no pod-network hop): "
    "they act as the node role unless the IMDS endpoint is disabled"
)


@dataclass(frozen=True, slots=True)
class NodeRoleStart:
    """One instance role of a cluster's nodes: the node groups that carry it, whether pods
    reach it through IMDS (on any of them), and why."""

    cluster: str
    role_arn: str
    groups: tuple[NodeGroup, ...]
    exposed: bool
    why: str

    def describe(self) -> str:
        state = "reachable" if self.exposed else "blocked"
        return f"the node role through IMDS ({state}: {self.why})"

    @property
    def group_names(self) -> str:
        names = [group.name for group in self.groups if group.name]
        return ", ".join(names) if names else "unnamed"


def starts(cluster: Cluster) -> list[NodeRoleStart]:
    """One start per distinct instance role of the cluster's nodes, reachable ones first."""
    by_role: dict[str, list[NodeGroup]] = {}
    for group in cluster.node_groups or ():
        by_role.setdefault(group.instance_role_arn, []).append(group)
    found = []
    for role_arn, groups in by_role.items():
        exposed = [group for group in groups if group.exposed]
        shown = (exposed or groups)[0]
        found.append(
            NodeRoleStart(cluster.info.name, role_arn, tuple(groups), bool(exposed), shown.why)
        )
    return sorted(found, key=lambda start: (not start.exposed, start.role_arn))


def falls_back(cluster: Cluster, workload: Workload, federation: str | None) -> bool:
    """Whether the workload's pods have no credentials of their own, so that the SDK falls
    back to IMDS: the inputs hold the cluster's node groups and the service account's
    manifest, which has no role annotation, and no Pod Identity association names it.
    A forced ``federation`` explains that federation instead."""
    if federation is not None or not cluster.node_groups:
        return False
    account = cluster.service_accounts.get((workload.namespace, workload.name))
    if account is None or account.role_arn:
        return False
    return cluster.association_for(workload.namespace, workload.name) is None


def imds_link(workload: Workload, start: NodeRoleStart) -> Link:
    """The pod → node role link through IMDS."""
    if start.exposed:
        decided = (
            f"no IRSA annotation and no Pod Identity association: the SDK falls back to IMDS, "
            f"which gives pods the node role ({start.why}; node groups {start.group_names})",
        )
    else:
        decided = (
            f"no IRSA annotation and no Pod Identity association, and IMDS is blocked for "
            f"pods ({start.why}; node groups {start.group_names}): the pod has no AWS "
            "credentials",
        )
    return Link(
        Kind.IMDS,
        workload.subject,
        start.role_arn,
        start.exposed,
        decided,
        failure=None if start.exposed else Failure.IMDS_BLOCKED,
        facts={"node_groups": start.group_names, "imds": start.why},
    )


def blocked_fix(link: Link, workload: Workload) -> Fix:
    """The fix for a blocked ``imds`` link: the pod's own role, not an open IMDS."""
    return Fix(
        f"IMDS is blocked for pods on these nodes ({link.facts.get('imds')}) and the service "
        "account has neither IRSA nor Pod Identity: the pod has no AWS credentials",
        "give the service account its own role — annotate it with eks.amazonaws.com/role-arn "
        "(IRSA) or create a Pod Identity association; keep IMDS blocked",
        f"kubectl annotate serviceaccount -n {workload.namespace} {workload.name} "
        "eks.amazonaws.com/role-arn=arn:aws:iam::ACCOUNT:role/ROLE",
    )


def notes(cluster: Cluster, start: NodeRoleStart, others: Sequence[NodeRoleStart]) -> list[str]:
    """What explain says of the fallback: the anti-pattern and its fix, or why blocked."""
    found = []
    if start.exposed:
        found.append(
            f"node-role anti-pattern: every pod on the nodes of cluster {cluster.info.name} "
            f"can act as the node role {name_of(start.role_arn)} (IMDS reachable: "
            f"{start.why}); fix: {NODE_ROLE_FIX}"
        )
    else:
        found.append(
            f"IMDS is blocked for pods on the nodes of cluster {cluster.info.name} "
            f"({start.why}): without IRSA or Pod Identity the pod has no AWS credentials"
        )
    found.append(HOST_NETWORK_NOTE)
    rest = [o for o in others if o.role_arn != start.role_arn]
    if rest:
        listed = "; ".join(f"{name_of(o.role_arn)} ({o.describe()})" for o in rest)
        found.append(f"the cluster's other node roles (pods on those nodes get them): {listed}")
    if not cluster.associations_known:
        found.append(
            "the inputs do not hold the cluster's Pod Identity associations: taken as none"
        )
    return found
