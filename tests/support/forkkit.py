"""Run fork-dependent checks where forking is allowed: a fresh, single-threaded pytest.

Under pytest-xdist a worker that already started a sandbox has threads, and the code that
forks (the audit's edge judging, the two-process bundle load) rightly refuses a threaded
process, so its checks skip there. The e2e wrappers run those checks again in a fresh pytest
process instead, so that CI runs them whichever worker they land on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def no_children_left() -> bool:
    """Whether this process has no child left to reap: a forking step must wait for every
    child it made, whatever happened in it."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def run_fresh(checks: Path, passed: int, extra_environment: Mapping[str, str | None] = {}) -> None:
    """Run ``checks`` in a fresh pytest process (no xdist) and assert all ``passed`` pass;
    ``extra_environment``: variables to set, or to remove (``None``)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    for name, value in extra_environment.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-n", "0", str(checks)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f" {passed} passed" in done.stdout, done.stdout[-2000:]
