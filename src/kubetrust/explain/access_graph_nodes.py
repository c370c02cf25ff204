"""The nodes of the access graph, with labels people read (:mod:`.access_graph` has the edges).

A node's ``key`` is unique and stable (it names what the node is: a role ARN, a service
account of a cluster ARN...), so that renderings sort the same way on every run; its
``title`` and ``lines`` are the label; its ``group`` is where it is drawn (an account, an EKS
cluster). Permission summaries condense a role's identity policies into a few lines: the
statements' effect, actions and resources, AssumeRole grants left out (they are edges).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubetrust import arn, errors
from kubetrust.model.eks import ServiceAccount
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Cluster, Topology
from kubetrust.model.vocabulary import SERVICE_ACCOUNT_PREFIX
from kubetrust.policy.document import Statement

SHOWN_ACTIONS = 4
SHOWN_RESOURCES = 2
SHOWN_STATEMENTS = 6
_RANKS = {
    "serviceaccount": 0,
    "subjects": 1,
    "kube-identity": 2,
    "user": 3,
    "role": 4,
    "permissions": 5,
    "service": 6,
    "principal": 7,
}


@dataclass(frozen=True, slots=True)
class Node:
    """A node: ``kind`` is one of ``serviceaccount``, ``subjects`` (a set of service
    accounts), ``role``, ``user``, ``principal`` (an ARN not in the inputs), ``service``,
    ``permissions``, ``kube-identity``."""

    key: str
    kind: str
    title: str
    group: str
    lines: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        return _RANKS.get(self.kind, 9)


def cluster_group(cluster: Cluster) -> tuple[str, str]:
    """The group key and label of a cluster's nodes."""
    info = cluster.info
    return (
        f"cluster:{info.arn}",
        f"EKS cluster {info.name} ({info.account}, {info.authentication_mode})",
    )


def service_account_node(
    cluster: Cluster, namespace: str, name: str, account: ServiceAccount | None
) -> Node:
    lines = () if account is not None else ("(no manifest in the inputs)",)
    group = cluster_group(cluster)[0]
    return Node(
        f"sa:{cluster.info.arn}:{namespace}/{name}",
        "serviceaccount",
        f"{namespace}/{name}",
        group,
        lines,
    )


def subjects_node(cluster: Cluster, subject: str) -> Node:
    """The set of service accounts a ``:sub`` pattern admits (``*``: any; ``not X``)."""
    if subject == "*":
        title = "any service account"
    elif subject.startswith("not "):
        title = "every subject but " + subject.removeprefix("not ")
    else:
        title = "service accounts matching " + subject.removeprefix(SERVICE_ACCOUNT_PREFIX)
    group = cluster_group(cluster)[0]
    return Node(f"subjects:{cluster.info.arn}:{subject}", "subjects", title, group)


def pods_node(cluster: Cluster) -> Node:
    """Every pod on the cluster's nodes: what reaches the node role through IMDS (the pods
    without IRSA or Pod Identity fall back to it; any pod may ask IMDS)."""
    group = cluster_group(cluster)[0]
    return Node(f"pods:{cluster.info.arn}", "subjects", "pods on the nodes", group)


def principal_node(identity: Role | User | str, *, service: bool = False) -> Node:
    """A role, a user, an AWS service, or an ARN the inputs do not hold."""
    if service and isinstance(identity, str):
        title = "EC2 instances (instance profile)" if identity == "ec2.amazonaws.com" else identity
        return Node(f"service:{identity}", "service", title, "services")
    if isinstance(identity, Role):
        lines = (f"path {identity.path}",) if identity.path != "/" else ()
        return Node(
            f"role:{identity.arn}", "role", identity.name, f"account:{identity.account}", lines
        )
    if isinstance(identity, User):
        return Node(
            f"user:{identity.arn}", "user", f"user {identity.name}", f"account:{identity.account}"
        )
    try:
        parsed = arn.parse(identity)
    except errors.InvalidArnError:
        return Node(f"principal:{identity}", "principal", identity, "account:unknown")
    missing = ("(not in the inputs)",)
    if parsed.service == "iam" and parsed.resource_type in ("role", "user"):
        kind = parsed.resource_type
        return Node(
            f"{kind}:{identity}", kind, parsed.resource_name, f"account:{parsed.account}", missing
        )
    return Node(
        f"principal:{identity}", "principal", identity, f"account:{parsed.account}", missing
    )


def identity_node(
    cluster: Cluster,
    source: str,
    username: str,
    groups: tuple[str, ...],
    grants: tuple[str, ...] = (),
) -> Node:
    """A Kubernetes identity in ``cluster``, as a mapping (``source``) names it."""
    lines = []
    if groups:
        lines.append("groups " + ", ".join(groups))
    if grants:
        lines.append("access policies " + ", ".join(grants))
    key = f"kid:{cluster.info.arn}:{source}:{username}:{','.join(groups)}:{','.join(grants)}"
    group = cluster_group(cluster)[0]
    return Node(key, "kube-identity", f"user {username}", group, tuple(lines))


def _shown(items: list[str], limit: int) -> str:
    more = f" +{len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _resource(text: str) -> str:
    try:
        return arn.parse(text).resource or text
    except errors.InvalidArnError:
        return text


def statement_summary(statement: Statement) -> str | None:
    """``allow eks:DescribeCluster, eks:ListClusters on *``; ``None`` for an Allow that
    grants only ``sts:AssumeRole`` (drawn as edges)."""
    if statement.action is not None:
        actions = sorted(statement.action, key=str.lower)
        if statement.effect == "Allow":
            actions = [a for a in actions if a.lower() != "sts:assumerole"]
            if not actions:
                return None
        what = _shown(actions, SHOWN_ACTIONS)
    else:
        what = "all but " + _shown(sorted(statement.not_action or ()), SHOWN_ACTIONS)
    if statement.resource is not None:
        where = _shown([_resource(r) for r in sorted(statement.resource)], SHOWN_RESOURCES)
    elif statement.not_resource is not None:
        where = "all but " + _shown([_resource(r) for r in statement.not_resource], SHOWN_RESOURCES)
    else:
        where = "*"
    condition = " (conditions)" if statement.conditions else ""
    return f"{statement.effect.lower()} {what} on {where}{condition}"


def permissions_node(topology: Topology, role: Role) -> Node | None:
    """A summary of ``role``'s identity policies, or ``None`` when they grant nothing but
    ``sts:AssumeRole``."""
    permissions = topology.permissions(role)
    lines: list[str] = []
    for named in permissions.identity:
        for statement in named.document.statements:
            summary = statement_summary(statement)
            if summary is not None and summary not in lines:
                lines.append(summary)
    if not lines and not permissions.missing:
        return None
    if len(lines) > SHOWN_STATEMENTS:
        lines = [*lines[:SHOWN_STATEMENTS], f"+{len(lines) - SHOWN_STATEMENTS} more statements"]
    lines += [f"{missing} (not in the inputs)" for missing in permissions.missing]
    if permissions.boundary is not None:
        lines.append(f"boundary {permissions.boundary.name}")
    return Node(
        f"perm:{role.arn}",
        "permissions",
        "AWS permissions",
        f"account:{role.account}",
        tuple(lines),
    )
