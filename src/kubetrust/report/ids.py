"""The element ids the SVG, the report's data and its script share.

Nodes are ``n1``, ``n2``… in :meth:`AccessGraph.sorted_nodes` order and edges ``e1``,
``e2``… in the order of their ends' ids, then hop — the order ``kubetrust graph`` renders
Mermaid and DOT in (:mod:`kubetrust.explain.graph_render`), so the same inputs give the same
ids on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubetrust.explain import graph_render
from kubetrust.explain.access_graph import AccessGraph, Edge, Hop

EdgeKey = tuple[str, str, Hop]


@dataclass(frozen=True, slots=True)
class ElementIds:
    """``nodes``: node key → ``nN``; ``edges``: the edges in id order with their ``eN``."""

    nodes: dict[str, str]
    edges: tuple[tuple[str, Edge], ...]

    def edge_id(self, key: EdgeKey) -> str:
        return next(
            ident for ident, edge in self.edges if (edge.source, edge.target, edge.hop) == key
        )


def element_ids(graph: AccessGraph) -> ElementIds:
    """The ids of ``graph``'s nodes and edges (module doc)."""
    nodes = graph_render.node_ids(graph.sorted_nodes())
    edges = graph_render.sorted_edges(graph, nodes)
    return ElementIds(nodes, tuple((f"e{number}", edge) for number, edge in enumerate(edges, 1)))
