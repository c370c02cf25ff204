"""The scale benchmark runs end to end on its small organization (figures are printed, not
asserted; the full run is ``.venv/bin/python benchmarks/scale.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scale_benchmark_small_runs() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--small"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "20 accounts × 20 roles" in run.stdout
    assert "peak RSS" in run.stdout and "total (load + audit + explain)" in run.stdout
    assert "explain AWS goal: allowed" in run.stdout
    assert "explain Kubernetes goal: allowed" in run.stdout
