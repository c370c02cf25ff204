"""Scale benchmark: offline audit and explain over a synthetic organization.

    .venv/bin/python benchmarks/scale.py --accounts 10000 --roles 100   # issue 16's run
    .venv/bin/python benchmarks/scale.py            # 1,000 accounts × 100 roles
    .venv/bin/python benchmarks/scale.py --small    # 20 accounts × 20 roles (smoke test)

Each size runs in a fresh child process (so that its peak RSS is its own), the 1,000-account
organization first as the baseline when a larger one is asked for; the table puts both side
by side with their ratio. Steps, each timed: generate the organization as a bundle in a
temporary directory (``synthetic_org.py``, proportions of :meth:`Shape.organization`; not
part of the target; done before the measuring process starts, which then reads the bundle as
a ``kubetrust audit --bundle`` process does), load the bundle (JSON, YAML, every policy
parsed), audit (every rule, the reachability graph of the whole organization and the report
of every target role's reachers), then explain: a CI service account to an AWS action in a
far account, and to a Kubernetes verb in a target cluster, each with the path searched.
Wall-clock and CPU seconds per step and for the total of load + audit + explain (the machine
may be shared: CPU time says what the code costs), and the peak resident set size
(``resource.getrusage``) of the process and of its largest child (a large bundle is read,
and its audit judged, partly in a forked child: ``kubetrust.explain.bundle_parallel``,
``kubetrust.explain.audit.forked``).
Target (issue 16): 10,000 accounts under 60 s and 4 GB. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_org
from kubetrust.chain import rbac
from kubetrust.chain.paths import AwsGoal, KubeGoal
from kubetrust.explain import audit, bundle, explain

BASELINE = 1000
GENERATE = "generate (not counted)"
STEPS = (
    "load bundle",
    "audit (rules + reachability)",
    "explain (AWS goal, path searched)",
    "explain (Kubernetes goal, path searched)",
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _peak_child_mb() -> float:
    """The largest peak RSS of this process's reaped children: the load's child (which
    reads part of a large bundle) and the audit's, each alive only during its step."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children: on a large organization the load
    reads part of the bundle, and the audit judges half of its edges, in a forked child
    (``kubetrust.explain.bundle_parallel``, ``kubetrust.explain.audit.forked``), whose time
    ``time.process_time`` alone would leave out."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(timings: dict[str, float], step: str, work: Any, cpu: dict[str, float]) -> Any:
    """Run ``work``; its wall seconds into ``timings``, its CPU seconds into ``cpu``."""
    start, start_cpu = time.perf_counter(), _cpu_seconds()
    result = work()
    timings[step] = time.perf_counter() - start
    cpu[step] = _cpu_seconds() - start_cpu
    return result


def measure(shape: synthetic_org.Shape, generated: Path | None = None) -> dict[str, Any]:
    """Load, audit and explain one organization, generated here unless ``generated`` is its
    bundle already; the figures as a dict."""
    timings: dict[str, float] = {}
    cpu_steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kubetrust-scale-") as temporary:
        root = generated or Path(temporary) / "bundle"
        if generated is None:
            _timed(timings, GENERATE, lambda: synthetic_org.write(shape, root), cpu_steps)
        cpu = _cpu_seconds()
        topology = _timed(timings, STEPS[0], lambda: bundle.load_bundle([root]), cpu_steps)
    report = _timed(timings, STEPS[1], lambda: audit.run_audit(topology), cpu_steps)
    far = shape.accounts - 1 - (shape.accounts - 1) % shape.ci
    workload = explain.workload_for(topology, "ci-0", "team-0", "deployer")
    aws_goal = AwsGoal(
        "eks:DescribeCluster",
        f"arn:aws:eks:us-east-1:{shape.account_id(far)}:cluster/prod-{far}",
    )
    aws = _timed(
        timings, STEPS[2], lambda: explain.explain_access(topology, workload, aws_goal), cpu_steps
    )
    deploy = rbac.KubeRequest("create", "deployments", "apps", namespace="apps")
    kube_goal = KubeGoal("prod-0", deploy)
    kube = _timed(
        timings, STEPS[3], lambda: explain.explain_access(topology, workload, kube_goal), cpu_steps
    )
    cpu = _cpu_seconds() - cpu
    findings: dict[str, int] = {}
    for finding in report.findings:
        findings[finding.severity.label] = findings.get(finding.severity.label, 0) + 1
    return {
        "accounts": shape.accounts,
        "roles_per_account": shape.roles,
        "roles": sum(len(a.roles) for a in topology.accounts.values()),
        "clusters": len(topology.clusters),
        "associations": sum(len(c.pod_identity_associations) for c in topology.clusters),
        "access_entries": sum(len(c.access_entries) for c in topology.clusters),
        "timings": timings,
        "cpu_steps": cpu_steps,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
        "peak_child_mb": _peak_child_mb(),
        "edges": report.edges,
        "findings": findings,
        "aws": _verdict(aws),
        "kube": _verdict(kube),
    }


def _verdict(result: Any) -> str:
    chain = " → ".join(result.chain.roles) if result.chain else "-"
    return f"{'allowed' if result.allowed else 'denied'} via {chain}"


def _child(accounts: int, roles: int, small: bool) -> dict[str, Any]:
    """``measure`` in a fresh interpreter: its peak RSS is then this size's alone, and its
    heap holds what a ``kubetrust audit`` process holds, not the generator's leftovers (the
    bundle is generated here, before it starts)."""
    timings: dict[str, float] = {}
    cpu_steps: dict[str, float] = {}
    shape = _shape(accounts, roles, small)
    with tempfile.TemporaryDirectory(prefix="kubetrust-scale-") as temporary:
        root = Path(temporary) / "bundle"
        _timed(timings, GENERATE, lambda: _written(shape, root), cpu_steps)
        command = [sys.executable, __file__, "--json", "--accounts", str(accounts)]
        command += ["--roles", str(roles), "--bundle", str(root)]
        command += ["--small"] if small else []
        run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"scale.py: the {accounts}-account run failed:\n{run.stderr}")
    figures: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    figures["timings"][GENERATE] = timings[GENERATE]
    figures["cpu_steps"][GENERATE] = cpu_steps[GENERATE]
    return figures


def _written(shape: synthetic_org.Shape, root: Path) -> None:
    """Generate the bundle and flush it to disk: a real bundle was written long before it is
    read, so the load must not share the machine with the kernel writing a gigabyte back."""
    synthetic_org.write(shape, root)
    os.sync()


def _shape(accounts: int, roles: int, small: bool) -> synthetic_org.Shape:
    if small:
        return synthetic_org.Shape(accounts=accounts, roles=roles, ci=2, cluster_every=5)
    return synthetic_org.Shape.organization(accounts, roles)


def _table(runs: list[dict[str, Any]]) -> None:
    heads = [f"{r['accounts']:,} accounts" for r in runs]
    ratio = len(runs) == 2
    print(f"  {'step':<48}" + "".join(f"{h:>18}" for h in heads) + ("   ratio" if ratio else ""))

    def row(label: str, values: list[float], unit: str) -> None:
        digits = 0 if unit == "MB" else 2
        cells = "".join(f"{v:>15.{digits}f} {unit:<2}" for v in values)
        tail = f"{values[1] / values[0]:>8.1f}×" if ratio and values[0] else ""
        print(f"  {label:<48}{cells}{tail}")

    for step in (GENERATE, *STEPS):
        row(f"{step}, wall", [r["timings"][step] for r in runs], "s")
        row("  CPU (process + children)", [r["cpu_steps"][step] for r in runs], "s")
    total = [sum(r["timings"][s] for s in STEPS) for r in runs]
    row("total (load + audit + explain), wall", total, "s")
    row("  CPU (process + children)", [r["cpu"] for r in runs], "s")
    row("peak RSS", [r["peak_mb"] for r in runs], "MB")
    row("  largest child's peak RSS (load or audit)", [r["peak_child_mb"] for r in runs], "MB")
    print("  targets (issue 16, 10,000 accounts): total < 60 s, peak RSS < 4096 MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20 accounts × 20 roles")
    parser.add_argument("--accounts", type=int, help="organization size [1000]")
    parser.add_argument("--roles", type=int, help="roles per account [100]")
    parser.add_argument("--json", action="store_true", help="measure one size, print JSON")
    parser.add_argument(
        "--bundle", type=Path, help="with --json: the organization's bundle, already generated"
    )
    args = parser.parse_args(argv)
    accounts = args.accounts or (20 if args.small else BASELINE)
    roles = args.roles or (20 if args.small else 100)
    if args.json:
        print(json.dumps(measure(_shape(accounts, roles, args.small), args.bundle)))
        return 0
    sizes = [accounts] if args.small or accounts == BASELINE else [BASELINE, accounts]
    runs = [_child(size, roles, args.small) for size in sizes]
    for run in runs:
        print(
            f"organization: {run['accounts']} accounts × {run['roles_per_account']} roles "
            f"({run['roles']} roles loaded, {run['clusters']} clusters, "
            f"{run['associations']} Pod Identity associations, "
            f"{run['access_entries']} access entries)"
        )
    _table(runs)
    for run in runs:
        print(
            f"{run['accounts']} accounts — audit: {run['edges']} edges (assume-role, web "
            f"identity, service); findings {run['findings']}"
        )
        print(f"  explain AWS goal: {run['aws']}")
        print(f"  explain Kubernetes goal: {run['kube']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
