"""Each node of the access graph explained, and the verdict of each service account.

- A service account: ``kubetrust explain``'s text of its chain to the furthest goal the graph
  shows it reaching — through its first role(s), then allowed or conditional ``AssumeRole``
  edges, to the deepest role a target cluster maps (a Kubernetes verb there:
  :meth:`~kubetrust.report.data_chains.ChainBook.kube_goal`), else the deepest role (an
  action of its policies). The command is the plain one when explain's own search finds
  that chain, else the one with ``--via``.
- A role: who reaches it (its incoming edges, and audit's reach finding), what it can
  assume, which cluster identities it maps to, its permissions; a user: what it can assume;
  a Kubernetes identity: its cluster, user, groups and access policies, and who maps to it.
- The verdict of a service account: from the hops it starts with (its Pod Identity
  association's, else its role annotation's, else every web identity edge), allowed when
  one start passes, else conditional, else denied with the failing link's cause.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from kubetrust import errors
from kubetrust.chain import paths
from kubetrust.explain import explain as explain_lib
from kubetrust.explain import render
from kubetrust.explain.access_graph import AccessGraph, Edge, Hop, Status
from kubetrust.explain.audit import Finding
from kubetrust.iac.model import SourceMap
from kubetrust.iac.symbolic import describe
from kubetrust.report.data_chains import ROLE_PREFIX, ChainBook, Route, Start, command
from kubetrust.report.data_edges import MARKS, Explained, cluster_of
from kubetrust.report.ids import EdgeKey

_MAPPINGS = (Hop.AWS_AUTH, Hop.ACCESS_ENTRY)
_ONWARD = (Hop.ASSUME_ROLE, Hop.TARGET_ROLE)
_ORDER = (Status.DENIED, Status.CONDITIONAL, Status.ALLOWED)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One service account at a glance."""

    node: str
    subject: str
    status: Status
    summary: str


class NodeExplainer:
    """Node texts over one graph, its chains and its edges' explanations."""

    def __init__(
        self,
        book: ChainBook,
        edges: Mapping[EdgeKey, Explained],
        sources: SourceMap | None,
        reach: Mapping[str, Finding],
    ) -> None:
        self.book = book
        self.graph: AccessGraph = book.graph
        self.edges = edges
        self.sources = sources
        self.reach = reach
        self.incoming: dict[str, list[Edge]] = {}
        self.outgoing: dict[str, list[Edge]] = {}
        for edge in self.graph.edges.values():
            self.incoming.setdefault(edge.target, []).append(edge)
            self.outgoing.setdefault(edge.source, []).append(edge)

    def explain(self, key: str) -> Explained:
        node = self.graph.nodes[key]
        if node.kind == "serviceaccount":
            return self._service_account(key)
        lines = [self._title(key), *node.lines]
        if node.kind == "role":
            lines += self._role(key)
        elif node.kind == "kube-identity":
            lines += self._edges("mapped from", self.incoming.get(key, []), source=True)
        else:
            lines += self._edges("reached from", self.incoming.get(key, []), source=True)
            lines += self._edges("leads to", self.outgoing.get(key, []), source=False)
        return Explained(self._described("\n".join(lines)))

    def _title(self, key: str) -> str:
        node = self.graph.nodes[key]
        group = self.graph.groups.get(node.group, node.group)
        name = key.split(":", 1)[1] if node.kind in ("role", "user") else node.title
        return f"{node.kind} {name} ({group})"

    def _role(self, key: str) -> list[str]:
        incoming = self.incoming.get(key, [])
        outgoing = self.outgoing.get(key, [])
        lines = self._edges("reached by", incoming, source=True)
        found = self.reach.get(key.removeprefix(ROLE_PREFIX))
        if found is not None:
            lines.append(f"audit: {found.message}")
        lines += self._edges("can assume", [e for e in outgoing if e.hop in _ONWARD], False)
        lines += self._edges("maps to", [e for e in outgoing if e.hop in _MAPPINGS], False)
        grants = [e for e in outgoing if e.hop is Hop.PERMISSIONS]
        if grants:
            lines.append("permissions:")
            lines += [f"  {line}" for line in self.graph.nodes[grants[0].target].lines]
        return lines

    def _edges(self, head: str, edges: list[Edge], source: bool) -> list[str]:
        if not edges:
            return []
        lines = [f"{head}:"]
        for edge in sorted(edges, key=lambda e: (e.source, e.target, e.hop.value)):
            other = self.graph.nodes[edge.source if source else edge.target]
            where = self.graph.groups.get(other.group, other.group)
            note = f" ({edge.note})" if edge.note else ""
            lines.append(f"  {MARKS[edge.status]} {edge.hop.value}: {other.title}, {where}{note}")
        return lines

    # ------------------------------------------------------------------ service accounts

    def _service_account(self, key: str) -> Explained:
        starts = [s for s in self.book.starts.values() if s.node == key]
        if not starts:
            return Explained(self._title(key))
        route, goal = self.furthest(starts)
        try:
            plain = self._plain(route, goal)
        except errors.KubetrustError:
            plain = None
        if plain is not None:
            text = render.explanation_text(plain, self.sources)
            return Explained(text, command=command(route, goal, via=False))
        explanation = self.book.explained(route, goal)
        text = render.explanation_text(explanation, self.sources)
        return Explained(text, command=command(route, goal))

    def _plain(self, route: Route, goal: paths.Goal) -> explain_lib.Explanation | None:
        """explain's own choice for ``goal`` (no ``--via``), when it is ``route``."""
        found = explain_lib.explain_access(
            self.book.topology, route.start.workload, goal, request=self.book.request
        )
        if found.chain is None or found.chain.roles != route.roles:
            return None
        return found

    def furthest(self, starts: list[Start]) -> tuple[Route, paths.Goal]:
        """The route to the deepest role a cluster maps, else to the deepest role (module
        doc), and its goal; the service account's preferred start first."""
        best: tuple[tuple[int, int, int], Route, paths.Goal] | None = None
        for number, start in enumerate(sorted(starts, key=self._preference)):
            for route in self._routes(start):
                key = ROLE_PREFIX + route.roles[-1]
                mapped = [
                    e
                    for e in self.outgoing.get(key, [])
                    if e.hop in _MAPPINGS and e.status is Status.ALLOWED
                ]
                cluster = cluster_of(self.book.topology, mapped[0].target) if mapped else None
                rank = (int(cluster is not None), len(route.roles), -number)
                if best is not None and rank <= best[0]:
                    continue
                if cluster is not None:
                    goal: paths.Goal = self.book.kube_goal(cluster, route.roles[-1])
                else:
                    goal = self.book.aws_goal(route.roles[-1])
                best = (rank, route, goal)
        assert best is not None
        return best[1], best[2]

    def _preference(self, start: Start) -> tuple[int, tuple[str, ...]]:
        """Pod Identity first (it wins over the annotation), then the annotated role."""
        cluster = self.book.topology.cluster(start.workload.cluster)
        account = cluster.service_accounts.get((start.workload.namespace, start.workload.name))
        annotated = account.role_arn if account is not None else None
        if start.federation == paths.POD_IDENTITY:
            return 0, start.roles
        return (1 if start.roles[0] == annotated else 2), start.roles

    def _routes(self, start: Start) -> list[Route]:
        """Every role the start reaches over allowed or conditional AssumeRole edges, by
        the fewest hops, each with its route."""
        found = [Route(start, start.roles)]
        seen = set(start.roles)
        queue = deque(found)
        while queue:
            route = queue.popleft()
            if len(route.roles) >= paths.MAX_HOPS:
                continue
            for edge in sorted(
                self.outgoing.get(ROLE_PREFIX + route.roles[-1], []), key=self._edge_order
            ):
                target = edge.target.removeprefix(ROLE_PREFIX)
                if edge.hop is not Hop.ASSUME_ROLE or edge.status is Status.DENIED:
                    continue
                if target in seen:
                    continue
                seen.add(target)
                longer = Route(start, (*route.roles, target))
                found.append(longer)
                queue.append(longer)
        return found

    def _edge_order(self, edge: Edge) -> int:
        return int(self.book.node_ids[edge.target][1:])

    def verdict(self, key: str, ident: str) -> Verdict:
        """The service account's verdict (module doc)."""
        starts = sorted(
            (s for s in self.book.starts.values() if s.node == key), key=self._preference
        )
        node = self.graph.nodes[key]
        cluster = cluster_of(self.book.topology, key)
        subject = f"{cluster.info.name if cluster else node.group} {node.title}"
        first = self._preference(starts[0])[0] if starts else None
        preferred = [s for s in starts if self._preference(s)[0] == first]
        best: tuple[Status, str] | None = None
        for start in preferred:
            status, summary = self._start_verdict(key, start)
            if best is None or _ORDER.index(status) > _ORDER.index(best[0]):
                best = (status, summary)
        if best is None:
            return Verdict(ident, subject, Status.DENIED, "no role: nothing to assume")
        return Verdict(ident, subject, best[0], best[1])

    def _start_verdict(self, key: str, start: Start) -> tuple[Status, str]:
        hop = Hop.POD_IDENTITY if start.federation == paths.POD_IDENTITY else Hop.WEB_IDENTITY
        if start.federation is None:
            hop = Hop.IMDS
        keys: list[EdgeKey] = [(key, ROLE_PREFIX + start.roles[0], hop)]
        if len(start.roles) > 1:
            first, target = (ROLE_PREFIX + r for r in start.roles[:2])
            keys.append((first, target, Hop.TARGET_ROLE))
        status = Status.ALLOWED
        for edge_key in keys:
            edge = self.graph.edges.get(edge_key)
            if edge is None:
                continue
            if _ORDER.index(edge.status) < _ORDER.index(status):
                status = edge.status
            if edge.status is not Status.ALLOWED:
                why = self.edges[edge_key].cause or edge.note
                name = self.graph.nodes[edge_key[1]].title
                return status, self._described(f"{edge.hop.value} → {name} {status.value}: {why}")
        names = " → ".join(self.graph.nodes[ROLE_PREFIX + r].title for r in start.roles)
        return status, f"{hop.value} → {names} allowed"

    def _described(self, text: str) -> str:
        return describe(text, self.sources.unknowns) if self.sources is not None else text
