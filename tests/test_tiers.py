"""The test tiers and the scrubbed environment of ``tests/conftest.py``, as pytest runs them.

A throw-away tree gets a copy of the real conftest and a few probe tests, and pytest runs it
in a subprocess (as ``make unit`` would; once more with two xdist workers): a unit test that
starts a process or binds a socket fails even if it swallows the error, the same code passes
in ``sandbox/``, the folder decides the marker unless the test names its own tier, and no
test sees the developer's ``AWS_*``, ``KUBECONFIG`` or ``HOME``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PYTEST_INI = """[pytest]
addopts = -q --strict-markers --import-mode=importlib -p no:cacheprovider
markers =
    unit: u
    sandbox: s
    e2e: e
"""
SPAWNS = "import subprocess\n\ndef test_spawns():\n    subprocess.run(['true'], check=True)\n"
BINDS = (
    "import socket\n\ndef test_binds():\n"
    "    with socket.socket() as s:\n        s.bind(('127.0.0.1', 0))\n"
)
SWALLOWS = (
    "import subprocess\n\ndef test_swallows():\n"
    "    try:\n        subprocess.run(['true'])\n    except Exception:\n        pass\n"
)
MARKED = (
    "import subprocess\n\nimport pytest\n\n@pytest.mark.e2e\n"
    "def test_marked():\n    subprocess.run(['true'], check=True)\n"
)
ENVIRONMENT = """import os
from pathlib import Path

def test_environment():
    assert not [name for name in os.environ if name.startswith("AWS_") and
                name != "AWS_EC2_METADATA_DISABLED"]
    assert "KUBECONFIG" not in os.environ
    home = Path(os.environ["HOME"])
    assert home != Path(os.environ["DEVELOPER_HOME"]) and list(home.iterdir()) == []
"""


def _tree(root: Path) -> Path:
    (root / "pytest.ini").write_text(PYTEST_INI)
    tests = root / "tests"
    files = {
        "conftest.py": (TESTS / "conftest.py").read_text(),
        "unit/test_spawns.py": SPAWNS,
        "unit/test_binds.py": BINDS,
        "unit/test_swallows.py": SWALLOWS,
        "unit/test_marked.py": MARKED,
        "unit/test_environment.py": ENVIRONMENT,
        "sandbox/test_spawns_here.py": SPAWNS,
        "test_top.py": ENVIRONMENT,
    }
    for name, text in files.items():
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text(text)
    return tests


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = root / "developer-home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "DEVELOPER_HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIADEVELOPER0000000",
        "AWS_PROFILE": "production",
        "KUBECONFIG": str(home / ".kube" / "config"),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_unit_tests_may_not_spawn_or_bind_and_see_no_developer_environment(
    tmp_path: Path, workers: list[str]
) -> None:
    _tree(tmp_path)
    run = _pytest(tmp_path, *workers)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    for failed in ("unit/test_spawns.py", "unit/test_binds.py", "unit/test_swallows.py"):
        assert f"FAILED tests/{failed}" in out, out
    assert "unit tier violated" in out, out  # the swallowed one, failed by the report hook
    for passed in (
        "unit/test_marked.py",
        "unit/test_environment.py",
        "sandbox/test_spawns_here.py",
        "test_top.py",
    ):
        assert f"PASSED tests/{passed}" in out, out
    assert "3 failed, 4 passed" in out, out


def test_markers_follow_the_folder_unless_the_test_names_its_tier(tmp_path: Path) -> None:
    _tree(tmp_path)
    selected = {
        tier: _pytest(tmp_path, "--collect-only", "-m", tier).stdout
        for tier in ("unit", "sandbox", "e2e")
    }
    assert "tests/unit/test_spawns.py::test_spawns" in selected["unit"]
    assert "test_marked" not in selected["unit"] and "test_marked" in selected["e2e"]
    assert "tests/sandbox/test_spawns_here.py::test_spawns" in selected["sandbox"]
    assert "tests/test_top.py::test_environment" in selected["e2e"]
    assert "tests/unit" not in selected["sandbox"]


def test_a_folder_without_a_tier_is_refused(tmp_path: Path) -> None:
    tests = _tree(tmp_path)
    (tests / "elsewhere").mkdir()
    (tests / "elsewhere" / "test_lost.py").write_text("def test_lost():\n    pass\n")
    run = _pytest(tmp_path, "--collect-only")
    assert run.returncode != 0
    assert "tests/elsewhere/ has no tier" in run.stdout + run.stderr
