"""The benchmark runs end to end (tiny counts; figures are not asserted, only printed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_engine_benchmark_runs_and_prints_every_workload() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--count", "300", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for name in ("(a)", "(b)", "(c)"):
        assert name in run.stdout
    assert "kubetrust cold" in run.stdout


def test_workloads_mix_every_outcome() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import workloads
    from kubetrust import policy

    for build in (workloads.workload_a, workloads.workload_b, workloads.workload_c):
        workload = build(400)
        p = workload.policies
        policies = policy.PolicySet(
            identity=p.get("identityPolicies", []),
            resource=p.get("resourcePolicy"),
            boundaries=p.get("permissionsBoundaries", []),
            scps=p.get("serviceControlPolicies", []),
        )
        outcomes = {
            policy.authorize(
                policy.Request(r["principal"], r["action"], r["resource"], r["context"] or None),
                policies,
            ).outcome
            for r in workload.requests
        }
        assert policy.Outcome.ALLOW in outcomes
        assert policy.Outcome.IMPLICIT_DENY in outcomes
