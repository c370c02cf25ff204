"""The SVG (``kubetrust.report.svg``) against its contract: what the report's script and
tests find in it (ids, classes, data attributes), styles that tell hops and statuses apart,
text escaped, labels inside their boxes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import graphkit
import pytest

from kubetrust.explain.access_graph import AccessGraph, Hop, Status
from kubetrust.explain.access_graph_nodes import Node
from kubetrust.iac import symbolic
from kubetrust.report import svg
from kubetrust.report.ids import element_ids

NS = {"s": "http://www.w3.org/2000/svg"}
DEJAVU_MONO_ADVANCE = 0.602
EVIL = "role<&\">'x"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.removeprefix('<?xml version="1.0" encoding="UTF-8"?>\n'))


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{{{NS['s']}}}g") if cls in g.get("class", "").split()]


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AccessGraph]:
    return graphkit.example_graphs(tmp_path_factory.mktemp("graphs"))


def test_the_contract_on_every_example(examples: dict[str, AccessGraph]) -> None:
    for name, graph in examples.items():
        ids = element_ids(graph)
        root = parse(svg.to_svg(graph))
        assert root.get("class") == "kt-graph", name
        width, height = float(root.get("width", "0")), float(root.get("height", "0"))
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
        assert width > 0 and height > 0
        (viewport,) = list(root)
        assert viewport.get("id") == "kt-viewport"
        nodes = groups(root, "kt-node")
        assert [n.get("id") for n in nodes] == [ids.nodes[n.key] for n in graph.sorted_nodes()]
        for element in nodes:
            node = graph.nodes[element.get("data-key", "")]
            assert element.get("class") == f"kt-node kind-{node.kind}"
            assert element.get("data-group") == node.group
            spans = element.findall("s:text/s:tspan", NS)
            assert [s.get("class") for s in spans[:2]] == ["kt-caption", "kt-title"]
            assert len(spans) == 2 + len(node.lines)
            assert element.find("s:title", NS) is not None
            assert element.find("s:rect", NS) is not None
        edges = groups(root, "kt-edge")
        assert [e.get("id") for e in edges] == [ident for ident, _ in ids.edges], name
        for element, (_, edge) in zip(edges, ids.edges, strict=True):
            slug = svg.HOP_SLUGS[edge.hop]
            assert element.get("class") == f"kt-edge hop-{slug} status-{edge.status.value}"
            assert element.get("data-source") == ids.nodes[edge.source]
            assert element.get("data-target") == ids.nodes[edge.target]
            paths = element.findall("s:path", NS)
            assert [p.get("class") for p in paths] == ["kt-edge-line", "kt-edge-hit"]
            assert paths[0].get("d") == paths[1].get("d") and paths[0].get("d", "").startswith("M")
            title = element.find("s:title", NS)
            assert title is not None and (title.text or "").startswith(edge.hop.value)


def test_labels_fit_their_boxes(examples: dict[str, AccessGraph]) -> None:
    """Measured from the SVG itself: every row starts inside its box and ends before its
    right border at DejaVu Sans Mono's real width, and sits above its bottom."""
    for name, graph in examples.items():
        for element in groups(parse(svg.to_svg(graph)), "kt-node"):
            rect = element.find("s:rect", NS)
            assert rect is not None
            left, top = float(rect.get("x", "0")), float(rect.get("y", "0"))
            right = left + float(rect.get("width", "0"))
            bottom = top + float(rect.get("height", "0"))
            for span in element.findall("s:text/s:tspan", NS):
                x, y = float(span.get("x", "0")), float(span.get("y", "0"))
                size = float(span.get("font-size", "0"))
                end = x + len(span.text or "") * size * DEJAVU_MONO_ADVANCE
                assert left < x and end <= right and top + size <= y <= bottom, (name, span.text)


def _styled(graph: AccessGraph) -> dict[tuple[str, str], ET.Element]:
    """``(hop slug, status)`` → the line of the first such edge."""
    found: dict[tuple[str, str], ET.Element] = {}
    for element in groups(parse(svg.to_svg(graph)), "kt-edge"):
        classes = element.get("class", "").split()
        line = element.find("s:path", NS)
        assert line is not None
        found.setdefault((classes[1][4:], classes[2][7:]), line)
    return found


def _every_hop_and_status() -> AccessGraph:
    graph = AccessGraph()
    for name in ("a", "b"):
        graph.add_node(Node(name, "role", name, "account:1"), "account 1")
    for hop in Hop:
        for status in Status:
            graph.add_node(Node(f"{hop.name}-{status.name}", "role", "x", "account:1"), "a 1")
            graph.add_edge("a", f"{hop.name}-{status.name}", hop, status, "why")
    return graph


def test_styles_tell_hops_and_statuses_apart() -> None:
    lines = _styled(_every_hop_and_status())
    assert len(lines) == len(Hop) * len(Status)

    def look(slug: str, status: str = "allowed") -> tuple[str | None, ...]:
        line = lines[(slug, status)]
        return line.get("stroke"), line.get("stroke-width"), line.get("stroke-dasharray")

    drawn = {look(slug) for slug in ("web-identity", "assume-role", "aws-auth", "access-entry")}
    assert len(drawn) == 4  # IRSA, AssumeRole, aws-auth, access entries: all different
    assert look("pod-identity")[0] == "#1565c0" and float(look("pod-identity")[1] or 0) >= 3
    assert look("target-role") == look("pod-identity")
    for slug in svg.HOP_SLUGS.values():
        denied = lines[(slug, "denied")]
        assert denied.get("stroke") == "#c62828"
        assert denied.get("marker-end") == "url(#kt-cross)"
        assert lines[(slug, "allowed")].get("marker-end", "").startswith("url(#kt-arrow-")
        conditional = lines[(slug, "conditional")]
        assert conditional.get("stroke") == "#ef6c00" and conditional.get("stroke-dasharray")


def test_markers_are_defined() -> None:
    root = parse(svg.to_svg(_every_hop_and_status()))
    defined = {m.get("id") for m in root.iter(f"{{{NS['s']}}}marker")}
    used = {
        p.get("marker-end", "")[5:-1]
        for p in root.iter(f"{{{NS['s']}}}path")
        if p.get("marker-end")
    }
    assert used and used <= defined and "kt-cross" in used


def test_text_is_escaped() -> None:
    graph = AccessGraph()
    graph.add_node(Node(f"role:{EVIL}", "role", EVIL, f"account:{EVIL}", (EVIL,)), EVIL)
    graph.add_node(Node("b", "role", "b", "account:1"), "account 1")
    graph.add_edge(f"role:{EVIL}", "b", Hop.ASSUME_ROLE, Status.DENIED, EVIL + "\x07")
    text = svg.to_svg(graph)
    root = parse(text)
    (node,) = [n for n in groups(root, "kt-node") if n.get("data-key") == f"role:{EVIL}"]
    assert node.get("data-group") == f"account:{EVIL}"
    assert [s.text for s in node.findall("s:text/s:tspan", NS)] == [EVIL, EVIL, EVIL]
    (edge,) = groups(root, "kt-edge")
    title = edge.find("s:title", NS)
    assert title is not None and title.text == f"AssumeRole: {EVIL}\ufffd (denied)"
    assert "<&" not in text


def test_the_seed_escapes_a_mapped_username(tmp_path: Path) -> None:
    world = graphkit.seed_world()
    world["clusters"][1]["aws_auth"]["mapRoles"][0]["username"] = 'dev"<b>&x'
    from kubetrust.explain.access_graph import build_access_graph

    graph = build_access_graph(graphkit.build(world, tmp_path / "b"))
    titles = [s.text for s in parse(svg.to_svg(graph)).iter(f"{{{NS['s']}}}tspan")]
    assert 'user dev"<b>&x' in titles


def test_standalone_and_inline(examples: dict[str, AccessGraph]) -> None:
    graph = examples["seed"]
    alone, inline = svg.to_svg(graph), svg.to_svg(graph, standalone=False)
    assert alone.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert inline.startswith("<svg ") and "<?xml" not in inline
    assert groups(parse(alone), "kt-legend") and not groups(parse(inline), "kt-legend")
    legend = {p.get("data-hop") for p in parse(alone).iter(f"{{{NS['s']}}}path")}
    assert set(svg.HOP_SLUGS.values()) <= legend
    captions = [
        s for s in parse(inline).iter(f"{{{NS['s']}}}tspan") if s.get("class") == "kt-caption"
    ]
    assert len(captions) == len(graph.nodes)
    assert "account 111111111111" in {c.text for c in captions}
    assert float(parse(alone).get("height", "0")) > float(parse(inline).get("height", "0"))


def test_same_graph_same_bytes(examples: dict[str, AccessGraph]) -> None:
    graph = examples["cycle"]
    assert svg.to_svg(graph) == svg.to_svg(graph)
    given = svg.to_svg(graph, ids=element_ids(graph), standalone=False)
    assert given == svg.to_svg(graph, standalone=False)


def test_the_empty_graph() -> None:
    root = parse(svg.to_svg(AccessGraph()))
    assert groups(root, "kt-node") == [] and groups(root, "kt-edge") == []
    assert groups(root, "kt-legend")


def test_placeholders_are_described_before_the_layout() -> None:
    token = symbolic.TOKEN_PREFIX + "0123ABCD"
    graph = AccessGraph()
    graph.add_node(Node("k", "role", f"role {token}", "account:1", (token,)), f"account {token}")
    graph.add_edge("k", "k", Hop.ASSUME_ROLE, Status.DENIED, token)
    assert svg.describe_graph(graph, {}) is graph
    shown = svg.describe_graph(graph, {token: "aws_iam_role.ci.arn"})
    assert shown.nodes["k"].title == "role known after apply (aws_iam_role.ci.arn)"
    assert shown.groups["account:1"] == "account known after apply (aws_iam_role.ci.arn)"
    assert shown.edges[("k", "k", Hop.ASSUME_ROLE)].note.startswith("known after apply")
    assert token not in svg.to_svg(shown)
