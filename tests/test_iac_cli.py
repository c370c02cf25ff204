"""``kubetrust explain``/``audit``/``graph --terraform-plan`` as a user runs them (a real
subprocess of the installed entry point), alone and over a bundle."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import yaml

from kubetrust.explain import worlds

ROOT = Path(__file__).resolve().parents[1]
KUBETRUST = ROOT / ".venv" / "bin" / "kubetrust"
PLANS = ROOT / "tests" / "cases" / "terraform"
SEED_WORLD = ROOT / "tests" / "cases" / "explain" / "seed_world.yaml"
WORKLOAD = ["--cluster", "ci-cluster", "--namespace", "ci-namespace"]
WORKLOAD += ["--serviceaccount", "ci-serviceaccount"]
KUBE_GOAL = ["--kube-verb", "get", "--kube-resource", "namespaces"]
KUBE_GOAL += ["--target-cluster", "target-cluster"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBETRUST), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_explain_a_first_apply_plan_alone() -> None:
    done = run("explain", "--terraform-plan", PLANS / "seed.plan.json", *WORKLOAD, *KUBE_GOAL)
    assert done.returncode == 0, done.stderr
    assert "verdict: ALLOWED" in done.stdout
    assert "KNOWN-AFTER-APPLY" not in done.stdout


def test_explain_names_the_resource_to_fix() -> None:
    plan = PLANS / "seed-wrong-sub.plan.json"
    done = run("explain", "--terraform-plan", plan, *WORKLOAD, *KUBE_GOAL)
    assert done.returncode == 2, done.stderr
    assert f"in:    {plan}: aws_iam_role.ci" in done.stdout
    assert "known after apply (aws_eks_cluster.ci.identity[0].oidc[0].issuer):sub" in done.stdout


def test_audit_a_plan_over_a_bundle(tmp_path: Path) -> None:
    world = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    bundle = worlds.write_bundle(copy.deepcopy(world), tmp_path / "bundle")
    plan = PLANS / "seed-aws-auth-path.plan.json"
    done = run("audit", "--bundle", bundle, "--terraform-plan", plan, "--output", "json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    rules = {finding["rule"] for finding in report["findings"]}
    assert "aws-auth-system-masters" in rules
    assert "kubernetes_config_map_v1_data.aws_auth" in done.stdout


def test_a_malformed_plan_exits_3_with_its_name(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(
        '{"format_version": "1.2", "resource_changes": [{"address": "aws_iam_role.x"}]}'
    )
    done = run("audit", "--terraform-plan", plan)
    assert done.returncode == 3
    assert f"{plan}: aws_iam_role.x: no `change.actions`" in done.stderr
    assert "Traceback" not in done.stderr


def test_graph_shows_unknowns_as_known_after_apply() -> None:
    done = run("graph", "--terraform-plan", PLANS / "seed.plan.json")
    assert done.returncode == 0, done.stderr
    assert "ci-account-iam-role" in done.stdout and "KNOWN-AFTER-APPLY" not in done.stdout


def test_explain_json_carries_where_to_fix_and_known_after_apply() -> None:
    plan = PLANS / "seed-wrong-sub.plan.json"
    done = run("explain", "--terraform-plan", plan, *WORKLOAD, *KUBE_GOAL, "--output", "json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    declared = [link["declaredIn"] for link in report["links"] if "declaredIn" in link]
    assert declared == [{"file": str(plan), "address": "aws_iam_role.ci", "line": None}]
    assert "KNOWN-AFTER-APPLY" not in done.stdout
    assert "known after apply (aws_eks_cluster.ci.identity[0].oidc[0].issuer)" in done.stdout


def test_explain_a_pod_identity_plan_names_the_association_to_fix() -> None:
    plan = PLANS / "pod-identity-wrong-sa.plan.json"
    goal = ["--action", "eks:DescribeCluster"]
    goal += ["--resource", "arn:aws:eks:us-east-1:222222222222:cluster/target-cluster"]
    done = run(
        "explain", "--terraform-plan", plan,
        "--cluster", "ci-cluster", "--namespace", "ci", "--serviceaccount", "deployer", *goal,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    address = 'module.pod_identity.aws_eks_pod_identity_association.this["deployer"]'
    assert f"in:    {plan}: {address}" in done.stdout


def test_a_plan_without_a_region_for_a_cluster_exits_3(tmp_path: Path) -> None:
    document = json.loads((PLANS / "three-targets.plan.json").read_text(encoding="utf-8"))
    del document["configuration"]["provider_config"]["aws"]["expressions"]["region"]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document), encoding="utf-8")
    done = run("audit", "--terraform-plan", plan)
    assert done.returncode == 3
    assert "module.eks.aws_eks_cluster.this[0]: cannot tell its region" in done.stderr
    assert "Traceback" not in done.stderr
