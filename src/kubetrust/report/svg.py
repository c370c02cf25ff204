"""The laid-out access graph as one SVG document (``graph --output svg`` and the report).

The document follows one contract, which the report's script and tests rely on:

- the root ``<svg class="kt-graph">`` holds all drawn content in one
  ``<g id="kt-viewport">`` (the report's script sets its ``transform`` to pan and zoom);
- a node is ``<g class="kt-node kind-KIND" id="nN" data-key=… data-group=…>`` with a
  ``<title>`` (the full label), a ``<rect>`` and a ``<text>`` of one ``<tspan>`` per row:
  the group caption (account or cluster: a layered layout cannot draw groups as boxes),
  the title, the lines;
- an edge is ``<g class="kt-edge hop-SLUG status-STATUS" id="eN" data-source="nN"
  data-target="nM">`` with a ``<title>`` (``hop: note``), the drawn
  ``<path class="kt-edge-line">`` and a wide transparent ``<path class="kt-edge-hit">``
  that is easy to click.

Styles are presentation attributes, so that the SVG looks right with no stylesheet: each hop
has its color, width and dash (EKS Pod Identity thick and blue as in Mermaid and DOT; IRSA's
web identity teal; aws-auth dotted purple, access entries dash-dotted green, AssumeRole
dark grey); a denied edge is red and ends in a cross, a conditional one is dashed orange.
Edge labels are not drawn on the canvas (they are what made pictures unreadable when they
overlapped): the hop and note are in the edge's tooltip, the report's side panel, and the
legend explains the lines. Between columns an edge is a cubic curve with horizontal
tangents, which stays inside the gap the layout leaves for it.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kubetrust.explain import graph_render
from kubetrust.explain.access_graph import AccessGraph, Edge, Hop, Status
from kubetrust.explain.access_graph_nodes import Node
from kubetrust.iac import symbolic
from kubetrust.report import layout as lay
from kubetrust.report.ids import ElementIds, element_ids

HOP_SLUGS = {
    Hop.WEB_IDENTITY: "web-identity",
    Hop.POD_IDENTITY: "pod-identity",
    Hop.TARGET_ROLE: "target-role",
    Hop.ASSUME_ROLE: "assume-role",
    Hop.SERVICE: "service",
    Hop.AWS_AUTH: "aws-auth",
    Hop.ACCESS_ENTRY: "access-entry",
    Hop.PERMISSIONS: "grants",
    Hop.IMDS: "imds",
}
"""The ``hop-SLUG`` class of each hop's edges (the report's script and CSS use them)."""


@dataclass(frozen=True, slots=True)
class LineStyle:
    """How an edge's line is drawn: stroke color, width and dash pattern (``""``: solid)."""

    color: str
    width: float
    dash: str = ""


HOP_STYLES = {
    Hop.WEB_IDENTITY: LineStyle("#00838f", 2.0),
    Hop.POD_IDENTITY: LineStyle(graph_render.POD_IDENTITY_COLOR, 3.5),
    Hop.TARGET_ROLE: LineStyle(graph_render.POD_IDENTITY_COLOR, 3.5),
    Hop.ASSUME_ROLE: LineStyle("#424242", 1.6),
    Hop.SERVICE: LineStyle("#9e9e9e", 1.4),
    Hop.AWS_AUTH: LineStyle("#6a1b9a", 2.2, "2 4"),
    Hop.ACCESS_ENTRY: LineStyle("#2e7d32", 2.2, "10 3 2 3"),
    Hop.PERMISSIONS: LineStyle("#7cb342", 1.4),
    Hop.IMDS: LineStyle("#8d6e63", 2.0, "1 3"),
}
"""Allowed edges' lines by hop (module doc); a status other than allowed changes the color."""
CONDITIONAL_DASH = "7 4"
HIT_WIDTH = 12.0
KIND_NAMES = {
    "serviceaccount": "service account",
    "subjects": "set of service accounts / pods",
    "role": "IAM role",
    "user": "IAM user",
    "principal": "principal not in the inputs",
    "service": "AWS service",
    "permissions": "AWS permissions",
    "kube-identity": "Kubernetes identity",
}
_CORNERS = {"serviceaccount": 14.0, "subjects": 14.0, "permissions": 0.0, "kube-identity": 2.0}
_TEXT_COLOR = "#212121"
_CAPTION_COLOR = "#607d8b"
_BORDER_COLOR = "#546e7a"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` safe in XML content and double-quoted attributes (characters XML cannot
    hold at all become U+FFFD)."""
    text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def edge_style(edge: Edge) -> LineStyle:
    """The hop's line, red when denied, dashed orange when conditional."""
    style = HOP_STYLES[edge.hop]
    if edge.status is Status.DENIED:
        return dataclasses.replace(style, color=graph_render.DENIED_COLOR)
    if edge.status is Status.CONDITIONAL:
        return LineStyle(graph_render.CONDITIONAL_COLOR, style.width, CONDITIONAL_DASH)
    return style


def edge_tooltip(edge: Edge) -> str:
    """``hop: note`` (just the hop when there is no note), and the status when not allowed."""
    text = edge.hop.value if not edge.note else f"{edge.hop.value}: {edge.note}"
    return text if edge.status is Status.ALLOWED else f"{text} ({edge.status.value})"


def describe_graph(graph: AccessGraph, unknowns: Mapping[str, str]) -> AccessGraph:
    """``graph`` with every Terraform placeholder in its labels and notes shown as "known
    after apply (ORIGIN)" (:func:`kubetrust.iac.symbolic.describe`); keys stay as they are.
    Done before the layout, so that boxes fit the text they show."""
    if not unknowns:
        return graph

    def shown(text: str) -> str:
        return symbolic.describe(text, unknowns)

    result = AccessGraph(groups={key: shown(label) for key, label in graph.groups.items()})
    for key, node in graph.nodes.items():
        lines = tuple(shown(line) for line in node.lines)
        result.nodes[key] = dataclasses.replace(node, title=shown(node.title), lines=lines)
    for edge_key, edge in graph.edges.items():
        result.edges[edge_key] = dataclasses.replace(edge, note=shown(edge.note))
    return result


# ---------------------------------------------------------------------- the document


def to_svg(
    graph: AccessGraph,
    *,
    layout: lay.GraphLayout | None = None,
    ids: ElementIds | None = None,
    standalone: bool = True,
) -> str:
    """``graph`` as SVG (module doc). ``standalone``: a file of its own, with the XML
    declaration and a legend; else for inlining in HTML (the page draws its own legend)."""
    layout = layout or lay.layout_graph(graph)
    ids = ids or element_ids(graph)
    body = [_defs()]
    body += [_edge(edge, ident, ids, layout) for ident, edge in ids.edges]
    for node in graph.sorted_nodes():
        body.append(_node(graph, node, ids.nodes[node.key], layout.boxes[node.key]))
    width, height = layout.width, layout.height
    if standalone:
        legend, legend_width, legend_height = _legend(height)
        body.append(legend)
        width, height = max(width, legend_width + 2 * lay.MARGIN), height + legend_height
    head = (
        '<svg xmlns="http://www.w3.org/2000/svg" class="kt-graph" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}">'
    )
    lines = [head, '<g id="kt-viewport">', *body, "</g>", "</svg>"]
    if standalone:
        lines.insert(0, '<?xml version="1.0" encoding="UTF-8"?>')
    return "\n".join(lines) + "\n"


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _marker_id(color: str) -> str:
    return "kt-arrow-" + color.lstrip("#")


def _defs() -> str:
    """Arrowheads (one per line color: SVG 1.1 markers cannot take the line's color) and
    the denied edges' cross."""
    colors = sorted(
        {s.color for s in HOP_STYLES.values()}
        | {graph_render.CONDITIONAL_COLOR, graph_render.DENIED_COLOR}
    )
    parts = ["<defs>"]
    for color in colors:
        parts.append(
            f'<marker id="{_marker_id(color)}" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
            f'orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="{color}"/></marker>'
        )
    parts.append(
        '<marker id="kt-cross" viewBox="0 0 12 12" refX="12" refY="6" markerWidth="12" '
        'markerHeight="12" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M2,2 L10,10 M2,10 L10,2" stroke="{graph_render.DENIED_COLOR}" '
        'stroke-width="2.2" fill="none"/></marker>'
    )
    parts.append("</defs>")
    return "".join(parts)


def path_data(points: tuple[lay.Point, ...]) -> str:
    """SVG path data through ``points``: straight where a segment is horizontal or vertical,
    a curve with horizontal tangents where it crosses a gap between columns."""
    if not points:
        return ""
    parts = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if x1 == x2 or y1 == y2:
            parts.append(f"L{_n(x2)},{_n(y2)}")
        else:
            middle = (x1 + x2) / 2
            parts.append(f"C{_n(middle)},{_n(y1)} {_n(middle)},{_n(y2)} {_n(x2)},{_n(y2)}")
    return " ".join(parts)


def _edge(edge: Edge, ident: str, ids: ElementIds, layout: lay.GraphLayout) -> str:
    style = edge_style(edge)
    marker = "kt-cross" if edge.status is Status.DENIED else _marker_id(style.color)
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    d = path_data(layout.routes[(edge.source, edge.target, edge.hop)])
    classes = f"kt-edge hop-{HOP_SLUGS[edge.hop]} status-{edge.status.value}"
    return (
        f'<g class="{classes}" id="{ident}" data-source="{ids.nodes[edge.source]}" '
        f'data-target="{ids.nodes[edge.target]}"><title>{escape(edge_tooltip(edge))}</title>'
        f'<path class="kt-edge-line" d="{d}" fill="none" stroke="{style.color}" '
        f'stroke-width="{style.width}"{dash} stroke-linecap="round" '
        f'marker-end="url(#{marker})"/>'
        f'<path class="kt-edge-hit" d="{d}" fill="none" stroke="transparent" '
        f'stroke-width="{HIT_WIDTH}"/></g>'
    )


def _node(graph: AccessGraph, node: Node, ident: str, box: lay.Box) -> str:
    rows = lay.label_rows(graph, node)
    full = "\n".join([node.title, *node.lines, graph.groups.get(node.group, node.group)])
    spans = []
    for row in rows:
        weight = ' font-weight="bold"' if row.role == "title" else ""
        color = f' fill="{_CAPTION_COLOR}"' if row.role == "caption" else ""
        spans.append(
            f'<tspan class="kt-{row.role}" x="{_n(box.x + lay.PAD_X)}" '
            f'y="{_n(box.y + row.baseline)}" font-size="{_n(row.font_size)}"{weight}{color}>'
            f"{escape(row.text)}</tspan>"
        )
    fill = graph_render.NODE_FILLS.get(node.kind, "#ffffff")
    corner = _CORNERS.get(node.kind, 6.0)
    return (
        f'<g class="kt-node kind-{escape(node.kind)}" id="{ident}" data-key="{escape(node.key)}" '
        f'data-group="{escape(node.group)}"><title>{escape(full)}</title>'
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" '
        f'height="{_n(box.height)}" rx="{_n(corner)}" fill="{fill}" stroke="{_BORDER_COLOR}" '
        f'stroke-width="1"/><text font-family="{lay.FONT_FAMILY}" fill="{_TEXT_COLOR}">'
        f"{''.join(spans)}</text></g>"
    )


# ---------------------------------------------------------------------- the legend

_LEGEND_ROW = 18.0
_LEGEND_SIZE = 11.0
_LEGEND_GAP = 32.0
_SAMPLE = 44.0


def _legend(top: float) -> tuple[str, float, float]:
    """The legend below the graph (hops, statuses, node kinds): ``(svg, width, height)``."""
    hops = [(HOP_STYLES[hop], hop.value, _marker_id(HOP_STYLES[hop].color), hop) for hop in Hop]
    statuses = [
        (
            HOP_STYLES[Hop.ASSUME_ROLE],
            "allowed",
            _marker_id(HOP_STYLES[Hop.ASSUME_ROLE].color),
            None,
        ),
        (
            LineStyle(graph_render.CONDITIONAL_COLOR, 1.6, CONDITIONAL_DASH),
            "conditional (allowed if a condition holds)",
            _marker_id(graph_render.CONDITIONAL_COLOR),
            None,
        ),
        (
            LineStyle(graph_render.DENIED_COLOR, 1.6),
            "denied (intended, but fails)",
            "kt-cross",
            None,
        ),
    ]
    parts = [f'<g class="kt-legend" font-family="{lay.FONT_FAMILY}" fill="{_TEXT_COLOR}">']
    x, y = lay.MARGIN, top + _LEGEND_ROW
    parts.append(_legend_heading(x, y, "Edges (hop)"))
    for number, (style, label, marker, hop) in enumerate(hops, 1):
        parts.append(_legend_line(x, y + number * _LEGEND_ROW, style, label, marker, hop))
    x += _legend_width([label for _, label, _, _ in hops])
    parts.append(_legend_heading(x, y, "Status"))
    for number, (style, label, marker, _) in enumerate(statuses, 1):
        parts.append(_legend_line(x, y + number * _LEGEND_ROW, style, label, marker, None))
    x += _legend_width([label for _, label, _, _ in statuses])
    parts.append(_legend_heading(x, y, "Nodes"))
    for number, (kind, name) in enumerate(KIND_NAMES.items(), 1):
        row = y + number * _LEGEND_ROW
        fill = graph_render.NODE_FILLS.get(kind, "#ffffff")
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(row - 10)}" width="24" height="13" rx="3" '
            f'fill="{fill}" stroke="{_BORDER_COLOR}"/>'
            f'<text x="{_n(x + 32)}" y="{_n(row)}" font-size="{_n(_LEGEND_SIZE)}">'
            f"{escape(name)}</text>"
        )
    parts.append("</g>")
    rows = max(len(hops), len(statuses), len(KIND_NAMES)) + 1
    width = x + _legend_width(list(KIND_NAMES.values())) - lay.MARGIN
    return "".join(parts), width, (rows + 1) * _LEGEND_ROW + lay.MARGIN


def _legend_width(labels: list[str]) -> float:
    """A legend column's width: the sample, its longest label, a gap."""
    longest = max(len(label) for label in labels)
    return _SAMPLE + 10 + longest * _LEGEND_SIZE * lay.CHAR_WIDTH + _LEGEND_GAP


def _legend_heading(x: float, y: float, text: str) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(_LEGEND_SIZE + 1)}" '
        f'font-weight="bold">{escape(text)}</text>'
    )


def _legend_line(
    x: float, y: float, style: LineStyle, label: str, marker: str, hop: Hop | None
) -> str:
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    slug = f' data-hop="{HOP_SLUGS[hop]}"' if hop is not None else ""
    middle = y - 4
    return (
        f'<path d="M{_n(x)},{_n(middle)} L{_n(x + _SAMPLE)},{_n(middle)}" fill="none" '
        f'stroke="{style.color}" stroke-width="{style.width}"{dash} '
        f'marker-end="url(#{marker})"{slug}/>'
        f'<text x="{_n(x + _SAMPLE + 10)}" y="{_n(y)}" font-size="{_n(_LEGEND_SIZE)}">'
        f"{escape(label)}</text>"
    )
