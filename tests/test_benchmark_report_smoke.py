"""The report benchmark runs end to end once (figures are printed, not asserted; the full run
is ``.venv/bin/python benchmarks/report.py``). Without Chromium it skips, except in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportkit import chromium_missing

ROOT = Path(__file__).resolve().parent.parent


def test_report_benchmark_runs_once() -> None:
    missing = chromium_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the browser: {missing}")
        pytest.skip(missing)
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "organization: 200 roles" in run.stdout
    for step in ("build (kubetrust report", "open a trivial page", "open the report until"):
        assert step in run.stdout
    assert "open / baseline:" in run.stdout and "opens in under 2 s (issue 17):" in run.stdout
