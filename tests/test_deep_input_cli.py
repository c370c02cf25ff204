"""Deeply nested input files, given to ``kubetrust`` as a user runs it (a real subprocess of
the installed entry point): exit 3, one line naming the file, never a traceback.

Each surface gets JSON past the decoder's limit (``json.loads`` raises ``RecursionError``)
and JSON that decodes but is nested 950 deep (past ``errors.MAX_NESTING``, where the
recursive code reading it next would overflow).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KUBETRUST = ROOT / ".venv" / "bin" / "kubetrust"
FAR = "[" * 100_000
UNDER_THE_DECODER = '{"a":' * 949 + "{}" + "}" * 949
DEPTHS = {"far": FAR, "950": UNDER_THE_DECODER}


def _plan(folder: Path, text: str) -> tuple[list[str], Path]:
    path = folder / "plan.json"
    path.write_text(text)
    return ["audit", "--terraform-plan", str(path)], path


def _template(suffix: str) -> Callable[[Path, str], tuple[list[str], Path]]:
    def write(folder: Path, text: str) -> tuple[list[str], Path]:
        path = folder / f"template{suffix}"
        path.write_text(text)
        return ["audit", "--cloudformation", f"{path}:111111111111"], path

    return write


def _spec(folder: Path, text: str) -> tuple[list[str], Path]:
    path = folder / "kubetrust.yaml"
    path.write_text(text)
    return ["plan", "-f", str(path)], path


def _world(folder: Path, text: str) -> tuple[list[str], Path]:
    path = folder / "world.yaml"
    path.write_text(text)
    state = folder / "state"
    return ["sandbox", "up", "--state-dir", str(state), "--world", str(path)], path


def _backup(folder: Path, text: str) -> tuple[list[str], Path]:
    backup = folder / "backup"
    backup.mkdir()
    (backup / "migration.json").write_text('{"kind": "access-entries"}')
    path = backup / "journal.jsonl"
    path.write_text('{"step": 1, "event": "started", "a": ' + text + "}\n")
    return ["migrate", "rollback", "--backup", str(backup)], path


def _bundle(folder: Path, text: str) -> tuple[list[str], Path]:
    """The defect as found: a bundle's ``describe-cluster.json`` (read by explain.bundle)."""
    path = folder / "bundle" / "clusters" / "c" / "describe-cluster.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return ["audit", "--bundle", str(folder / "bundle")], path


SURFACES = {
    "terraform-plan": _plan,
    "cloudformation-json": _template(".json"),
    "cloudformation-yaml": _template(".yaml"),
    "spec": _spec,
    "world": _world,
    "migrate-journal": _backup,
    "bundle": _bundle,
}


CASES = [(s, d) for s in sorted(SURFACES) for d in sorted(DEPTHS) if (s, d) != ("bundle", "950")]
"""Every surface at both depths, but a bundle at 950: explain.bundle decodes it (its own
reader, not errors.decode_json) and the file's fields are then checked one by one."""


@pytest.mark.parametrize(("surface", "depth"), CASES)
def test_a_deep_file_is_a_one_line_error_naming_it(
    tmp_path: Path, surface: str, depth: str
) -> None:
    args, path = SURFACES[surface](tmp_path, DEPTHS[depth])
    done = subprocess.run(
        [str(KUBETRUST), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert path.name in lines[0] and "nested too deeply" in lines[0], lines[0]


@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_a_deep_iam_case_line_is_answered_as_invalid(depth: str) -> None:
    """``iam simulate`` reads stdin: the answer for the line says which line, and why."""
    done = subprocess.run(
        [str(KUBETRUST), "iam", "simulate", "--cases", "-"],
        input=DEPTHS[depth] + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 3
    assert "line 1: not valid JSON: nested too deeply" in done.stdout
