"""The chains behind the report's texts: where each chain starts, the route to each role, the
goal a chain is explained to, and one :func:`~kubetrust.explain.explain.explain_access` per
chain, shared by every edge it covers.

An edge's text must be the block ``kubetrust explain`` prints for that link, and a link
depends on the chain before it (the web-identity provider a first ``AssumeRole`` carries,
EKS Pod Identity's session tags), so an edge out of a role is explained inside a chain
from a service account that reaches the role: the route with the fewest denied edges,
then the fewest roles (the order :func:`kubetrust.chain.paths.search` ranks chains in),
then the first start in id order. One chain explains every edge along it, so a
200-role organization costs one explanation per route end, not per edge.

Nothing is decided here: routes only choose which chain to ask ``explain`` about.
"""

from __future__ import annotations

import heapq
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from kubetrust.chain import context, kube_links, paths, rbac
from kubetrust.chain.links import Workload
from kubetrust.chain.pod_identity_links import PodIdentityStart
from kubetrust.explain import explain, node_role
from kubetrust.explain.access_graph import AccessGraph, Hop, Status
from kubetrust.model.topology import Cluster, Topology

ROLE_PREFIX = "role:"
FALLBACK_ACTION = "sts:GetCallerIdentity"
"""The goal of a chain whose last role's policies name no concrete action: every session
may call it."""
_CHAIN_CALLS = frozenset({"sts:assumerole", "sts:tagsession"})
DEFAULT_KUBE_REQUEST = rbac.request_info("get", "namespaces")


@dataclass(frozen=True, slots=True)
class Start:
    """Where chains start: the graph node (a service account, or a cluster's pods for the
    node role), the workload explain follows (for pods: a service account of the cluster
    whose pods fall back to IMDS), how it federates (``irsa``, ``pod-identity``, ``None``:
    the node role) and the roles it holds first (two with a ``targetRoleArn``)."""

    node: str
    workload: Workload
    federation: str | None
    roles: tuple[str, ...]
    failed: int


@dataclass(frozen=True, slots=True)
class Route:
    """A chain explain can follow: its start and every role (``--via``)."""

    start: Start
    roles: tuple[str, ...]


def role_arn(key: str) -> str:
    return key.removeprefix(ROLE_PREFIX)


def service_accounts(topology: Topology, graph: AccessGraph) -> dict[str, tuple[Cluster, str, str]]:
    """Service-account node key → its cluster, namespace and name."""
    found: dict[str, tuple[Cluster, str, str]] = {}
    prefixes = [(f"sa:{cluster.info.arn}:", cluster) for cluster in topology.clusters]
    for key, node in graph.nodes.items():
        if node.kind != "serviceaccount":
            continue
        for prefix, cluster in prefixes:
            if key.startswith(prefix):
                namespace, _, name = key.removeprefix(prefix).partition("/")
                found[key] = (cluster, namespace, name)
    return found


def _workload(topology: Topology, cluster: Cluster, namespace: str, name: str) -> Workload:
    return explain.workload_for(topology, cluster.info.arn, namespace, name)


def _starts(topology: Topology, graph: AccessGraph) -> Iterator[tuple[tuple[str, str], Start]]:
    """Every start, keyed by the edge that begins it (``(source key, first role key)``)."""
    accounts = service_accounts(topology, graph)
    pods = {f"pods:{c.info.arn}": c for c in topology.clusters}
    for (source, target, hop), edge in graph.edges.items():
        failed = int(edge.status is Status.DENIED)
        if source in accounts and hop is Hop.WEB_IDENTITY:
            cluster, namespace, name = accounts[source]
            workload = _workload(topology, cluster, namespace, name)
            yield (source, target), Start(source, workload, paths.IRSA, (role_arn(target),), failed)
        elif source in accounts and hop is Hop.POD_IDENTITY:
            cluster, namespace, name = accounts[source]
            association = cluster.association_for(namespace, name)
            if association is None:
                continue
            roles = PodIdentityStart.of(association).roles
            if len(roles) > 1:
                found = graph.edges.get((target, ROLE_PREFIX + roles[1], Hop.TARGET_ROLE))
                failed += int(found is not None and found.status is Status.DENIED)
            workload = _workload(topology, cluster, namespace, name)
            yield (source, target), Start(source, workload, paths.POD_IDENTITY, roles, failed)
        elif source in pods and hop is Hop.IMDS:
            stand_in = _falling_back(topology, pods[source])
            if stand_in is not None:
                yield (source, target), Start(source, stand_in, None, (role_arn(target),), failed)


def _falling_back(topology: Topology, cluster: Cluster) -> Workload | None:
    """The first service account of ``cluster`` whose pods act as the node role."""
    for namespace, name in sorted(cluster.service_accounts):
        workload = _workload(topology, cluster, namespace, name)
        if node_role.falls_back(cluster, workload, None):
            return workload
    return None


class ChainBook:
    """The starts and routes of one graph, and the explanations asked so far (memoized)."""

    def __init__(
        self,
        topology: Topology,
        graph: AccessGraph,
        node_ids: dict[str, str],
        request: context.RequestFacts,
    ) -> None:
        self.topology = topology
        self.graph = graph
        self.request = request
        self.starts = dict(_starts(topology, graph))
        self.node_ids = node_ids
        self._routes = self._shortest_routes()
        self._memo: dict[tuple[Route, paths.Goal], explain.Explanation] = {}

    # ------------------------------------------------------------------ routes

    def _assume_edges(self) -> dict[str, list[tuple[str, bool]]]:
        found: dict[str, list[tuple[str, bool]]] = {}
        for (source, target, hop), edge in self.graph.edges.items():
            if hop is Hop.ASSUME_ROLE and source.startswith(ROLE_PREFIX):
                found.setdefault(source, []).append((target, edge.status is Status.DENIED))
        for targets in found.values():
            targets.sort(key=lambda t: int(self.node_ids[t[0]][1:]))
        return found

    def _shortest_routes(self) -> dict[str, Route]:
        """Role key → the best route that ends there (module doc)."""
        starts = sorted(
            self.starts.values(), key=lambda s: (int(self.node_ids[s.node][1:]), s.roles)
        )
        queue: list[tuple[int, int, int, tuple[str, ...]]] = [
            (start.failed, len(start.roles), number, start.roles)
            for number, start in enumerate(starts)
        ]
        heapq.heapify(queue)
        outgoing = self._assume_edges()
        routes: dict[str, Route] = {}
        while queue:
            failed, length, number, roles = heapq.heappop(queue)
            key = ROLE_PREFIX + roles[-1]
            if key in routes or length > paths.MAX_HOPS:
                continue
            routes[key] = Route(starts[number], roles)
            for target, denied in outgoing.get(key, ()):
                if target not in routes and role_arn(target) not in roles:
                    entry = (failed + int(denied), length + 1, number, (*roles, role_arn(target)))
                    heapq.heappush(queue, entry)
        return routes

    def route_to(self, role_key: str) -> Route | None:
        """The best route ending at ``role_key`` (``None``: no service account reaches it)."""
        return self._routes.get(role_key)

    def start_route(self, start: Start) -> Route:
        return Route(start, start.roles)

    # ------------------------------------------------------------------ goals

    def aws_goal(self, role: str) -> paths.AwsGoal:
        """An action the role's identity policies allow by name (the first, sorted), on
        their first resource when it names one, else ``sts:GetCallerIdentity``."""
        found = self.topology.role(role)
        account = found.account if found is not None else role.split(":")[4]
        statements = (
            (s for d in self.topology.permissions(found).identity for s in d.document.statements)
            if found is not None
            else ()
        )
        for statement in statements:
            if statement.effect != "Allow" or not statement.action:
                continue
            for action in sorted(statement.action, key=str.lower):
                if "*" in action or "?" in action or action.lower() in _CHAIN_CALLS:
                    continue
                named = sorted(r for r in statement.resource or () if "*" not in r and "?" not in r)
                if named:
                    return paths.AwsGoal(action, named[0])
                return paths.AwsGoal(action, "*", account)
        return paths.AwsGoal(FALLBACK_ACTION, "*", account)

    def kube_goal(self, cluster: Cluster, role: str) -> paths.KubeGoal:
        """``get namespaces`` in ``cluster``, unless the role's identity there lacks it and
        RBAC grants it something named in a namespace (the first such rule)."""
        request = DEFAULT_KUBE_REQUEST
        found = self.topology.role(role)
        mapped = kube_links.kube_identity(self.topology, cluster, found)[1] if found else None
        if mapped is not None:
            decision = rbac.authorize(
                mapped.username, mapped.groups, request, cluster.rbac, mapped.grants
            )
            if not decision.allowed:
                request = _smaller(cluster, mapped.username, mapped.groups) or request
        return paths.KubeGoal(cluster.info.name, request)

    # ------------------------------------------------------------------ explanations

    def explained(self, route: Route, goal: paths.Goal) -> explain.Explanation:
        """``kubetrust explain`` of ``route`` to ``goal`` (:func:`command`), memoized."""
        key = (route, goal)
        found = self._memo.get(key)
        if found is None:
            found = explain.explain_access(
                self.topology,
                route.start.workload,
                goal,
                via=route.roles,
                request=self.request,
                federation=route.start.federation,
            )
            self._memo[key] = found
        return found


def _smaller(cluster: Cluster, username: str, groups: tuple[str, ...]) -> rbac.KubeRequest | None:
    for namespace in sorted(cluster.rbac.role_bindings):
        for rule in rbac.rules_for(username, groups, namespace, cluster.rbac, authenticated=False):
            verbs = [v for v in rule.verbs if v != "*"]
            resources = [r for r in rule.resources if r != "*" and "/" not in r]
            if verbs and resources:
                group = next((g for g in rule.api_groups if g != "*"), "")
                return rbac.request_info(verbs[0], resources[0], group, "", namespace)
    return None


def command(route: Route, goal: paths.Goal, *, via: bool = True) -> str:
    """The ``kubetrust explain`` command line (without the input options: the report's)
    that prints the chain of ``route`` to ``goal``; ``via=False``: the chain explain finds
    by itself (no ``--via``, no ``--federation``)."""
    workload = route.start.workload
    words = [
        "kubetrust",
        "explain",
        "--cluster",
        workload.cluster,
        "--namespace",
        workload.namespace,
        "--serviceaccount",
        workload.name,
        *_goal_words(goal),
    ]
    if not via:
        return shlex.join(words)
    for role in route.roles:
        words += ["--via", role]
    if route.start.federation is not None:
        words += ["--federation", route.start.federation]
    return shlex.join(words)


def _goal_words(goal: paths.Goal) -> list[str]:
    if isinstance(goal, paths.AwsGoal):
        words = ["--action", goal.action, "--resource", goal.resource]
        return words + (["--account", goal.account] if goal.account else [])
    request = goal.request
    resource = request.resource + (f".{request.group}" if request.group else "")
    resource += f"/{request.name}" if request.name else ""
    words = ["--kube-verb", request.verb, "--kube-resource", request.path or resource]
    if request.subresource:
        words += ["--kube-subresource", request.subresource]
    if request.namespace:
        words += ["--kube-namespace", request.namespace]
    return [*words, "--target-cluster", goal.cluster]
