"""An aws-auth ``mapRoles = yamlencode([...])`` of values known only after apply: the plan
JSON shows the expression's references but not the usernames and groups written beside
them, so the mappings are not rebuilt (they could not be judged); the warning names what
they reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubetrust.iac import terraform

CI = "111111111111"
AWS = "registry.terraform.io/hashicorp/aws"
K8S = "registry.terraform.io/hashicorp/kubernetes"
CLUSTER = f"arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster"


def _plan(map_roles_unknown: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"mapRoles": None if map_roles_unknown else "- rolearn: x\n"}
    aws_auth = {
        "address": "kubernetes_config_map_v1_data.aws_auth",
        "mode": "managed",
        "type": "kubernetes_config_map_v1_data",
        "name": "aws_auth",
        "provider_name": K8S,
        "change": {
            "actions": ["create"],
            "before": None,
            "after": {"metadata": [{"name": "aws-auth", "namespace": "kube-system"}], "data": data},
            "after_unknown": {"data": {"mapRoles": True}} if map_roles_unknown else {},
        },
    }
    mapped = ["aws_iam_role.deployer.arn", "aws_iam_role.deployer", "var.admin_groups"]
    config = {
        "address": "kubernetes_config_map_v1_data.aws_auth",
        "mode": "managed",
        "type": "kubernetes_config_map_v1_data",
        "name": "aws_auth",
        "provider_config_key": "kubernetes",
        "expressions": {"data": {"references": mapped}},
    }
    cluster = {
        "address": "data.aws_eks_cluster.ci",
        "mode": "data",
        "type": "aws_eks_cluster",
        "name": "ci",
        "provider_name": AWS,
        "values": {"name": "ci-cluster", "arn": CLUSTER, "endpoint": "https://x"},
    }
    providers = {
        "aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}},
        "kubernetes": {
            "name": "kubernetes",
            "expressions": {"host": {"references": ["data.aws_eks_cluster.ci.endpoint"]}},
        },
    }
    return {
        "format_version": "1.2",
        "resource_changes": [aws_auth],
        "prior_state": {"values": {"root_module": {"resources": [cluster]}}},
        "configuration": {
            "provider_config": providers,
            "root_module": {"resources": [config]},
        },
    }


def _read(tmp_path: Path, unknown: bool) -> Any:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_plan(unknown)), encoding="utf-8")
    return terraform.read_plans([path], {CI: CI, "aws": CI})[0]


def test_an_unknown_map_roles_is_left_out_naming_its_references(tmp_path: Path) -> None:
    world = _read(tmp_path, unknown=True)
    (warning,) = [w for w in world.warnings if "mapRoles" in w]
    assert "kubernetes_config_map_v1_data.aws_auth" in warning
    assert "`aws_iam_role.deployer.arn`" in warning and "var.admin_groups" not in warning
    assert "usernames and groups" in warning
    (cluster,) = world.world["clusters"]
    assert "mapRoles" not in cluster["aws_auth"]


def test_a_known_map_roles_is_read_without_warning(tmp_path: Path) -> None:
    world = _read(tmp_path, unknown=False)
    assert not [w for w in world.warnings if "mapRoles" in w]
    (cluster,) = world.world["clusters"]
    assert cluster["aws_auth"]["mapRoles"] == [{"rolearn": "x"}]
