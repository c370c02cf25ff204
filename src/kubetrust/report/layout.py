"""Where each node of the access graph goes, and how each edge runs.

A left-to-right layered layout: igraph's Sugiyama layout (:func:`igraph.Graph.layout_sugiyama`:
cycles broken by an approximate minimum feedback arc set, longest-path layering, barycenter
crossing reduction, one *dummy* point per layer an edge passes through) decides each node's
layer and its order within the layer; this module turns igraph's layers into columns,
sizes each box from its label, and spaces each column so that boxes never overlap:

- a column is as wide as its widest box, and columns are :data:`COLUMN_GAP` apart: edges
  cross from one column to the next in that gap, where no box is;
- within a column, boxes and the points where long edges pass (igraph's dummies) keep
  igraph's order and sit as close as they can to igraph's position, with at least
  :data:`NODE_GAP` between two boxes and :data:`ROUTE_GAP` around a passing edge (a
  least-squares fit under those gaps: isotonic regression by pooling adjacent violators);
- an edge leaves its source box's right border, runs across each column it passes at its
  dummy's height, and enters its target box's left border. An edge igraph had to reverse to
  break a cycle (AssumeRole role → role cycles exist) runs the other way: from the
  source's left border to the target's right border. A self-loop, or an edge within one
  column, leaves and re-enters by the right border through the gap beside the column.
  Where several edges meet one side of a box they get separate ports along it, in the
  order of where they come from, so that they do not cross at the box.

Labels are drawn in a monospace font (:data:`FONT_FAMILY`), so a box's width follows from
its longest line's length: :func:`label_rows` gives the rows the SVG draws and
:func:`box_size` the box that holds them, both from the constants below.

Deterministic: nodes are fed to igraph in :meth:`AccessGraph.sorted_nodes` order and edges
in :func:`kubetrust.explain.graph_render.sorted_edges` order, so the same graph gives the
same numbers. igraph is called twice: once for the layers, once, with those layers fixed,
on the graph where each edge longer than one layer is a chain of dummy vertices, for the
order within each layer. igraph's own edge routing is not used (1.0.0 misnumbers the
routes of a graph with a self-loop or an isolated vertex). Self-loops are never given to
igraph (they are routed here). igraph is pinned at 0.11.8: 1.0.0's Sugiyama layout reads out
of bounds and crashes the process after some hundreds of layouts (docs/explain.md,
"Pictures without Graphviz").
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import igraph

from kubetrust.explain import graph_render
from kubetrust.explain.access_graph import AccessGraph
from kubetrust.explain.access_graph_nodes import Node
from kubetrust.report.ids import EdgeKey

Point = tuple[float, float]

FONT_FAMILY = "DejaVu Sans Mono, monospace"
CHAR_WIDTH = 0.62
"""A character's advance in em. DejaVu Sans Mono's is 0.602 em (Menlo's too, Courier's 0.6):
a little more leaves room for a fallback font."""
CAPTION_SIZE = 10.0
"""The group caption (account or cluster) at the top of each box, in px."""
TITLE_SIZE = 13.0
LINE_SIZE = 11.0
LINE_SPACING = 1.3
"""A row's height, in em of its font size."""
PAD_X = 10.0
PAD_Y = 6.0
MIN_BOX_WIDTH = 80.0
MAX_CHARS = graph_render.MAX_LINE
"""Longer label lines are clipped (with ``…``) as in Mermaid and DOT; the full text is in
the node's tooltip and the report's side panel."""
NODE_GAP = 24.0
ROUTE_GAP = 12.0
COLUMN_GAP = 120.0
LOOP_REACH = 28.0
"""How far a self-loop (or an edge within one column) reaches into the gap to its right."""
LOOP_STAGGER = 6.0
MARGIN = 20.0


@dataclass(frozen=True, slots=True)
class Box:
    """A node's box in SVG user units (px at zoom 1): top-left corner, width and height."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True, slots=True)
class GraphLayout:
    """``boxes``: node key → box; ``routes``: edge key → polyline from the source box's
    border to the target box's border; ``width``/``height``: the drawing's size."""

    boxes: dict[str, Box]
    routes: dict[EdgeKey, tuple[Point, ...]]
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class TextRow:
    """One row of a node's label: ``role`` is ``caption`` (the node's group), ``title`` or
    ``line``; ``baseline`` is measured from the box's top."""

    text: str
    role: str
    font_size: float
    baseline: float


def clip(text: str) -> str:
    """``text`` cut to :data:`MAX_CHARS` characters (the last one ``…``)."""
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def label_rows(graph: AccessGraph, node: Node) -> tuple[TextRow, ...]:
    """The rows of ``node``'s label: its group's caption, its title, its lines."""
    caption = graph.groups.get(node.group, node.group)
    rows = [(caption, "caption", CAPTION_SIZE), (node.title, "title", TITLE_SIZE)]
    rows += [(line, "line", LINE_SIZE) for line in node.lines]
    result: list[TextRow] = []
    top = PAD_Y
    for text, role, size in rows:
        height = size * LINE_SPACING
        # the baseline sits about a fifth of the row above its bottom (descenders below)
        result.append(TextRow(clip(text), role, size, top + height - size * 0.28))
        top += height
    return tuple(result)


def text_width(row: TextRow) -> float:
    """The width ``row`` takes in the monospace font."""
    return len(row.text) * row.font_size * CHAR_WIDTH


def box_size(rows: Sequence[TextRow]) -> tuple[float, float]:
    """``(width, height)`` of the box that holds ``rows`` with its padding."""
    width = max((text_width(row) for row in rows), default=0.0) + 2 * PAD_X
    height = sum(row.font_size * LINE_SPACING for row in rows) + 2 * PAD_Y
    return max(width, MIN_BOX_WIDTH), height


# ---------------------------------------------------------------------- igraph


def _layers(count: int, edges: list[tuple[int, int]]) -> list[int]:
    """igraph's layer of each of ``count`` vertices (cycles broken, longest path)."""
    laid = igraph.Graph(n=count, edges=edges, directed=True).layout_sugiyama()
    return [round(float(y)) for _, y in list(laid.coords)[:count]]


def _positions(layers: list[int], edges: list[tuple[int, int]]) -> list[float]:
    """igraph's position of each vertex within its (given) layer, crossings reduced; every
    edge spans one layer, so igraph adds no dummies of its own."""
    graph = igraph.Graph(n=len(layers), edges=edges, directed=True)
    laid = graph.layout_sugiyama(layers=layers)
    return [float(x) for x, _ in list(laid.coords)[: len(layers)]]


@dataclass(frozen=True, slots=True)
class _Ranked:
    """Per node its layer and position; per edge number (of the edges given to igraph), its
    dummies in travel order as ``(position, layer)``."""

    layers: list[int]
    positions: list[float]
    dummies: dict[int, list[tuple[float, int]]]


def _rank(count: int, edges: list[tuple[int, int]]) -> _Ranked:
    """Layers first; then each edge longer than one layer becomes a chain through one dummy
    vertex per layer it crosses, and igraph orders every layer with the dummies in it."""
    if count == 0:
        return _Ranked([], [], {})
    layers = _layers(count, edges)
    all_layers = list(layers)
    chains: dict[int, list[int]] = {}
    links: list[tuple[int, int]] = []
    for number, (source, target) in enumerate(edges):
        step = 1 if layers[target] > layers[source] else -1
        passed = list(range(layers[source] + step, layers[target], step))
        chain = [source, *range(len(all_layers), len(all_layers) + len(passed)), target]
        all_layers += passed
        chains[number] = chain[1:-1]
        for one, other in itertools.pairwise(chain):
            if all_layers[one] != all_layers[other]:
                links.append((one, other) if all_layers[one] < all_layers[other] else (other, one))
    positions = _positions(all_layers, links)
    dummies = {
        number: [(positions[d], all_layers[d]) for d in chain]
        for number, chain in chains.items()
        if chain
    }
    return _Ranked(layers, positions[:count], dummies)


# ---------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class _Item:
    """Something a column stacks: a box (``key`` a node key) or a dummy (``key`` an
    ``(edge number, layer)`` pair) of height 0."""

    key: str | tuple[int, int]
    position: float
    height: float

    @property
    def is_box(self) -> bool:
        return isinstance(self.key, str)


def spread(desired: Sequence[float], gaps: Sequence[float]) -> list[float]:
    """Centers as close as possible (least squares) to ``desired``, in the same order, with
    ``center[i + 1] - center[i] >= gaps[i]``: isotonic regression of ``desired`` minus the
    running sum of gaps (pool adjacent violators), that sum added back."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [sum, count]
    for value, offset in zip(desired, offsets, strict=True):
        blocks.append([value - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted: list[float] = []
    for total, count in blocks:
        fitted += [total / count] * int(count)
    return [value + offset for value, offset in zip(fitted, offsets, strict=True)]


def _stack(items: list[_Item], unit: float) -> list[float]:
    """The centers of one column's items (sorted by igraph's position)."""
    gaps = []
    for above, below in itertools.pairwise(items):
        gap = NODE_GAP if above.is_box and below.is_box else ROUTE_GAP
        gaps.append(above.height / 2 + below.height / 2 + gap)
    return spread([item.position * unit for item in items], gaps)


# ---------------------------------------------------------------------- the layout


@dataclass(slots=True)
class _Plan:
    """The layout under construction: columns' x extents, boxes, dummy heights."""

    lefts: list[float]
    rights: list[float]
    layer: dict[str, int]
    boxes: dict[str, Box]
    dummy_y: dict[tuple[int, int], float]


def layout_graph(graph: AccessGraph) -> GraphLayout:
    """The layered layout of ``graph`` (module doc)."""
    nodes = graph.sorted_nodes()
    if not nodes:
        return GraphLayout({}, {}, 2 * MARGIN, 2 * MARGIN)
    index = {node.key: number for number, node in enumerate(nodes)}
    edges = graph_render.sorted_edges(graph, graph_render.node_ids(nodes))
    keys = [(e.source, e.target, e.hop) for e in edges]
    ranked_edges = [key for key in keys if key[0] != key[1]]
    ranked = _rank(len(nodes), [(index[s], index[t]) for s, t, _ in ranked_edges])
    sizes = {node.key: box_size(label_rows(graph, node)) for node in nodes}
    layer = {node.key: ranked.layers[index[node.key]] for node in nodes}
    plan = _place(nodes, sizes, layer, ranked.positions, ranked.dummies)
    routes = _Router(plan, ranked_edges, ranked.dummies).routes(keys)
    return _framed(plan, routes)


def _place(
    nodes: list[Node],
    sizes: dict[str, tuple[float, float]],
    layer: dict[str, int],
    positions: list[float],
    dummies: dict[int, list[tuple[float, int]]],
) -> _Plan:
    """Columns, then each column's stack (module doc)."""
    count = max(layer.values()) + 1
    columns: list[list[_Item]] = [[] for _ in range(count)]
    widths = [0.0] * count
    for number, node in enumerate(nodes):
        width, height = sizes[node.key]
        columns[layer[node.key]].append(_Item(node.key, positions[number], height))
        widths[layer[node.key]] = max(widths[layer[node.key]], width)
    for edge_number, points in dummies.items():
        for position, at in points:
            columns[at].append(_Item((edge_number, at), position, 0.0))
    lefts, rights = [], []
    x = MARGIN
    for width in widths:
        lefts.append(x)
        rights.append(x + width)
        x += width + COLUMN_GAP
    unit = statistics.median(h for _, h in sizes.values()) + NODE_GAP
    plan = _Plan(lefts, rights, layer, {}, {})
    for column, items in enumerate(columns):
        items.sort(key=_item_order)
        for item, center in zip(items, _stack(items, unit), strict=True):
            if isinstance(item.key, str):
                width, height = sizes[item.key]
                left = lefts[column] + (widths[column] - width) / 2
                plan.boxes[item.key] = Box(left, center - height / 2, width, height)
            else:
                plan.dummy_y[item.key] = center
    return plan


def _item_order(item: _Item) -> tuple[float, int, str, int]:
    """igraph's position; ties (never expected) broken the same way on every run."""
    if isinstance(item.key, str):
        return item.position, 0, item.key, 0
    return item.position, 1, "", item.key[0]


def _framed(plan: _Plan, routes: dict[EdgeKey, tuple[Point, ...]]) -> GraphLayout:
    """Everything moved so that the topmost thing sits :data:`MARGIN` below the top."""
    tops = [box.y for box in plan.boxes.values()]
    tops += [y for points in routes.values() for _, y in points]
    shift = MARGIN - min(tops)
    boxes = {
        key: Box(box.x, box.y + shift, box.width, box.height) for key, box in plan.boxes.items()
    }
    moved = {key: tuple((x, y + shift) for x, y in points) for key, points in routes.items()}
    xs = [box.right for box in boxes.values()] + [x for pts in moved.values() for x, _ in pts]
    ys = [box.bottom for box in boxes.values()] + [y for pts in moved.values() for _, y in pts]
    return GraphLayout(boxes, moved, max(xs) + MARGIN, max(ys) + MARGIN)


# ---------------------------------------------------------------------- routes


@dataclass(frozen=True, slots=True)
class _End:
    """One end of an edge on one side of a box, ordered by where the edge comes from."""

    toward: float
    order: int
    edge: EdgeKey
    is_source: bool


class _Router:
    """Each edge's polyline through its dummies, with ports spread along box sides."""

    def __init__(
        self, plan: _Plan, ranked: list[EdgeKey], dummies: dict[int, list[tuple[float, int]]]
    ) -> None:
        self.plan = plan
        self.passes: dict[EdgeKey, list[tuple[int, float]]] = {}
        for number, key in enumerate(ranked):
            points = dummies.get(number, [])
            self.passes[key] = [(at, plan.dummy_y[(number, at)]) for _, at in points]

    def routes(self, keys: list[EdgeKey]) -> dict[EdgeKey, tuple[Point, ...]]:
        ports = self._ports(keys)
        result: dict[EdgeKey, tuple[Point, ...]] = {}
        loops = 0
        for key in keys:
            start, end = ports[(key, True)], ports[(key, False)]
            if self._direction(key) == 0:
                result[key] = self._loop(key, start, end, loops)
                loops += 1
            else:
                result[key] = _deduplicated(self._through(key, start, end))
        return result

    def _direction(self, key: EdgeKey) -> int:
        """1 forward (left to right), -1 reversed, 0 a self-loop or within one column."""
        start, end = self.plan.layer[key[0]], self.plan.layer[key[1]]
        return (end > start) - (end < start)

    def _leaves_right(self, key: EdgeKey, is_source: bool) -> bool:
        direction = self._direction(key)
        return direction == 0 or (direction == 1) == is_source

    def _toward(self, key: EdgeKey, is_source: bool) -> float:
        """The height of the next point along the edge, seen from this end."""
        passes = self.passes.get(key, [])
        if key[0] == key[1]:
            box = self.plan.boxes[key[0]]
            return box.y if is_source else box.bottom
        if passes:
            return passes[0][1] if is_source else passes[-1][1]
        other = self.plan.boxes[key[1] if is_source else key[0]]
        return other.y + other.height / 2

    def _ports(self, keys: list[EdgeKey]) -> dict[tuple[EdgeKey, bool], float]:
        """Each edge end's height on its box side (module doc)."""
        sides: dict[tuple[str, bool], list[_End]] = {}
        for order, key in enumerate(keys):
            for is_source in (True, False):
                node = key[0] if is_source else key[1]
                end = _End(self._toward(key, is_source), order, key, is_source)
                sides.setdefault((node, self._leaves_right(key, is_source)), []).append(end)
        result: dict[tuple[EdgeKey, bool], float] = {}
        for (node, _), ends in sides.items():
            box = self.plan.boxes[node]
            ends.sort(key=lambda e: (e.toward, e.order, not e.is_source))
            for number, end in enumerate(ends, 1):
                result[(end.edge, end.is_source)] = box.y + box.height * number / (len(ends) + 1)
        return result

    def _through(self, key: EdgeKey, start: float, end: float) -> list[Point]:
        """Source border → across each column passed → target border (module doc)."""
        plan, source, target = self.plan, self.plan.boxes[key[0]], self.plan.boxes[key[1]]
        forward = self._direction(key) == 1
        near, far = (plan.rights, plan.lefts) if forward else (plan.lefts, plan.rights)
        first, last = plan.layer[key[0]], plan.layer[key[1]]
        points: list[Point] = [
            (source.right if forward else source.x, start),
            (near[first], start),
        ]
        for at, y in self.passes.get(key, []):
            points += [(far[at], y), (near[at], y)]
        points += [(far[last], end), (target.x if forward else target.right, end)]
        return points

    def _loop(self, key: EdgeKey, start: float, end: float, number: int) -> tuple[Point, ...]:
        """Out of the right border, through the gap beside the column, back in."""
        column = self.plan.layer[key[0]]
        reach = self.plan.rights[column] + LOOP_REACH + LOOP_STAGGER * (number % 4)
        source, target = self.plan.boxes[key[0]], self.plan.boxes[key[1]]
        return (
            (source.right, start),
            (reach, start),
            (reach, end),
            (target.right, end),
        )


def _deduplicated(points: Iterable[Point]) -> tuple[Point, ...]:
    """``points`` without a point equal to the one before it (a box as wide as its column
    leaves from the column's edge)."""
    result: list[Point] = []
    for point in points:
        if not result or result[-1] != point:
            result.append(point)
    return tuple(result)
