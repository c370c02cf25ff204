"""Reading plans: modules, accounts, values known after apply, and bad input located."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.iac import terraform
from kubetrust.iac.model import IacWorld
from kubetrust.iac.symbolic import TOKEN_PREFIX, describe

CI = "111111111111"
ISSUER_REFS = [
    "aws_eks_cluster.this[0].identity[0].oidc[0].issuer",
    "aws_eks_cluster.this[0].identity[0].oidc[0]",
    "aws_eks_cluster.this[0]",
    "aws_eks_cluster.this",
]


def _change(address: str, after: dict[str, Any], unknown: dict[str, Any], **extra: Any) -> Any:
    module = address.rsplit(".aws_", 1)[0] if address.startswith("module.") else ""
    kind, name = address.split(".")[-2:]
    item = {
        "address": address,
        "mode": extra.pop("mode", "managed"),
        "type": kind,
        "name": name.split("[")[0],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": extra.pop("actions", ["create"]),
            "before": extra.pop("before", None),
            "after": after,
            "after_unknown": unknown,
        },
    }
    if module:
        item["module_address"] = module
    return item


def module_plan(provider: dict[str, Any] | None = None) -> dict[str, Any]:
    """The layout of terraform-aws-modules/eks (cluster and OIDC provider inside
    ``module.eks``, indexed by ``count``) with an IRSA role at the root whose trust is
    written with the module's ``oidc_provider_arn`` output."""
    aws = (
        provider
        if provider is not None
        else {
            "name": "aws",
            "expressions": {
                "region": {"constant_value": "eu-west-1"},
                "assume_role": [{"role_arn": {"constant_value": f"arn:aws:iam::{CI}:role/tf"}}],
            },
        }
    )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "resource_changes": [
            _change(
                "module.eks.aws_eks_cluster.this[0]",
                {"name": "ci-cluster", "access_config": [{"authentication_mode": "API"}]},
                {"arn": True, "identity": True, "access_config": [{}]},
            ),
            _change(
                "module.eks.aws_iam_openid_connect_provider.oidc_provider[0]",
                {"client_id_list": ["sts.amazonaws.com"]},
                {"arn": True, "url": True},
            ),
            _change(
                "data.aws_iam_policy_document.trust",
                {
                    "statement": [
                        {
                            "effect": "Allow",
                            "actions": ["sts:AssumeRoleWithWebIdentity"],
                            "principals": [{"type": "Federated"}],
                            "condition": [
                                {"test": "StringEquals", "values": ["system:serviceaccount:ci:app"]}
                            ],
                        }
                    ]
                },
                {
                    "json": True,
                    "statement": [
                        {"principals": [{"identifiers": True}], "condition": [{"variable": True}]}
                    ],
                },
                mode="data",
                actions=["read"],
            ),
            _change(
                "aws_iam_role.app",
                {"name": "app", "path": "/"},
                {"arn": True, "assume_role_policy": True},
            ),
        ],
        "configuration": {
            "provider_config": {"aws": aws},
            "root_module": {
                "resources": [
                    {
                        "address": "data.aws_iam_policy_document.trust",
                        "mode": "data",
                        "type": "aws_iam_policy_document",
                        "name": "trust",
                        "provider_config_key": "aws",
                        "expressions": {
                            "statement": [
                                {
                                    "principals": [
                                        {
                                            "identifiers": {
                                                "references": [
                                                    "module.eks.oidc_provider_arn",
                                                    "module.eks",
                                                ]
                                            }
                                        }
                                    ],
                                    "condition": [
                                        {"variable": {"references": ["local.oidc_host"]}}
                                    ],
                                }
                            ]
                        },
                    },
                    {
                        "address": "aws_iam_role.app",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "app",
                        "provider_config_key": "aws",
                        "expressions": {
                            "assume_role_policy": {
                                "references": [
                                    "data.aws_iam_policy_document.trust.json",
                                    "data.aws_iam_policy_document.trust",
                                ]
                            }
                        },
                    },
                ],
                "module_calls": {
                    "eks": {
                        "source": "terraform-aws-modules/eks/aws",
                        "version_constraint": "~> 20.0",
                        "module": {
                            "outputs": {
                                "oidc_provider_arn": {
                                    "expression": {
                                        "references": [
                                            "aws_iam_openid_connect_provider.oidc_provider[0].arn",
                                            "aws_iam_openid_connect_provider.oidc_provider[0]",
                                            "aws_iam_openid_connect_provider.oidc_provider",
                                        ]
                                    }
                                }
                            },
                            "resources": [
                                {
                                    "address": "aws_eks_cluster.this",
                                    "mode": "managed",
                                    "type": "aws_eks_cluster",
                                    "name": "this",
                                    "provider_config_key": "aws",
                                    "expressions": {"name": {"references": ["var.cluster_name"]}},
                                },
                                {
                                    "address": "aws_iam_openid_connect_provider.oidc_provider",
                                    "mode": "managed",
                                    "type": "aws_iam_openid_connect_provider",
                                    "name": "oidc_provider",
                                    "provider_config_key": "aws",
                                    "expressions": {"url": {"references": ISSUER_REFS}},
                                },
                            ],
                        },
                    }
                },
            },
        },
    }


def read(tmp_path: Path, data: object, account_map: dict[str, str] | None = None) -> IacWorld:
    path = tmp_path / "plan.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return terraform.read_plans([path], account_map or {})[0]


def test_module_issuer_provider_and_trust_share_one_placeholder(tmp_path: Path) -> None:
    world = read(tmp_path, module_plan())
    account = world.world["accounts"][0]
    cluster = world.world["clusters"][0]
    provider_url = account["oidc_providers"][0]["url"]
    assert cluster["issuer"] == provider_url
    assert cluster["issuer"].startswith(
        "https://oidc.eks.eu-west-1.amazonaws.com/id/" + TOKEN_PREFIX
    )
    assert cluster["authentication_mode"] == "API"
    trust = account["roles"][0]["trust"]["Statement"][0]
    host = provider_url.removeprefix("https://")
    assert trust["Principal"]["Federated"] == [f"arn:aws:iam::{CI}:oidc-provider/{host}"]
    token = host.rsplit("/", 1)[1]
    assert (
        world.sources.unknowns[token]
        == "module.eks.aws_eks_cluster.this[0].identity[0].oidc[0].issuer"
    )
    assert world.sources.locations[f"arn:aws:eks:eu-west-1:{CI}:cluster/ci-cluster"].address == (
        "module.eks.aws_eks_cluster.this[0]"
    )


def test_a_condition_key_through_a_local_stays_known_after_apply(tmp_path: Path) -> None:
    """``local.*`` is not in the plan JSON: the key is not guessed, it stays a placeholder
    that renders as known after apply of the data source's argument."""
    world = read(tmp_path, module_plan())
    condition = world.world["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Condition"]
    (key,) = condition["StringEquals"]
    assert key.startswith(TOKEN_PREFIX)
    assert describe(key, world.sources.unknowns) == (
        "known after apply (data.aws_iam_policy_document.trust.statement[0].condition[0].variable)"
    )


def test_account_from_the_account_map_by_module(tmp_path: Path) -> None:
    plan = module_plan({"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}})
    with pytest.raises(
        errors.InputError,
        match=r"aws_eks_cluster.this\[0\]: cannot tell its AWS account.*--account-map aws=ACC",
    ):
        read(tmp_path, plan)
    world = read(tmp_path, plan, {"aws": "333333333333"})
    assert world.world["clusters"][0]["account"] == "333333333333"


def test_account_from_allowed_account_ids(tmp_path: Path) -> None:
    provider = {
        "name": "aws",
        "expressions": {
            "region": {"constant_value": "eu-west-1"},
            "allowed_account_ids": {"constant_value": ["444444444444"]},
        },
    }
    world = read(tmp_path, module_plan(provider))
    assert {a["id"] for a in world.world["accounts"]} == {"444444444444"}


def test_the_arn_wins_over_the_provider(tmp_path: Path) -> None:
    plan = module_plan()
    role = plan["resource_changes"][3]
    role["change"]["actions"] = ["no-op"]
    role["change"]["after_unknown"] = {}
    role["change"]["after"].update(
        arn="arn:aws:iam::555555555555:role/app",
        assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    world = read(tmp_path, plan)
    accounts = {a["id"]: a for a in world.world["accounts"]}
    assert [r["name"] for r in accounts["555555555555"]["roles"]] == ["app"]


def test_deleted_resources_become_deletions(tmp_path: Path) -> None:
    plan = module_plan()
    role = plan["resource_changes"][3]
    role["change"].update(
        actions=["delete"],
        before={"name": "app", "path": "/", "arn": f"arn:aws:iam::{CI}:role/app"},
        after=None,
    )
    world = read(tmp_path, plan)
    assert f"arn:aws:iam::{CI}:role/app" in world.deleted
    assert f"arn:aws:iam::{CI}:role/app" not in world.sources.locations


def test_unmodelled_types_are_warned_with_their_address(tmp_path: Path) -> None:
    plan = module_plan()
    plan["resource_changes"].append(
        _change("aws_iam_user.deployer", {"name": "deployer"}, {"arn": True})
    )
    plan["resource_changes"].append(_change("aws_s3_bucket.logs", {"bucket": "logs"}, {}))
    world = read(tmp_path, plan)
    assert any("aws_iam_user.deployer" in w and "not modelled" in w for w in world.warnings)
    assert not any("aws_s3_bucket" in w for w in world.warnings)


def test_an_unfollowable_policy_is_warned_not_guessed(tmp_path: Path) -> None:
    plan = module_plan()
    plan["configuration"]["root_module"]["resources"][1]["expressions"]["assume_role_policy"] = {
        "references": ["aws_iam_openid_connect_provider.x.arn", "local.sub"]
    }
    world = read(tmp_path, plan)
    role = world.world["accounts"][0]["roles"][0]
    assert role["trust"]["Statement"] == []
    assert any(
        "aws_iam_role.app" in w and "known after apply (aws_iam_role.app.assume_role_policy)" in w
        for w in world.warnings
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("PK\x03\x04 binary plan", r"plan.json: not valid JSON .*terraform show -json"),
        ({"format_version": "2.0", "resource_changes": []}, r"`format_version` `2.0`"),
        ({"format_version": "1.2"}, r"no `resource_changes`, `planned_values`, `configuration` or"),
        ([1, 2], r"not an object"),
        (
            {
                "format_version": "1.2",
                "resource_changes": [
                    {"address": "aws_iam_role.x", "change": {"actions": ["create"], "after": None}}
                ],
            },
            r"plan.json: aws_iam_role.x: no values",
        ),
        (
            {"format_version": "1.2", "resource_changes": [{"address": "aws_iam_role.x"}]},
            r"aws_iam_role.x: no `change.actions`",
        ),
        (
            {
                "format_version": "1.2",
                "planned_values": {
                    "root_module": {"resources": [{"address": "aws_iam_role.y", "mode": "managed"}]}
                },
            },
            r"aws_iam_role.y: no `values` object",
        ),
    ],
)
def test_malformed_plans_are_located(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(errors.InputError, match=message):
        read(tmp_path, content)


def test_a_kubernetes_provider_without_a_cluster_is_an_error(tmp_path: Path) -> None:
    plan = module_plan()
    plan["resource_changes"].append(
        _change(
            "kubernetes_config_map_v1_data.aws_auth",
            {
                "metadata": [{"name": "aws-auth", "namespace": "kube-system"}],
                "data": {"mapRoles": "[]"},
            },
            {},
        )
    )
    plan["configuration"]["provider_config"]["kubernetes"] = {
        "name": "kubernetes",
        "expressions": {"config_path": {"constant_value": "~/.kube/config"}},
    }
    with pytest.raises(
        errors.InputError,
        match=r"aws_auth: cannot tell which EKS cluster.*--account-map kubernetes=CLUSTER_ARN",
    ):
        read(tmp_path, plan)
    target = f"arn:aws:eks:eu-west-1:{CI}:cluster/ci-cluster"
    world = read(tmp_path, plan, {"kubernetes": target})
    assert f"aws-auth:{target}" in world.sources.locations
