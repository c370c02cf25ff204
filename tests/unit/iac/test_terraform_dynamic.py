"""Statements a module builds in ``dynamic "statement"`` blocks from its inputs
(terraform-aws-modules/eks-pod-identity's ``policy_statements``): the chain permission
of the pod-identity example written that way reaches the association role's policy,
whether the module's policy document is read at apply (the target role is new: its ARN
unknown, ``resource_changes``) or while planning (``prior_state``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.chain.rbac import request_info
from kubetrust.explain import bundle, explain, overlay, worlds
from kubetrust.iac import terraform
from kubetrust.iac.model import IacWorld
from kubetrust.iac.symbolic import TOKEN_PREFIX
from kubetrust.model.topology import Topology

PLANS = Path(__file__).resolve().parents[2] / "cases" / "terraform"
DEV = "222222222222"
TARGET_ROLE = f"arn:aws:iam::{DEV}:role/target-pod-identity-role"
GOALS: list[Goal] = [
    AwsGoal("eks:DescribeCluster", f"arn:aws:eks:us-east-1:{DEV}:cluster/target-cluster"),
    AwsGoal("s3:ListAllMyBuckets", "*", DEV),
    KubeGoal("target-cluster", request_info("list", "pods", "", "", "default")),
]


def verdicts(topology: Topology, goal: Goal) -> Any:
    workload = explain.workload_for(topology, "ci-cluster", "ci", "deployer")
    result = explain.explain_access(topology, workload, goal)
    assert result.chain is not None
    return result.allowed, [link.allowed for link in result.chain.links], list(result.chain.roles)


def read(tmp_path: Path, document: dict[str, Any]) -> list[IacWorld]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return terraform.read_plans([path], {})


def plan(name: str) -> dict[str, Any]:
    loaded = json.loads((PLANS / f"{name}.plan.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def custom_policy(world: IacWorld) -> Any:
    (account,) = [a for a in world.world["accounts"] if a["id"] == "111111111111"]
    (policy,) = [p for p in account.get("policies") or [] if p["name"].endswith("-custom")]
    return policy["document"]


@pytest.mark.parametrize("name", ["pod-identity-module-policy", "pod-identity-module-policy-known"])
@pytest.mark.parametrize("goal", GOALS, ids=lambda g: g.describe())
def test_module_policy_statements_explain_as_the_applied_example(
    name: str, goal: Goal, tmp_path: Path
) -> None:
    world = yaml.safe_load((PLANS / "pod-identity.world.yaml").read_text(encoding="utf-8"))
    applied = bundle.load_bundle([worlds.write_bundle(copy.deepcopy(world), tmp_path / "b")])
    planned = overlay.apply_overlay(None, terraform.read_plans([PLANS / f"{name}.plan.json"], {}))
    assert verdicts(planned, goal) == verdicts(applied, goal)
    assert verdicts(planned, goal)[0] is True


@pytest.mark.parametrize("name", ["pod-identity-module-policy", "pod-identity-module-policy-known"])
def test_the_statement_names_the_target_role(name: str) -> None:
    (world,) = terraform.read_plans([PLANS / f"{name}.plan.json"], {})
    (statement,) = custom_policy(world)["Statement"]
    assert statement["Resource"] == [TARGET_ROLE]
    assert not any("dynamic" in warning for warning in world.warnings)


def test_unpaired_values_stay_known_after_apply_with_a_warning(tmp_path: Path) -> None:
    """Two unknown values passed for one unknown part: which is it? Not guessed."""
    document = plan("pod-identity-module-policy")
    call = document["configuration"]["root_module"]["module_calls"]["pod_identity"]
    call["expressions"]["policy_statements"] = {
        "references": [
            "aws_iam_role.target.arn",
            "aws_iam_role.target",
            "aws_iam_role.target.unique_id",
        ]
    }
    (world,) = read(tmp_path, document)
    (statement,) = custom_policy(world)["Statement"]
    assert all(TOKEN_PREFIX in r for r in statement["Resource"])
    data = "module.pod_identity.data.aws_iam_policy_document.custom[0]"
    assert any(f"{data}: 1 value(s)" in w and "`dynamic` block" in w for w in world.warnings)
    topology = overlay.apply_overlay(None, [world])
    assert verdicts(topology, GOALS[0])[0] is False  # the chain permission is not granted


def test_a_statement_written_in_the_configuration_is_not_filled_from_inputs(
    tmp_path: Path,
) -> None:
    """A part with its own (unfollowable) expression is not a dynamic block's: it stays."""
    document = plan("pod-identity-module-policy")
    module = document["configuration"]["root_module"]["module_calls"]["pod_identity"]["module"]
    (data,) = [
        r for r in module["resources"] if r["address"] == "data.aws_iam_policy_document.custom"
    ]
    data["expressions"]["statement"] = [{"resources": {"references": ["local.targets"]}}]
    (world,) = read(tmp_path, document)
    (statement,) = custom_policy(world)["Statement"]
    assert all(TOKEN_PREFIX in r for r in statement["Resource"])
