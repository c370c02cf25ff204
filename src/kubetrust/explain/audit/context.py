"""What audit rules share: the topology and, built once on first use, the indexes and the
reach graph (building them is most of an audit's cost at organization scale)."""

from __future__ import annotations

from kubetrust.chain import graph
from kubetrust.explain.audit import reach
from kubetrust.model.topology import Topology


class AuditContext:
    """The topology plus lazily built :class:`graph.TrustIndex`, :class:`graph.EdgeJudge`
    and :class:`reach.ReachGraph`."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._index: graph.TrustIndex | None = None
        self._judge: graph.EdgeJudge | None = None
        self._reach: reach.ReachGraph | None = None

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
    def reach(self) -> reach.ReachGraph:
        if self._reach is None:
            self._reach = reach.build(self.topology, self.index, self.judge)
        return self._reach
