"""Render the access graph as Mermaid or Graphviz DOT text (``kubetrust graph``).

Both renderings are deterministic: nodes sorted by group, kind and label, edges by their
ends and hop, and short ids (``n1``, ``n2``...) given in that order, so that two runs over
the same inputs give the same bytes (a diff of two graphs shows a change of access, not
noise). Edges carry the hop (web identity, pod-identity, targetRoleArn, AssumeRole,
aws-auth, access entry, IMDS (node role): a cluster's pods acting as its node role); a
denied edge is drawn red with a cross, a conditional one dashed orange, each with its
note; EKS Pod Identity's allowed hops are thick and blue.
Grouping: one box per AWS account (roles, users, permission summaries) and one per EKS
cluster (its service accounts and the Kubernetes identities it maps roles to).

SVG is :mod:`kubetrust.report.svg`'s job (laid out in Python: no Graphviz needed).
"""

from __future__ import annotations

from collections.abc import Iterable

from kubetrust.explain.access_graph import AccessGraph, Edge, Hop, Status
from kubetrust.explain.access_graph_nodes import Node

DENIED_COLOR = "#c62828"
POD_IDENTITY_COLOR = "#1565c0"
POD_IDENTITY_HOPS = frozenset({Hop.POD_IDENTITY, Hop.TARGET_ROLE})
"""EKS Pod Identity's hops, drawn thick and blue (IRSA's web identity and AssumeRole are
thin and black), so the two federations read apart at a glance."""
CONDITIONAL_COLOR = "#ef6c00"
NODE_FILLS = {
    "serviceaccount": "#e3f2fd",
    "subjects": "#e3f2fd",
    "role": "#fff8e1",
    "user": "#f3e5f5",
    "principal": "#eeeeee",
    "service": "#eeeeee",
    "permissions": "#e8f5e9",
    "kube-identity": "#e0f7fa",
}
MAX_LINE = 80


def node_ids(nodes: Iterable[Node]) -> dict[str, str]:
    """``n1``, ``n2``… in the nodes' order (also the ids of the SVG and the report)."""
    return {node.key: f"n{number}" for number, node in enumerate(nodes, 1)}


def sorted_edges(graph: AccessGraph, ids: dict[str, str]) -> list[Edge]:
    """Edges in the order of their ends' ids, then hop."""

    def key(edge: Edge) -> tuple[int, int, str]:
        return int(ids[edge.source][1:]), int(ids[edge.target][1:]), edge.hop.value

    return sorted(graph.edges.values(), key=key)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def _edge_label(edge: Edge) -> str:
    if edge.note and edge.status is not Status.ALLOWED:
        return f"{edge.hop.value}: {_clip(edge.note)}"
    return edge.hop.value


def _groups(graph: AccessGraph, nodes: list[Node]) -> list[tuple[str, str, list[Node]]]:
    """``(group key, label, nodes)`` in the nodes' order."""
    found: dict[str, list[Node]] = {}
    for node in nodes:
        found.setdefault(node.group, []).append(node)
    return [(key, graph.groups.get(key, key), members) for key, members in found.items()]


# ---------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    """Mermaid label text: quotes and angle brackets as entity codes."""
    return (
        text.replace("&", "#amp;")
        .replace("`", "'")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
    )


_MERMAID_SHAPES = {
    "serviceaccount": ('(["', '"])'),
    "subjects": ('(["', '"])'),
    "permissions": ('[/"', '"/]'),
    "kube-identity": ('{{"', '"}}'),
    "service": ('[("', '")]'),
}


def to_mermaid(graph: AccessGraph) -> str:
    """A Mermaid ``flowchart LR`` of ``graph`` (module doc)."""
    nodes = graph.sorted_nodes()
    ids = node_ids(nodes)
    lines = ["flowchart LR"]
    for number, (_, label, members) in enumerate(_groups(graph, nodes), 1):
        lines.append(f'  subgraph g{number}["{_mermaid_text(label)}"]')
        for node in members:
            text = "<br/>".join(_mermaid_text(_clip(t)) for t in (node.title, *node.lines))
            left, right = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
            lines.append(f"    {ids[node.key]}{left}{text}{right}")
        lines.append("  end")
    styles: list[str] = []
    for index, edge in enumerate(sorted_edges(graph, ids)):
        label = _mermaid_text(_edge_label(edge))
        source, target = ids[edge.source], ids[edge.target]
        if edge.status is Status.DENIED:
            lines.append(f'  {source} -- "{label}" --x {target}')
            styles.append(f"  linkStyle {index} stroke:{DENIED_COLOR},color:{DENIED_COLOR}")
        elif edge.status is Status.CONDITIONAL:
            lines.append(f'  {source} -. "{label}" .-> {target}')
            styles.append(f"  linkStyle {index} stroke:{CONDITIONAL_COLOR}")
        elif edge.hop in POD_IDENTITY_HOPS:
            lines.append(f'  {source} == "{label}" ==> {target}')
            styles.append(
                f"  linkStyle {index} stroke:{POD_IDENTITY_COLOR},color:{POD_IDENTITY_COLOR}"
            )
        else:
            lines.append(f'  {source} -- "{label}" --> {target}')
    lines += styles
    for kind, fill in sorted(NODE_FILLS.items()):
        named = sorted((ids[n.key] for n in nodes if n.kind == kind), key=lambda i: int(i[1:]))
        if named:
            lines.append(f"  classDef {kind.replace('-', '_')} fill:{fill},stroke:#555")
            lines.append(f"  class {','.join(named)} {kind.replace('-', '_')}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- DOT


def _dot_text(text: str) -> str:
    """A DOT double-quoted string's content."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_DOT_SHAPES = {
    "serviceaccount": "ellipse",
    "subjects": "ellipse",
    "permissions": "note",
    "kube-identity": "hexagon",
    "service": "cylinder",
}


def to_dot(graph: AccessGraph) -> str:
    """A Graphviz ``digraph`` of ``graph`` (module doc)."""
    nodes = graph.sorted_nodes()
    ids = node_ids(nodes)
    lines = [
        "digraph access {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=10, style="rounded,filled", shape=box];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for number, (_, label, members) in enumerate(_groups(graph, nodes), 1):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f'    label="{_dot_text(label)}"; style="rounded"; color="#9e9e9e";')
        for node in members:
            text = "\\n".join(_dot_text(_clip(t)) for t in (node.title, *node.lines))
            shape = _DOT_SHAPES.get(node.kind, "box")
            fill = NODE_FILLS.get(node.kind, "#ffffff")
            lines.append(
                f'    {ids[node.key]} [label="{text}", shape={shape}, fillcolor="{fill}"];'
            )
        lines.append("  }")
    for edge in sorted_edges(graph, ids):
        attributes = [f'label="{_dot_text(_edge_label(edge))}"']
        if edge.status is Status.DENIED:
            attributes += [
                f'color="{DENIED_COLOR}"',
                f'fontcolor="{DENIED_COLOR}"',
                "style=dashed",
                "arrowhead=tee",
            ]
        elif edge.status is Status.CONDITIONAL:
            attributes += [f'color="{CONDITIONAL_COLOR}"', f'fontcolor="{CONDITIONAL_COLOR}"']
            attributes.append("style=dashed")
        elif edge.hop in POD_IDENTITY_HOPS:
            attributes += [
                f'color="{POD_IDENTITY_COLOR}"',
                f'fontcolor="{POD_IDENTITY_COLOR}"',
                "style=bold",
            ]
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = {"mermaid": to_mermaid, "dot": to_dot}
"""Text renderers by ``--format`` name (SVG: :func:`kubetrust.report.svg.to_svg`)."""
