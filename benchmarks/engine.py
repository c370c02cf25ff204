"""Benchmark of the policy engine: decisions/s and µs/decision, with baselines measured in
the same run.

    make bench                       # or: .venv/bin/python benchmarks/engine.py [--count N]

Workloads (see ``workloads.py``): (a) a 12-statement identity policy with wildcards and one
condition; (b) the seed's cross-account AssumeRole; (c) 200 statements, 3 SCP levels, a
permissions boundary and a resource policy.

Baselines, each measured here on the same requests:

- ``kubetrust cold``: the same engine building its ``PolicySet`` for every decision, i.e.
  what compilation and the per-action plans save;
- ``PMapper``: principalmapper 1.1.5's ``local_check_authorization_full`` (installed by
  ``make bench``; skipped with a note if it is missing). It returns a bare bool; we return
  the outcome with reasons.

Single-threaded; best of ``--rounds`` rounds. Nothing here asserts a speed: the figures are
printed, and quoted in notes.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads
from kubetrust import policy


def _policy_set(policies: dict[str, Any]) -> policy.PolicySet:
    return policy.PolicySet(
        identity=policies.get("identityPolicies", []),
        resource=policies.get("resourcePolicy"),
        boundaries=policies.get("permissionsBoundaries", []),
        session=policies.get("sessionPolicies", []),
        scps=policies.get("serviceControlPolicies", []),
        rcps=policies.get("resourceControlPolicies", []),
    )


def _requests(workload: workloads.Workload) -> list[policy.Request]:
    return [
        policy.Request(r["principal"], r["action"], r["resource"], r["context"] or None)
        for r in workload.requests
    ]


def kubetrust_warm(workload: workloads.Workload) -> Callable[[], int]:
    policies = _policy_set(workload.policies)
    requests = _requests(workload)
    authorize = policy.authorize

    def run() -> int:
        for request in requests:
            authorize(request, policies)
        return len(requests)

    return run


def kubetrust_cold(workload: workloads.Workload) -> Callable[[], int]:
    requests = _requests(workload)[:2000]

    def run() -> int:
        for request in requests:
            policy.authorize(request, _policy_set(workload.policies))
        return len(requests)

    return run


def _load_pmapper() -> Any:
    """PMapper 1.1.5 imports ``collections.Mapping`` (removed in Python 3.10); alias it
    for this baseline only."""
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        from principalmapper.common import Node, Policy
        from principalmapper.querying import query_interface
    except ImportError:
        return None
    return Node, Policy, query_interface


def pmapper(workload: workloads.Workload) -> Callable[[], int] | None:
    loaded = _load_pmapper()
    if loaded is None:
        return None
    node_class, policy_class, query = loaded
    policies = workload.policies
    first = workload.requests[0]["principal"]
    account = first.split(":")[4]
    if ":assumed-role/" in first:
        role = first.split("/")[1]
        arn = f"arn:aws:iam::{account}:role/{role}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}
            ],
        }
    else:
        arn, trust = first, None
    attached = [
        policy_class(f"{arn}", f"p{i}", doc)
        for i, doc in enumerate(policies.get("identityPolicies", []))
    ]
    boundaries = policies.get("permissionsBoundaries", [])
    boundary = policy_class("arn:aws:iam::aws:policy/b", "b", boundaries[0]) if boundaries else None
    node = node_class(
        arn, "AIDAEXAMPLE", attached, [], trust, None, 0, False, False, boundary, False, None
    )
    scps = [
        [
            policy_class(f"arn:aws:organizations::{account}:policy/p{i}{j}", "scp", doc)
            for j, doc in enumerate(level)
        ]
        for i, level in enumerate(policies.get("serviceControlPolicies", []))
    ] or None
    resource_policy = policies.get("resourcePolicy")
    owner = workloads.TARGET if workload.name == "b" else account
    check = query.local_check_authorization_full
    requests = workload.requests

    def run() -> int:
        for r in requests:
            check(
                node,
                r["action"],
                r["resource"],
                r["context"],
                resource_policy,
                owner if resource_policy else None,
                scps,
                None,
            )
        return len(requests)

    return run


def measure(run: Callable[[], int], rounds: int) -> float:
    """Best decisions per second over ``rounds`` runs."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        done = run()
        elapsed = time.perf_counter() - start
        best = max(best, done / elapsed)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000, help="requests per workload")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept")
    args = parser.parse_args(argv)
    builders = (workloads.workload_a, workloads.workload_b, workloads.workload_c)
    print(f"{'workload':<62} {'decisions/s':>12} {'µs/decision':>12} {'ratio':>8}")
    for build in builders:
        workload = build(args.count)
        warm = measure(kubetrust_warm(workload), args.rounds)
        print(
            f"({workload.name}) {workload.description:<58} {warm:>12,.0f} "
            f"{1e6 / warm:>12.2f} {'1.00':>8}"
        )
        cold = measure(kubetrust_cold(workload), args.rounds)
        print(
            f"    baseline: kubetrust cold (compile per decision){'':<10} {cold:>12,.0f} "
            f"{1e6 / cold:>12.2f} {warm / cold:>7.1f}x"
        )
        runner = pmapper(workload)
        if runner is None:
            print("    baseline: PMapper not installed (make bench installs it)")
            continue
        base = measure(runner, args.rounds)
        print(
            f"    baseline: PMapper local_check_authorization_full{'':<10} {base:>12,.0f} "
            f"{1e6 / base:>12.2f} {warm / base:>7.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
