"""`make test` and `make e2e` run tools/install_chromium.py first: where Chromium is installed
(as on this machine and in CI) it is a silent no-op."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from reportkit import chromium_missing

ROOT = Path(__file__).resolve().parent.parent


def test_install_chromium_is_a_silent_no_op_when_installed() -> None:
    if chromium_missing() is not None:
        pytest.skip("Chromium is missing: the script would install it")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "install_chromium.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "install_chromium.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0
