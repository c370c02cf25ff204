"""``kubetrust graph --output svg`` as a user runs it on a machine without Graphviz: the
installed entry point, in a subprocess whose ``PATH`` holds no ``dot``."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from kubetrust.explain import worlds

ROOT = Path(__file__).resolve().parents[1]
KUBETRUST = ROOT / ".venv" / "bin" / "kubetrust"
SEED_WORLD = ROOT / "tests" / "cases" / "explain" / "seed_world.yaml"
SVG = "{http://www.w3.org/2000/svg}"


def run(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "no-graphviz-here"
    empty.mkdir(exist_ok=True)
    return subprocess.run(
        [str(KUBETRUST), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={"PATH": str(empty), "HOME": str(tmp_path), "LANG": "C.UTF-8"},
    )


def test_svg_without_graphviz(tmp_path: Path) -> None:
    world = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    root = worlds.write_bundle(world, tmp_path / "bundle")
    out = tmp_path / "access.svg"
    done = run(tmp_path, "graph", "--bundle", root, "--output", "svg", "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stderr
    drawn = ET.parse(out).getroot()
    assert drawn.tag == f"{SVG}svg" and drawn.get("class") == "kt-graph"
    classes = [g.get("class", "") for g in drawn.iter(f"{SVG}g")]
    assert sum(c.startswith("kt-node ") for c in classes) == 5
    assert sum(c.startswith("kt-edge ") for c in classes) == 4
    titles = {t.text for t in drawn.iter(f"{SVG}tspan")}
    assert {"ci-account-iam-role", "target-account-iam-role", "user test-user"} <= titles
    printed = run(tmp_path, "graph", "--bundle", root, "--format", "svg")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == out.read_text(encoding="utf-8")
