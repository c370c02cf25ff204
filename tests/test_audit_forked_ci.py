"""The forked-audit checks of ``test_audit_forked_e2e.py`` run in CI too: under pytest-xdist
a worker that already started a sandbox has threads, so those checks skip themselves there
(``fork_usable`` refuses a threaded process, as it must); this module runs them in a fresh,
single-threaded pytest process. In the e2e tier: it spawns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from forkkit import run_fresh

from kubetrust.explain.audit import forked

CHECKS = Path(__file__).with_name("test_audit_forked_e2e.py")


def test_the_forked_checks_run_where_this_process_cannot_fork() -> None:
    """Every check passes in a fresh process (module doc): at least the seven written."""
    if forked.fork_usable():
        pytest.skip("this process forks: the checks ran in it directly")
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: the audit never forks here")
    run_fresh(CHECKS, passed=7)
