"""Access graphs for the layout and SVG tests (tests/unit/report/test_layout.py,
test_svg.py): the example topologies the graph tests use (the seed, its broken setups, a
realistic aws-auth, Pod Identity, a role → role cycle), and random graphs for hypothesis."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from kubetrust.explain import bundle, worlds
from kubetrust.explain.access_graph import AccessGraph, Hop, Status, build_access_graph
from kubetrust.explain.access_graph_nodes import Node
from kubetrust.model.topology import Topology

TESTS = Path(__file__).resolve().parents[1]
CASES = TESTS / "cases" / "explain"
CI, TARGET = "111111111111", "222222222222"
KINDS = ("serviceaccount", "subjects", "role", "user", "principal", "permissions", "kube-identity")


def seed_world() -> dict[str, Any]:
    loaded = yaml.safe_load((CASES / "seed_world.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def build(world: dict[str, Any], root: Path) -> Topology:
    worlds.write_bundle(copy.deepcopy(world), root)
    return bundle.load_bundle([root])


def casekit() -> Any:
    """tests/cases/explain/casekit.py as a module (the broken-setups table and its builder)."""
    spec = importlib.util.spec_from_file_location("casekit_for_layout", CASES / "casekit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _trust(*principals: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
        ],
    }


def _may_assume(*arns: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": list(arns)}
    return {"assume": {"Version": "2012-10-17", "Statement": [statement]}}


def cycle_world() -> dict[str, Any]:
    """The seed plus roles ``a ⇄ b`` and ``c`` assuming itself (a cycle and a self-loop),
    ``a`` assumed by the seed's CI role, and a role ``d`` the CI role may assume under an
    ``sts:ExternalId`` condition."""
    world = seed_world()
    arn = {name: f"arn:aws:iam::{TARGET}:role/{name}" for name in "abcd"}
    ci_role = f"arn:aws:iam::{CI}:role/ci-account-iam-role"
    conditional = _trust(ci_role)
    conditional["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": "x"}}
    roles = [
        {"name": "a", "trust": _trust(ci_role, arn["b"]), "policies": _may_assume(arn["b"])},
        {"name": "b", "trust": _trust(arn["a"]), "policies": _may_assume(arn["a"])},
        {"name": "c", "trust": _trust(arn["c"], arn["a"]), "policies": _may_assume(arn["c"])},
        {"name": "d", "trust": conditional},
    ]
    target = next(a for a in world["accounts"] if str(a["id"]) == TARGET)
    target["roles"] += roles
    source = next(a for a in world["accounts"] if str(a["id"]) == CI)
    ci = next(r for r in source["roles"] if r["name"] == "ci-account-iam-role")
    ci.setdefault("policies", {})["more"] = _may_assume(arn["a"], arn["d"])["assume"]
    return world


def example_graphs(tmp_path: Path) -> dict[str, AccessGraph]:
    """Name → access graph of every example topology (module doc)."""
    import access_world  # tests/support: the migrate tests' realistic aws-auth

    found: dict[str, AccessGraph] = {}
    found["seed"] = build_access_graph(build(seed_world(), tmp_path / "seed"))
    found["cycle"] = build_access_graph(build(cycle_world(), tmp_path / "cycle"))
    for mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API"):
        topology = build(access_world.world(mode=mode), tmp_path / f"aws-auth-{mode}")
        found[f"aws-auth {mode}"] = build_access_graph(topology)
    kit = casekit()
    for number, case in enumerate(kit.load_cases("broken_setups.yaml")):
        topology = kit.build(case, tmp_path / f"case-{number}")
        found[f"case {case['id']}"] = build_access_graph(topology)
    return found


# ---------------------------------------------------------------------- random graphs


@st.composite
def random_graphs(draw: st.DrawFn, max_nodes: int = 60) -> AccessGraph:
    """Up to ``max_nodes`` nodes of any kind with labels of any length (titles and lines up
    to past the clipping length), and edges of any hop and status between any two of them,
    cycles, parallel edges and self-loops included."""
    count = draw(st.integers(min_value=0, max_value=max_nodes))
    graph = AccessGraph()
    text = st.text(alphabet='abcXYZ-_/:<&" 0123456789…', min_size=1, max_size=100)
    for number in range(count):
        group = f"account:{draw(st.integers(0, 3))}"
        lines = tuple(draw(st.lists(text, max_size=3)))
        node = Node(f"k{number:03d}", draw(st.sampled_from(KINDS)), draw(text), group, lines)
        graph.add_node(node, group.replace(":", " "))
    if count:
        ends = st.integers(min_value=0, max_value=count - 1)
        pairs = draw(st.lists(st.tuples(ends, ends), max_size=3 * count))
        for source, target in pairs:
            hop = draw(st.sampled_from(list(Hop)))
            status = draw(st.sampled_from(list(Status)))
            graph.add_edge(f"k{source:03d}", f"k{target:03d}", hop, status, "note")
    return graph
