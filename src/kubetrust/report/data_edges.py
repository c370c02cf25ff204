"""Each edge of the access graph explained as ``kubetrust explain`` prints its link.

Per hop (the chain comes from :class:`~kubetrust.report.data_chains.ChainBook`):

- web identity and pod-identity (service account → role) and targetRoleArn (association
  role → target role): link 1 (and 2) of the service account's chain, ``--via`` its first
  roles and ``--federation`` set, to an action of its last role;
- AssumeRole: that hop's link in the best chain from a service account through the caller;
  when none reaches the caller, :func:`kubetrust.chain.links.assume_role` alone (the first
  hop of such a chain) with its fix; a user's hop as :func:`kubetrust.chain.sts.assume_role`
  decides it (explain follows service accounts, so a user's hop has no command nor fix);
- aws-auth and access entry: the cluster-identity link (:mod:`kubetrust.chain.kube_links`)
  of that chain to a Kubernetes verb in the cluster, or alone; a mapping the cluster does
  not use says why first (the edge's note);
- IMDS: the link of a service account of the cluster whose pods fall back to the node
  role, else the node role's notes (:mod:`kubetrust.explain.node_role`);
- AWS service and grants edges: their note, the permission lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubetrust import errors
from kubetrust.chain import graph as chain_graph
from kubetrust.chain import kube_links, links, paths
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Failure, Kind, Link, Workload
from kubetrust.explain import fixes_goal, fixes_sts, node_role, render
from kubetrust.explain.access_graph import AccessGraph, Edge, Hop, Status
from kubetrust.explain.fix_common import Fix
from kubetrust.iac.model import SourceMap
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Cluster, Topology
from kubetrust.report.data_chains import (
    DEFAULT_KUBE_REQUEST,
    ChainBook,
    Route,
    command,
    role_arn,
)
from kubetrust.report.ids import EdgeKey

MARKS = {Status.ALLOWED: "ok  ", Status.CONDITIONAL: "if  ", Status.DENIED: "FAIL"}
"""An edge's mark, as explain marks links (``if``: allowed if its conditions hold)."""


@dataclass(frozen=True, slots=True)
class Explained:
    """An element's text, its fix alone (``None``: nothing to fix), the command that prints
    the same chain (``None``: none does), and the fix's cause (verdict summaries)."""

    text: str
    fix: str | None = None
    command: str | None = None
    cause: str | None = None


def explain_edges(
    book: ChainBook, edges: tuple[tuple[str, Edge], ...], sources: SourceMap | None
) -> dict[EdgeKey, Explained]:
    """Every edge's explanation (module doc), by edge key."""
    explainer = _EdgeExplainer(book, sources)
    return {(e.source, e.target, e.hop): explainer.explain(e) for _, e in edges}


class _EdgeExplainer:
    def __init__(self, book: ChainBook, sources: SourceMap | None) -> None:
        self.book = book
        self.topology = book.topology
        self.graph: AccessGraph = book.graph
        self.sources = sources

    def explain(self, edge: Edge) -> Explained:
        try:
            return self._explain(edge)
        except errors.KubetrustError as error:  # an input explain refuses: say so
            return Explained(f"{self._header(edge)}\n         {error}")

    def _explain(self, edge: Edge) -> Explained:
        start = self.book.starts.get((edge.source, edge.target))
        if edge.hop in (Hop.WEB_IDENTITY, Hop.POD_IDENTITY, Hop.IMDS) and start is not None:
            route = self.book.start_route(start)
            return self._from_chain(route, self.book.aws_goal(route.roles[-1]), 0)
        if edge.hop is Hop.TARGET_ROLE:
            return self._target_role(edge)
        if edge.hop is Hop.ASSUME_ROLE:
            return self._assume_role(edge)
        if edge.hop in (Hop.AWS_AUTH, Hop.ACCESS_ENTRY):
            return self._cluster_identity(edge)
        if edge.hop is Hop.IMDS:
            return self._imds(edge)
        if edge.hop is Hop.PERMISSIONS:
            return Explained("\n".join(self.graph.nodes[edge.target].lines))
        return Explained("\n".join(filter(None, [self._header(edge), self._note(edge)])))

    # ------------------------------------------------------------------ from a chain

    def _from_chain(self, route: Route, goal: paths.Goal, index: int) -> Explained:
        explanation = self.book.explained(route, goal)
        chain = explanation.chain
        assert chain is not None  # a chain with --via is always evaluated
        link, fix = chain.links[index], explanation.fixes[index]
        return self._link(index + 1, link, fix, command(route, goal))

    def _link(self, number: int, link: Link, fix: Fix | None, line: str | None) -> Explained:
        return Explained(
            render.link_text(number, link, fix, self.sources),
            render.fix_text(fix, self.sources) if fix is not None else None,
            line,
            fix.cause if fix is not None else None,
        )

    def _target_role(self, edge: Edge) -> Explained:
        wanted = (role_arn(edge.source), role_arn(edge.target))
        for start in self.book.starts.values():
            if start.federation == paths.POD_IDENTITY and start.roles == wanted:
                route = self.book.start_route(start)
                return self._from_chain(route, self.book.aws_goal(wanted[1]), 1)
        return Explained(f"{self._header(edge)}\n         {edge.note}".rstrip())

    def _assume_role(self, edge: Edge) -> Explained:
        route = self.book.route_to(edge.source)
        target = role_arn(edge.target)
        if route is not None and target not in route.roles:
            longer = Route(route.start, (*route.roles, target))
            return self._from_chain(longer, self.book.aws_goal(target), len(route.roles))
        caller = self.topology.role(role_arn(edge.source))
        if caller is not None:
            link = links.assume_role(self.topology, caller, target, request=self.book.request)
            fix = None if link.allowed else fixes_sts.assume_role(link, self.topology)
            return self._link(1, link, fix, None)
        user = self.topology.user(edge.source.removeprefix("user:"))
        role = self.topology.role(target)
        if user is None or role is None:
            return Explained(f"{self._header(edge)}\n         {edge.note}".rstrip())
        return self._link(1, _user_link(self.topology, user, role, self.book), None, None)

    def _cluster_identity(self, edge: Edge) -> Explained:
        cluster = cluster_of(self.topology, edge.target)
        role = self.topology.role(role_arn(edge.source))
        if cluster is None or role is None:
            return Explained(f"{self._header(edge)}\n         {edge.note}".rstrip())
        route = self.book.route_to(edge.source)
        if route is not None:
            goal = self.book.kube_goal(cluster, role.arn)
            found = self._from_chain(route, goal, len(route.roles))
        else:
            found = self._alone(cluster, role)
        if edge.status is Status.DENIED and edge.note:
            unused = f"this {edge.hop.value} mapping is not used: {edge.note}"
            fix = found.fix if found.cause is not None else None
            return Explained(f"{unused}\n{found.text}", fix, found.command, found.cause)
        return found

    def _alone(self, cluster: Cluster, role: Role) -> Explained:
        """The mapping of ``role``'s session with no service account before it; its fix
        reads only the goal's cluster (:func:`kubetrust.explain.fixes_goal.kube_identity`)."""
        link, _ = kube_links.kube_identity(self.topology, cluster, role)
        fix = None
        if not link.allowed:
            goal = paths.KubeGoal(cluster.info.name, DEFAULT_KUBE_REQUEST)
            stand_in = Workload(cluster.info.name, "", "")
            chain = paths.Chain(stand_in, goal, (role.arn,), (link,))
            fix = fixes_goal.kube_identity(link, self.topology, chain)
        return self._link(1, link, fix, None)

    def _imds(self, edge: Edge) -> Explained:
        """No service account of the cluster falls back to IMDS: the node role's notes."""
        cluster = cluster_of(self.topology, edge.source)
        lines = [self._header(edge), f"         {edge.note}"]
        if cluster is not None:
            starts = node_role.starts(cluster)
            for start in starts:
                if start.role_arn == role_arn(edge.target):
                    lines += [f"note: {n}" for n in node_role.notes(cluster, start, starts)]
        return Explained("\n".join(lines))

    # ------------------------------------------------------------------ plain edges

    def _header(self, edge: Edge) -> str:
        source = self.graph.nodes[edge.source].title
        target = self.graph.nodes[edge.target].title
        return f"{MARKS[edge.status]} {edge.hop.value}: {source} → {target}"

    def _note(self, edge: Edge) -> str:
        return f"         {edge.note}" if edge.note else ""


def cluster_of(topology: Topology, key: str) -> Cluster | None:
    """The cluster a node key names (``kid:ARN:…``, ``pods:ARN``, ``sa:ARN:…``)."""
    for cluster in topology.clusters:
        arn = cluster.info.arn
        if key.startswith((f"kid:{arn}:", f"pods:{arn}", f"sa:{arn}:", f"subjects:{arn}:")):
            return cluster
    return None


def _user_link(topology: Topology, user: User, role: Role, book: ChainBook) -> Link:
    """A user's ``sts:AssumeRole`` hop, both sides, as the engine decides it."""
    hop = hops.assume_role(
        user.arn,
        chain_graph.caller_side(topology, user),
        chain_graph.role_side(topology, role),
        session_name=chain_graph.SESSION_NAME,
        context=chain_graph.caller_context(user, request=book.request, topology=topology),
        request=book.request,
    )
    names = links.policy_names(topology, None, role)
    failure = None if hop.allowed else Failure.TRUST_DENIED
    failed = hop.failed
    if failed is not None and failed.caller_side is not None and not failed.caller_side.allowed:
        failure = Failure.CALLER_DENIED if failed.trust_side.allowed else Failure.BOTH_DENIED
    facts = {"cross_account": user.account != role.account}
    return Link(
        Kind.ASSUME_ROLE,
        user.arn,
        role.arn,
        hop.allowed,
        links.hop_reasons(hop, names),
        failure,
        hop=hop,
        facts=facts,
    )
