"""The AWS half of the proof: what a service account's pods can become and do.

Where the pod's first session comes from is decided as explain decides it
(:func:`kubetrust.chain.paths.pod_identity_start`): a Pod Identity association wins over
the IRSA annotation (the pod's container credentials come first, reference F.2), and is
evaluated by :func:`kubetrust.chain.pod_identity_links.evaluate` (the association role's
trust for ``pods.eks.amazonaws.com``, then the ``targetRoleArn`` hop with the transitive
session tags, F.4); else the ``eks.amazonaws.com/role-arn`` annotation and web identity
(:func:`kubetrust.chain.links.web_identity`). A pod never holds the association role's
session when a target role is set: EKS makes that hop and hands out the target's only.

From the sessions it holds, the pod reaches every role an ``sts:AssumeRole`` edge leads to
(the candidates audit's graph finds, :func:`kubetrust.chain.paths.assume_edges`), each hop
re-decided with what the calling session carries (:func:`kubetrust.chain.links.assume_role`:
transitive session tags need ``sts:TagSession`` in the next trust, B.6).

Lines are per account and action, not per path, so the same access reached another way
counts as the same:

- ``aws ACCOUNT: ACTION on RESOURCE`` for every action and resource an Allow statement of a
  reached role's identity policies names, decided by the engine for that session
  (:func:`kubetrust.chain.links.aws_action`); the ``sts:AssumeRole``/``sts:TagSession``
  statements are what the ``can assume`` lines say, so they are left out. An Allow
  ``NotAction`` statement names what it does *not* allow, so its resources are asked a
  fixed set of common actions (:data:`NOT_ACTION_PROBES`, the same in every world, so both
  sides of a comparison ask the same) and one action no policy names
  (:data:`UNNAMED_ACTION`, the line ``any unnamed action``): what the statement grants
  beyond them is not enumerated;
- ``aws: can assume ROLE`` for every reached role that can do anything — a role whose
  session can do nothing but take the next hop is a path, not an access (so IRSA through
  a hop role and Pod Identity with that hop as ``targetRoleArn`` come out the same);
- every reached role's Kubernetes lines on every cluster that maps it
  (:mod:`.equivalence_kube`); the identity lines say as whom each cluster sees the role.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from kubetrust import errors
from kubetrust.chain import graph, links, paths, pod_identity_links
from kubetrust.chain import sts as hops
from kubetrust.explain.explain import workload_for
from kubetrust.migrate import equivalence_kube
from kubetrust.migrate.equivalence_kube import Universe, build_universe
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology

HOP_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession", "sts:setsourceidentity"})
NOT_ACTION_PROBES = (
    "dynamodb:GetItem",
    "ec2:DescribeInstances",
    "eks:DescribeCluster",
    "eks:ListClusters",
    "iam:CreateRole",
    "iam:ListRoles",
    "iam:PassRole",
    "kms:Decrypt",
    "lambda:InvokeFunction",
    "s3:GetObject",
    "s3:ListAllMyBuckets",
    "s3:PutObject",
    "secretsmanager:GetSecretValue",
)
"""The actions a ``NotAction`` statement's resources are asked (module doc)."""
UNNAMED_ACTION = "kubetrust:UnnamedAction"
"""An action no AWS service has: allowed only by a ``NotAction`` (or ``*``) statement."""


@dataclass(frozen=True, slots=True)
class Held:
    """A role session the pod holds: how it got it and what the session carries."""

    role: Role
    how: str
    carried: hops.Carried
    federated_provider: str | None = None


def service_account_capabilities(
    topology: Topology, cluster_name: str, key: str, universe: Universe
) -> tuple[tuple[str, ...], frozenset[str]]:
    """The identity lines and allowed lines of the service account ``key``
    (``NAMESPACE/NAME``) of ``cluster_name``; a cluster missing from the world gives
    nothing."""
    namespace, slash, name = key.partition("/")
    if not slash or not namespace or not name:
        raise errors.InputError(f"service account {errors.shown(key)} is not NAMESPACE/NAME")
    if not any(c.name == cluster_name for c in topology.clusters):
        return (f"aws: nothing (cluster {cluster_name} is not in the inputs)",), frozenset()
    cluster = topology.cluster(cluster_name)
    start, why = _start(topology, cluster, namespace, name)
    if not start:
        return (f"aws: nothing ({why})",), frozenset()
    held = _reach(topology, start)
    identities: list[str] = []
    for session in held:
        identities.append(f"aws: role {session.role.arn} ({session.how})")
        identities.extend(_kube_identities(topology, session.role))
    allowed: set[str] = set()
    for session in held:
        allowed |= _session_lines(topology, session, universe)
    return tuple(identities), frozenset(allowed)


def _start(
    topology: Topology, cluster: Cluster, namespace: str, name: str
) -> tuple[list[Held], str]:
    """The sessions the pod gets without calling STS itself, or why there are none."""
    workload = workload_for(topology, cluster.name, namespace, name)
    pod_identity = paths.pod_identity_start(topology, cluster, workload)
    if pod_identity is not None:
        if pod_identity.association is None:
            return [], "no Pod Identity association and no IRSA role"
        evaluated = pod_identity_links.evaluate(topology, cluster, workload, pod_identity)
        refused = [link for link in evaluated.links if not link.allowed]
        if refused:
            return [], "Pod Identity refused: " + "; ".join(_why(link) for link in refused)
        role = topology.role(pod_identity.roles[-1])
        if role is None:
            return [], f"role {pod_identity.roles[-1]} is not in the inputs"
        how = "Pod Identity " + (
            "targetRoleArn" if pod_identity.target_role_arn else "association role"
        )
        return [Held(role, how, evaluated.carried)], ""
    annotated, _ = paths.annotated_role(cluster, workload)
    if annotated is None:
        return [], "no Pod Identity association and no IRSA annotation"
    link = links.web_identity(topology, cluster, workload, annotated)
    role = topology.role(annotated)
    if not link.allowed or role is None:
        return [], f"IRSA web identity into {annotated} refused: {_why(link)}"
    provider = link.facts.get("provider")
    return [
        Held(
            role,
            "IRSA web identity",
            hops.Carried(),
            provider if isinstance(provider, str) else None,
        )
    ], ""


def _why(link: links.Link) -> str:
    if link.decided_by:
        return link.decided_by[0]
    return link.failure.value if link.failure is not None else "denied"


def _reach(topology: Topology, start: list[Held]) -> list[Held]:
    """Every session reachable from ``start`` by allowed ``sts:AssumeRole`` hops
    (breadth-first; a role reached twice keeps its first, shortest path)."""
    index = graph.TrustIndex.build(topology.roles())
    judge = graph.EdgeJudge(topology)
    found = {h.role.arn: h for h in start}
    queue = deque(start)
    while queue:
        caller = queue.popleft()
        for target, _ in paths.assume_edges(topology, index, judge, caller.role):
            if target.arn in found:
                continue
            link = links.assume_role(
                topology,
                caller.role,
                target.arn,
                federated_provider=caller.federated_provider,
                carried=caller.carried,
            )
            if link.allowed:
                carried = links.carried_after(caller.carried, None)
                held = Held(target, f"sts:AssumeRole from {caller.role.arn}", carried)
                found[target.arn] = held
                queue.append(held)
    return list(found.values())


def _session_lines(topology: Topology, held: Held, universe: Universe) -> set[str]:
    actions = {
        _action_line(held.role.account, action, resource)
        for action, resource in _named_actions(topology, held.role)
        if links.aws_action(
            topology,
            held.role,
            action,
            resource,
            federated_provider=held.federated_provider,
            carried=held.carried,
        ).allowed
    }
    kube = _kube_lines(topology, held.role, universe)
    lines = actions | kube
    if lines:
        lines.add(f"aws: can assume {held.role.arn}")
    return lines


def _action_line(account: str, action: str, resource: str) -> str:
    shown = "any unnamed action" if action == UNNAMED_ACTION else action
    return f"aws {account}: {shown} on {resource}"


def _named_actions(topology: Topology, role: Role) -> Iterator[tuple[str, str]]:
    """(action, resource) pairs the role's identity policies allow by name, and for a
    ``NotAction`` statement the probe actions on its resources (module doc)."""
    for named in topology.permissions(role).identity:
        for statement in named.document.statements:
            if statement.effect != "Allow":
                continue
            if statement.action is None:
                asked: tuple[str, ...] = (*NOT_ACTION_PROBES, UNNAMED_ACTION)
            else:
                asked = tuple(a for a in statement.action if a.lower() not in HOP_ACTIONS)
            for action in asked:
                for resource in statement.resource or ("*",):
                    yield action, resource


def _kube_identities(topology: Topology, role: Role) -> Iterator[str]:
    """As whom every cluster that maps the role's session sees it."""
    caller = equivalence_kube.caller_for(topology, role.arn)
    for cluster in topology.clusters:
        identity = equivalence_kube.identify(topology, cluster, caller)
        if not isinstance(identity, str):
            yield equivalence_kube.identity_line(cluster.name, identity, who=role.arn)


def _kube_lines(topology: Topology, role: Role, universe: Universe) -> set[str]:
    caller = equivalence_kube.caller_for(topology, role.arn)
    found: set[str] = set()
    for cluster in topology.clusters:
        identity = equivalence_kube.identify(topology, cluster, caller)
        if isinstance(identity, str):
            continue
        probes = universe.get(cluster.name) or build_universe([topology])[cluster.name]
        found |= equivalence_kube.allowed_lines(cluster, identity, probes)
    return found
