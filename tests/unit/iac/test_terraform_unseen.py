"""Plans in shapes our generated fixtures do not have: what real ``terraform show -json``
output carries besides (sensitive markers, drift, moves, imports, deposed objects, checks,
old format versions, plans without changes). Each plan is written here by hand in the shape
of a public fixture family (named in a comment; learned from, never copied) before the
reader was made to handle it; the reader must ignore what does not matter, warn with the
address on what matters but is not understood, and never crash.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.iac import terraform
from kubetrust.iac.model import IacWorld

CI = "111111111111"
AWS = "registry.terraform.io/hashicorp/aws"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
)
PROVIDERS = {
    "aws": {
        "name": "aws",
        "full_name": AWS,
        "version_constraint": ">= 5.0",
        "expressions": {
            "region": {"constant_value": "eu-west-1"},
            "assume_role": [{"role_arn": {"constant_value": f"arn:aws:iam::{CI}:role/tf"}}],
        },
    }
}


def role_values(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "path": "/",
        "arn": f"arn:aws:iam::{CI}:role/{name}",
        "assume_role_policy": TRUST,
        "max_session_duration": 3600,
        "tags": {},
    }


def change(
    address: str, actions: list[str], before: Any, after: Any, **extra: Any
) -> dict[str, Any]:
    type_, name = address.split(".")[-2:]
    return {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": name.split("[")[0],
        "provider_name": AWS,
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {},
            "before_sensitive": {} if before is not None else False,
            "after_sensitive": {} if after is not None else False,
        },
        **extra,
    }


def read(tmp_path: Path, document: object) -> IacWorld:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return terraform.read_plan(path, {})


def role_names(world: IacWorld) -> list[str]:
    return sorted(
        role["name"]
        for account in world.world["accounts"]
        for role in account.get("roles") or []
        if not role.get("partial")
    )


# ---------------------------------------------------------------------- rich plan
# The shape of Terraform's own internal/command/testdata/show-json plans and of plans
# printed by Terraform 1.5-1.9: every top-level key a current plan has.
def rich_plan() -> dict[str, Any]:
    moved = change(
        "aws_iam_role.deployer",
        ["no-op"],
        role_values("deployer"),
        role_values("deployer"),
        previous_address="aws_iam_role.ci",
    )
    imported = change(
        'module.access["dev"].aws_iam_role.this',
        ["no-op"],
        role_values("imported"),
        role_values("imported"),
        module_address='module.access["dev"]',
        index=None,
    )
    imported["change"]["importing"] = {"id": "imported"}
    replaced = change(
        "aws_iam_role.rotated",
        ["create", "delete"],
        role_values("rotated"),
        role_values("rotated") | {"description": "v2"},
        action_reason="replace_because_cannot_update",
    )
    replaced["change"]["replace_paths"] = [["name"]]
    deposed = change(
        "aws_iam_role.rotated",
        ["delete"],
        role_values("rotated"),
        None,
        deposed="00000001",
        action_reason="delete_because_no_resource_config",
    )
    secret = change(
        'aws_iam_role.per_team["platform"]',
        ["create"],
        None,
        role_values("team-platform") | {"description": "sensitive"},
        index="platform",
    )
    secret["change"]["after_sensitive"] = {"description": True, "tags": {}}
    secret["change"]["after_unknown"] = {"arn": True, "id": True, "unique_id": True}
    del secret["change"]["after"]["arn"]
    reading = {
        "address": "data.aws_caller_identity.current",
        "mode": "data",
        "type": "aws_caller_identity",
        "name": "current",
        "provider_name": AWS,
        "change": {
            "actions": ["read"],
            "before": None,
            "after": {},
            "after_unknown": {"account_id": True, "arn": True, "id": True, "user_id": True},
        },
        "action_reason": "read_because_dependency_pending",
    }
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "variables": {"teams": {"value": ["platform"]}},
        "planned_values": {
            "outputs": {"role_arn": {"sensitive": False, "type": "string", "value": "x"}},
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.deployer",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "deployer",
                        "provider_name": AWS,
                        "schema_version": 0,
                        "values": role_values("deployer"),
                        "sensitive_values": {"inline_policy": [], "tags": {}},
                    }
                ],
                "child_modules": [
                    {
                        "address": 'module.access["dev"]',
                        "resources": [
                            {
                                "address": 'module.access["dev"].aws_iam_role.this',
                                "mode": "managed",
                                "type": "aws_iam_role",
                                "name": "this",
                                "provider_name": AWS,
                                "values": role_values("imported"),
                                "sensitive_values": {},
                            }
                        ],
                    }
                ],
            },
        },
        "resource_drift": [
            change(
                "aws_iam_role.deployer",
                ["update"],
                role_values("deployer"),
                role_values("deployer") | {"max_session_duration": 7200},
            )
        ],
        "resource_changes": [moved, imported, replaced, deposed, secret, reading],
        "output_changes": {
            "role_arn": {
                "actions": ["create"],
                "before": None,
                "after": "x",
                "after_unknown": False,
                "before_sensitive": False,
                "after_sensitive": False,
            }
        },
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": "1.9.5",
            "values": {"root_module": {"resources": []}},
        },
        "configuration": {
            "provider_config": {
                **copy.deepcopy(PROVIDERS),
                "module.access:aws": {
                    "name": "aws",
                    "full_name": AWS,
                    "module_address": "module.access",
                },
            },
            "root_module": {
                "outputs": {"role_arn": {"expression": {"references": ["aws_iam_role.deployer"]}}},
                "resources": [
                    {
                        "address": "aws_iam_role.per_team",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "per_team",
                        "provider_config_key": "aws",
                        "for_each_expression": {"references": ["var.teams"]},
                        "expressions": {"name": {"references": ["each.key"]}},
                        "schema_version": 0,
                    }
                ],
                "module_calls": {
                    "access": {
                        "source": "./modules/access",
                        "for_each_expression": {"constant_value": {"dev": {}}},
                        "expressions": {},
                        "module": {
                            "resources": [
                                {
                                    "address": "aws_iam_role.this",
                                    "mode": "managed",
                                    "type": "aws_iam_role",
                                    "name": "this",
                                    "provider_config_key": "aws",
                                    "expressions": {},
                                }
                            ]
                        },
                    }
                },
            },
        },
        "relevant_attributes": [{"resource": "aws_iam_role.deployer", "attribute": ["arn"]}],
        "checks": [
            {
                "address": {"kind": "resource", "mode": "managed", "name": "deployer"},
                "status": "pass",
                "instances": [{"address": {"to_display": "aws_iam_role.deployer"}}],
            }
        ],
        "timestamp": "2026-05-04T10:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }


def test_a_rich_plan_reads_every_role_once(tmp_path: Path) -> None:
    world = read(tmp_path, rich_plan())
    assert role_names(world) == ["deployer", "imported", "rotated", "team-platform"]
    assert world.deleted == frozenset()  # the deposed object is not the role
    assert world.sources.locations[f"arn:aws:iam::{CI}:role/deployer"].address == (
        "aws_iam_role.deployer"
    )


def test_drift_is_not_a_change(tmp_path: Path) -> None:
    """``resource_drift`` says what changed outside Terraform; the plan's changes already
    start from it, so the role is as ``resource_changes`` says."""
    world = read(tmp_path, rich_plan())
    roles = world.world["accounts"][0]["roles"]
    deployer = next(r for r in roles if r["name"] == "deployer")
    assert deployer["max_session_duration"] == 3600


def test_a_deposed_object_alone_deletes_nothing(tmp_path: Path) -> None:
    plan = rich_plan()
    plan["resource_changes"] = [c for c in plan["resource_changes"] if c.get("deposed")]
    plan["planned_values"] = {"root_module": {}}
    world = read(tmp_path, plan)
    assert world.deleted == frozenset() and role_names(world) == []


def test_a_forgotten_resource_stays(tmp_path: Path) -> None:
    """Terraform 1.7's ``removed`` block: ``forget`` leaves the role in AWS, unmanaged."""
    plan = rich_plan()
    plan["resource_changes"] = [
        change("aws_iam_role.legacy", ["forget"], role_values("legacy"), None)
    ]
    plan["planned_values"] = {"root_module": {}}
    world = read(tmp_path, plan)
    assert role_names(world) == ["legacy"]
    assert world.deleted == frozenset()


# ---------------------------------------------------------------------- other versions
# checkov's and terrascan's older plan fixtures: Terraform 0.12-0.15 wrote format 0.1/0.2,
# short provider names, no module_address, no after_unknown.
def test_an_old_format_plan_is_read(tmp_path: Path) -> None:
    item = change("aws_iam_role.old", ["create"], None, role_values("old"))
    item["provider_name"] = "aws"
    del item["change"]["after_unknown"]
    plan = {
        "format_version": "0.1",
        "terraform_version": "0.12.31",
        "planned_values": {"root_module": {}},
        "resource_changes": [item],
        "configuration": {"provider_config": copy.deepcopy(PROVIDERS), "root_module": {}},
    }
    assert role_names(read(tmp_path, plan)) == ["old"]


def test_a_future_major_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="format_version"):
        read(tmp_path, {"format_version": "2.0", "resource_changes": []})


# a plan with no changes (``terraform plan`` printing "No changes"): conftest's and regula's
# fixtures of that case have no resource_changes; the state is in prior_state only
def test_a_plan_with_only_prior_state(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.8.0",
        "prior_state": {
            "format_version": "1.0",
            "values": {
                "root_module": {
                    "child_modules": [
                        {
                            "address": "module.iam",
                            "resources": [
                                {
                                    "address": "module.iam.aws_iam_role.kept",
                                    "mode": "managed",
                                    "type": "aws_iam_role",
                                    "name": "kept",
                                    "provider_name": AWS,
                                    "values": role_values("kept"),
                                    "sensitive_values": {},
                                }
                            ],
                        }
                    ]
                }
            },
        },
        "applyable": False,
        "complete": True,
        "errored": False,
    }
    world = read(tmp_path, plan)
    assert role_names(world) == ["kept"]


def test_an_errored_plan_is_read_with_a_warning(tmp_path: Path) -> None:
    plan = rich_plan()
    plan["errored"] = True
    plan["applyable"] = False
    world = read(tmp_path, plan)
    assert any("errored" in w for w in world.warnings)


def test_an_incomplete_plan_is_read_with_a_warning(tmp_path: Path) -> None:
    """Terraform 1.8+ (deferred actions): ``complete: false`` — more changes follow."""
    plan = rich_plan()
    plan["complete"] = False
    assert any("complete" in w for w in read(tmp_path, plan).warnings)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["resource_changes"][0]["change"].update(actions="create"), "actions"),
        (lambda p: p.update(resource_changes={"a": 1}), "must be a list"),
        (lambda p: p["resource_changes"][0]["change"].update(after=None), "no values"),
        (lambda p: p["resource_changes"].append(["not", "an", "object"]), "needs an `address`"),
    ],
)
def test_broken_parts_of_a_rich_plan_are_located(tmp_path: Path, mutate: Any, message: str) -> None:
    plan = copy.deepcopy(rich_plan())
    mutate(plan)
    with pytest.raises(errors.InputError, match=message):
        read(tmp_path, plan)


def test_a_provider_without_region_is_an_error_for_a_cluster(tmp_path: Path) -> None:
    """Never guessed: the region is in the cluster's ARN (reference I.1)."""
    plan = rich_plan()
    plan["configuration"]["provider_config"]["aws"]["expressions"].pop("region")
    plan["resource_changes"].append(
        {
            **change(
                "aws_eks_access_entry.ci",
                ["create"],
                None,
                {
                    "cluster_name": "ci-cluster",
                    "principal_arn": f"arn:aws:iam::{CI}:role/deployer",
                    "type": "STANDARD",
                },
            ),
        }
    )
    with pytest.raises(
        errors.InputError, match=r"aws_eks_access_entry\.ci: cannot tell its region"
    ):
        read(tmp_path, plan)


def test_a_provider_without_region_is_fine_for_iam(tmp_path: Path) -> None:
    plan = rich_plan()
    plan["configuration"]["provider_config"]["aws"]["expressions"].pop("region")
    assert "deployer" in role_names(read(tmp_path, plan))


# ---------------------------------------------------------------------- exclusive policies
# aws_iam_role_policies_exclusive (AWS provider 5.58+): the role's inline policies are
# exactly the listed names; Terraform deletes any other at apply. The role itself is
# managed elsewhere (a base), as the resource's documentation recommends it for.
def test_policies_exclusive_drops_unlisted_inline_policies_of_the_base(tmp_path: Path) -> None:
    from kubetrust.explain import bundle, overlay, worlds

    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    base_world = {
        "accounts": [
            {
                "id": CI,
                "roles": [
                    {
                        "name": "ci",
                        "trust": json.loads(TRUST),
                        "policies": {"deploy": allow, "break-glass": allow},
                    }
                ],
            }
        ]
    }
    base = bundle.load_bundle([worlds.write_bundle(base_world, tmp_path / "base")])
    exclusive = change(
        "aws_iam_role_policies_exclusive.ci",
        ["create"],
        None,
        {"role_name": "ci", "policy_names": ["deploy"]},
    )
    plan = {
        "format_version": "1.2",
        "resource_changes": [exclusive],
        "configuration": {"provider_config": copy.deepcopy(PROVIDERS), "root_module": {}},
    }
    planned = read(tmp_path, plan)
    role = overlay.apply_overlay(base, [planned]).accounts[CI].roles["ci"]
    assert [d.name.removeprefix("inline ") for d in role.inline] == ["deploy"]
    key = f"arn:aws:iam::{CI}:role/ci#inline"
    assert planned.sources.locations[key].address == "aws_iam_role_policies_exclusive.ci"
    # without it, the base's policies stay
    plan["resource_changes"] = []
    kept = overlay.apply_overlay(base, [read(tmp_path, plan)]).accounts[CI].roles["ci"]
    assert sorted(d.name.removeprefix("inline ") for d in kept.inline) == ["break-glass", "deploy"]


@pytest.mark.parametrize("where", ["configuration", "prior_state"])
def test_module_parts_of_the_wrong_shape_are_skipped_not_a_crash(
    tmp_path: Path, where: str
) -> None:
    """Found by mutating the example plans: a module's `resources` that is not a list was
    iterated; a malformed part is skipped like a missing one, and the rest is still read."""
    plan = rich_plan()
    if where == "configuration":
        plan["configuration"]["root_module"]["resources"] = True
    else:
        plan["prior_state"] = {"values": {"root_module": {"resources": 7, "child_modules": 1}}}
    world = read(tmp_path, plan)
    assert role_names(world) == role_names(read(tmp_path, rich_plan()))
