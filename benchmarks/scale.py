"""Scale benchmark: offline audit and explain over a synthetic organization.

    .venv/bin/python benchmarks/scale.py            # 1,000 accounts × 100 roles
    .venv/bin/python benchmarks/scale.py --small    # 20 accounts × 20 roles (smoke test)

Steps, each timed: generate the organization as a bundle in a temporary directory
(``synthetic_org.py``; not part of the target), load the bundle (JSON, YAML, every policy
parsed), audit (every rule, the reachability graph of the whole organization and the
report of every target role's reachers), then explain: a CI service account to an AWS
action in a far account, and to a Kubernetes verb in a target cluster, each with the path
searched. Prints elapsed seconds per step, the total of load + audit + explain, and the
peak resident set size (``resource.getrusage``). Target (issue 6): under 30 s and 2 GB.
Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_org
from kubetrust.chain import rbac
from kubetrust.chain.paths import AwsGoal, KubeGoal
from kubetrust.explain import audit, bundle, explain


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20 accounts × 20 roles")
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--roles", type=int)
    args = parser.parse_args(argv)
    shape = (
        synthetic_org.Shape(accounts=20, roles=20, ci=2, cluster_every=5)
        if args.small
        else synthetic_org.Shape()
    )
    if args.accounts or args.roles:
        shape = synthetic_org.Shape(
            accounts=args.accounts or shape.accounts,
            roles=args.roles or shape.roles,
            ci=shape.ci,
            cluster_every=shape.cluster_every,
        )
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kubetrust-scale-") as temporary:
        root = Path(temporary) / "bundle"
        start = time.perf_counter()
        synthetic_org.write(shape, root)
        timings["generate (not counted)"] = time.perf_counter() - start

        start = time.perf_counter()
        topology = bundle.load_bundle([root])
        timings["load bundle"] = time.perf_counter() - start
        roles = sum(len(a.roles) for a in topology.accounts.values())

        start = time.perf_counter()
        report = audit.run_audit(topology)
        timings["audit (rules + reachability)"] = time.perf_counter() - start

        far = shape.accounts - 1 - (shape.accounts - 1) % shape.ci
        far_account = shape.account_id(far)
        workload = explain.workload_for(topology, "ci-0", "team-0", "deployer")
        start = time.perf_counter()
        aws = explain.explain_access(
            topology,
            workload,
            AwsGoal(
                "eks:DescribeCluster",
                f"arn:aws:eks:us-east-1:{far_account}:cluster/prod-{far}",
            ),
        )
        timings["explain (AWS goal, path searched)"] = time.perf_counter() - start

        start = time.perf_counter()
        kube = explain.explain_access(
            topology,
            workload,
            KubeGoal("prod-0", rbac.KubeRequest("create", "deployments", "apps", namespace="apps")),
        )
        timings["explain (Kubernetes goal, path searched)"] = time.perf_counter() - start

    counted = sum(v for k, v in timings.items() if "not counted" not in k)
    findings: dict[str, int] = {}
    for finding in report.findings:
        findings[finding.severity.label] = findings.get(finding.severity.label, 0) + 1
    print(
        f"organization: {shape.accounts} accounts × {shape.roles} roles ({roles} roles loaded, "
        f"{len(topology.clusters)} clusters)"
    )
    for step, seconds in timings.items():
        print(f"  {step:<42} {seconds:8.2f} s")
    print(f"  {'total (load + audit + explain)':<42} {counted:8.2f} s   target < 30 s")
    print(f"  {'peak RSS':<42} {_peak_mb():8.0f} MB  target < 2048 MB")
    print(f"audit: {report.edges} edges (assume-role, web identity, service); findings {findings}")
    print(
        f"explain AWS goal: {'allowed' if aws.allowed else 'denied'} via "
        f"{' → '.join(aws.chain.roles) if aws.chain else '-'}"
    )
    print(
        f"explain Kubernetes goal: {'allowed' if kube.allowed else 'denied'} via "
        f"{' → '.join(kube.chain.roles) if kube.chain else '-'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
