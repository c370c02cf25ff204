"""The sandbox benchmark runs end to end (tiny durations; figures are printed, never
asserted): bare moto_server and the sandbox, then the in-process profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = ("GetCallerIdentity", "AssumeRole", "GetRole")
SERVERS = ("moto_server", "sandbox")


def test_sandbox_benchmark_runs_and_prints_every_row() -> None:
    assert (Path(sys.executable).parent / "moto_server").exists(), "make setup installs moto"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sandbox.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split() for line in run.stdout.splitlines()]
    for call in CALLS:
        for server in SERVERS:
            assert [call, "1", server] in [row[:3] for row in rows], run.stdout
    assert "vs moto" in run.stdout
    assert "where the time goes" in run.stdout
    assert "cProfile" in run.stdout
