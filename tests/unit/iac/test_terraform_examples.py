"""Each example system written as a Terraform plan gives explain and audit the answers the
bundle of the applied system gives (issue 16, "Done when").

The plans under ``tests/cases/terraform/`` are first applies as ``terraform show -json``
prints them: clusters, roles and providers to create, so issuers and ARNs are unknown; the
worlds are the same systems as applied (``tests/cases/explain/seed_world.yaml`` for the seed,
the ``*.world.yaml`` next to the plans for the others). Placeholders differ from the
applied issuer, so findings are compared by rule, severity and principal, and explanations
by verdict per link and roles.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.chain.rbac import request_info
from kubetrust.explain import audit, bundle, explain, overlay, render, worlds
from kubetrust.iac import terraform
from kubetrust.iac.symbolic import TOKEN_PREFIX
from kubetrust.model.topology import Topology

CASES = Path(__file__).resolve().parents[2] / "cases"
PLANS = CASES / "terraform"
SEED_WORLD = CASES / "explain" / "seed_world.yaml"
CI, TARGET = "111111111111", "222222222222"


def plan_topology(name: str, account_map: dict[str, str] | None = None) -> Topology:
    read = terraform.read_plans([PLANS / name], account_map or {})
    return overlay.apply_overlay(None, read)


def world_topology(path: Path, tmp_path: Path) -> Topology:
    world = yaml.safe_load(path.read_text(encoding="utf-8"))
    root = worlds.write_bundle(copy.deepcopy(world), tmp_path / path.stem)
    return bundle.load_bundle([root])


def verdicts(topology: Topology, cluster: str, namespace: str, name: str, goal: Goal) -> Any:
    workload = explain.workload_for(topology, cluster, namespace, name)
    result = explain.explain_access(topology, workload, goal)
    chain = result.chain
    assert chain is not None
    return result.allowed, [link.allowed for link in chain.links], list(chain.roles)


def findings(topology: Topology) -> set[tuple[str, str, str]]:
    """(rule, severity, principal) of every finding; placeholders stand for the issuer."""
    report = audit.run_audit(topology)
    return {(f.rule, str(f.severity), _principal(f.location)) for f in report.findings}


def _principal(location: str) -> str:
    """A role or user ARN as is; a file location by what it names inside the file (the
    plan's location is its resource address, the bundle's a file path)."""
    if TOKEN_PREFIX in location or "/id/" in location:
        return location.split("/id/", maxsplit=1)[0]
    return location.rsplit(" ", 1)[-1] if " " in location else location


SEED_GOALS: list[Goal] = [
    AwsGoal("eks:DescribeCluster", f"arn:aws:eks:us-east-1:{TARGET}:cluster/target-cluster"),
    AwsGoal("s3:ListAllMyBuckets", "*", TARGET),
    KubeGoal("target-cluster", request_info("get", "namespaces", "", "", "", "")),
]


@pytest.mark.parametrize("goal", SEED_GOALS, ids=lambda g: g.describe())
def test_seed_plan_explains_as_the_applied_seed(goal: Goal, tmp_path: Path) -> None:
    applied = world_topology(SEED_WORLD, tmp_path)
    planned = plan_topology("seed.plan.json")
    args = ("ci-cluster", "ci-namespace", "ci-serviceaccount", goal)
    assert verdicts(planned, *args) == verdicts(applied, *args)
    assert verdicts(planned, *args)[0] is True


def test_seed_plan_audits_as_the_applied_seed(tmp_path: Path) -> None:
    applied = world_topology(SEED_WORLD, tmp_path)
    assert findings(plan_topology("seed.plan.json")) == findings(applied)


BROKEN = [
    # (plan, goal, failed link index, what the fix names, the address of the fix)
    ("seed-broken-trust", 0, "in Principal.Federated", "aws_iam_role.ci"),
    ("seed-wrong-sub", 0, "looks like a typo", "aws_iam_role.ci"),
    ("seed-no-assume", 1, "allow it in an identity policy", "aws_iam_role.ci"),
    ("seed-aws-auth-path", 2, "without path", "kubernetes_config_map_v1_data.aws_auth"),
]


@pytest.mark.parametrize(("name", "failed", "fix", "address"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plan_is_explained_before_apply(
    name: str, failed: int, fix: str, address: str
) -> None:
    read = terraform.read_plans([PLANS / f"{name}.plan.json"], {})
    topology = overlay.apply_overlay(None, read)
    goal = SEED_GOALS[2]
    workload = explain.workload_for(topology, "ci-cluster", "ci-namespace", "ci-serviceaccount")
    result = explain.explain_access(topology, workload, goal)
    assert result.chain is not None
    marks = [link.allowed for link in result.chain.links]
    assert marks.count(False) == 1 and marks[failed] is False
    text = render.explanation_text(result, read[0].sources)
    assert fix in text
    assert f"in:    {PLANS / name}.plan.json: {address}" in text
    assert TOKEN_PREFIX not in text  # every placeholder shown as "known after apply (...)"


# ---------------------------------------------------------------------- every example
# (example, workload, goals): each example spec's plan (tests/cases/terraform/generate.py)
# against the same system as applied (``<example>.world.yaml``)
def _kube(cluster: str, verb: str, resource: str, namespace: str = "", group: str = "") -> Goal:
    return KubeGoal(cluster, request_info(verb, resource, group, "", namespace))


def _eks(account: str, cluster: str) -> Goal:
    return AwsGoal("eks:DescribeCluster", f"arn:aws:eks:us-east-1:{account}:cluster/{cluster}")


EXAMPLES: list[tuple[str, tuple[str, str, str], list[Goal]]] = [
    (
        "three-targets",
        ("ci-cluster", "ci-namespace", "ci-deployer"),
        [
            _eks("222222222222", "dev-cluster"),
            _eks("333333333333", "stg-cluster"),
            _eks("444444444444", "prod-cluster"),
            _eks("444444444444", "other-cluster"),
            _kube("dev-cluster", "create", "deployments", "apps-web", "apps"),
            _kube("stg-cluster", "list", "pods", "apps"),
            _kube("prod-cluster", "delete", "pods", "apps"),
            _kube("prod-cluster", "list", "pods", "kube-system"),
        ],
    ),
    (
        "direct",
        ("ci-cluster", "ci-namespace", "ci-serviceaccount"),
        [
            _eks("222222222222", "dev-cluster"),
            AwsGoal("s3:ListAllMyBuckets", "*", "222222222222"),
            _kube("dev-cluster", "get", "namespaces"),
        ],
    ),
    (
        "pod-identity",
        ("ci-cluster", "ci", "deployer"),
        [
            _eks("222222222222", "target-cluster"),
            AwsGoal("s3:ListAllMyBuckets", "*", "222222222222"),
            AwsGoal("iam:CreateUser", "*", "222222222222"),
            _kube("target-cluster", "list", "pods", "default"),
            _kube("target-cluster", "delete", "pods", "default"),
        ],
    ),
    (
        "pod-identity-multi",
        ("ci-cluster", "ci", "deployer"),
        [
            _eks("222222222222", "dev-cluster"),
            AwsGoal("eks:ListClusters", "*", "333333333333"),
            _eks("333333333333", "prod-cluster"),
            _kube("dev-cluster", "list", "pods", "default"),
        ],
    ),
]


def _example_cases() -> list[tuple[str, tuple[str, str, str], Goal]]:
    return [(name, who, goal) for name, who, goals in EXAMPLES for goal in goals]


@pytest.mark.parametrize(
    ("name", "who", "goal"),
    _example_cases(),
    ids=[f"{name}:{goal.describe()}" for name, _who, goal in _example_cases()],
)
def test_example_plan_explains_as_the_applied_example(
    name: str, who: tuple[str, str, str], goal: Goal, tmp_path: Path
) -> None:
    applied = world_topology(PLANS / f"{name}.world.yaml", tmp_path)
    planned = plan_topology(f"{name}.plan.json")
    assert verdicts(planned, *who, goal) == verdicts(applied, *who, goal)


@pytest.mark.parametrize("name", [e[0] for e in EXAMPLES])
def test_example_plan_audits_as_the_applied_example(name: str, tmp_path: Path) -> None:
    applied = world_topology(PLANS / f"{name}.world.yaml", tmp_path)
    assert findings(plan_topology(f"{name}.plan.json")) == findings(applied)


def test_the_examples_reach_what_their_specs_grant(tmp_path: Path) -> None:
    """Not vacuous: the applied examples allow what their specs grant (and the plans with
    them, by the tests above)."""
    allowed = {
        ("three-targets", 0): True,
        ("three-targets", 3): False,  # another cluster: not in the target's policy
        ("three-targets", 4): True,  # edit in apps-*
        ("three-targets", 6): False,  # view only in prod
        ("direct", 0): True,
        ("pod-identity", 0): True,
        ("pod-identity", 3): True,
        ("pod-identity", 4): False,
        ("pod-identity-multi", 0): True,
    }
    for (name, index), expected in allowed.items():
        _name, who, goals = next(e for e in EXAMPLES if e[0] == name)
        topology = plan_topology(f"{name}.plan.json")
        assert verdicts(topology, *who, goals[index])[0] is expected, (name, index)


POD_IDENTITY_BROKEN = [
    # (plan, failed link, what the fix says, the address of the fix)
    ("pod-identity-no-tag-session", 1, "add sts:TagSession", "aws_iam_role.target"),
    (
        "pod-identity-wrong-sa",
        0,
        "create the association",
        'module.pod_identity.aws_eks_pod_identity_association.this["deployer"]',
    ),
]


@pytest.mark.parametrize(
    ("name", "failed", "fix", "address"),
    POD_IDENTITY_BROKEN,
    ids=[b[0] for b in POD_IDENTITY_BROKEN],
)
def test_broken_pod_identity_plan_is_explained_before_apply(
    name: str, failed: int, fix: str, address: str
) -> None:
    read = terraform.read_plans([PLANS / f"{name}.plan.json"], {})
    topology = overlay.apply_overlay(None, read)
    workload = explain.workload_for(topology, "ci-cluster", "ci", "deployer")
    result = explain.explain_access(topology, workload, _eks("222222222222", "target-cluster"))
    assert result.chain is not None
    marks = [link.allowed for link in result.chain.links]
    assert marks.count(False) == 1 and marks[failed] is False
    text = render.explanation_text(result, read[0].sources)
    assert fix in text
    assert f"in:    {PLANS / name}.plan.json: {address}\n" in text
