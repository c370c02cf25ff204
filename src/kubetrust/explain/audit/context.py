"""What audit rules share: the topology and, built once on first use, the indexes and the
reach graph (building them is most of an audit's cost at organization scale)."""

from __future__ import annotations

from collections.abc import Callable

from kubetrust.chain import graph
from kubetrust.explain.audit import reach as reaching
from kubetrust.model.topology import Topology


class AuditContext:
    """The topology plus lazily built :class:`graph.TrustIndex`, :class:`graph.EdgeJudge`
    and :class:`reach.ReachGraph`."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._index: graph.TrustIndex | None = None
        self._judge: graph.EdgeJudge | None = None
        self._reach: reaching.ReachGraph | None = None
        self._building = False

    @property
    def index(self) -> graph.TrustIndex:
        if self._index is None:
            self._index = graph.TrustIndex.of(self.topology)
        return self._index

    @property
    def judge(self) -> graph.EdgeJudge:
        if self._judge is None:
            self._judge = graph.EdgeJudge(self.topology)
        return self._judge

    @property
    def reach(self) -> reaching.ReachGraph:
        return self.build_reach()

    @property
    def has_reach(self) -> bool:
        """Whether the reach graph was built (an audit without reach rules never builds it)."""
        return self._reach is not None

    def build_reach(self, meanwhile: Callable[[], None] | None = None) -> reaching.ReachGraph:
        """The reach graph, built on first use; ``meanwhile`` runs while its edges are
        judged (:func:`kubetrust.explain.audit.reach.build`), and must not ask for the graph
        itself: that is refused rather than built twice."""
        if self._reach is None:
            if self._building:
                raise RuntimeError("the reach graph was asked for while it is being built")
            self._building = True
            try:
                self._reach = reaching.build(self.topology, self.index, self.judge, meanwhile)
            finally:
                self._building = False
        elif meanwhile is not None:
            meanwhile()
        return self._reach
