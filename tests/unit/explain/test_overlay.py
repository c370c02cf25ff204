"""IaC worlds over a base topology: declared things replace, deletions remove, the rest stays."""

from __future__ import annotations

from typing import Any

from kubetrust.explain import overlay
from kubetrust.iac import model
from kubetrust.iac.model import IacWorld, Location, SourceMap

from .conftest import CI, CI_ROLE, TARGET, TARGET_ROLE, Build

TARGET_CLUSTER = f"arn:aws:eks:us-east-1:{TARGET}:cluster/target-cluster"
VIEWER = f"arn:aws:iam::{TARGET}:role/viewer"


def _base(seed_world: dict[str, Any]) -> dict[str, Any]:
    """The seed, with an access entry for a viewer role on the target cluster."""
    cluster = seed_world["clusters"][1]
    cluster["authentication_mode"] = "API_AND_CONFIG_MAP"
    cluster["access_entries"] = [
        {"principalArn": VIEWER, "kubernetesGroups": ["viewers"]},
        {"principalArn": TARGET_ROLE, "kubernetesGroups": ["deployers"]},
    ]
    return seed_world


def _plan_world(trust_principal: str) -> IacWorld:
    """A plan that changes the target role's trust and deletes the viewer's entry."""
    role = {
        "name": "target-account-iam-role",
        "trust": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": trust_principal},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    }
    entry_key = model.access_entry_key(TARGET_CLUSTER, VIEWER)
    return IacWorld(
        world={"accounts": [{"id": TARGET, "roles": [role]}], "clusters": []},
        deleted=frozenset({entry_key}),
        sources=SourceMap({TARGET_ROLE: Location("plan.json", "aws_iam_role.target")}),
    )


def test_a_plan_changes_one_role_and_deletes_an_entry(
    seed_world: dict[str, Any], build: Build
) -> None:
    base = build(_base(seed_world))
    other = f"arn:aws:iam::{CI}:role/someone-else"
    after = overlay.apply_overlay(base, [_plan_world(other)])
    target = after.role(TARGET_ROLE)
    assert target is not None and other in target.trust_text
    assert after.role(TARGET_ROLE) != base.role(TARGET_ROLE)
    # what the plan does not name stays: the CI role, its policies, the provider, aws-auth
    assert after.role(CI_ROLE) == base.role(CI_ROLE)
    assert after.providers == base.providers
    cluster = after.cluster("target-cluster")
    assert cluster.aws_auth == base.cluster("target-cluster").aws_auth
    assert [e.principal_arn for e in cluster.access_entries] == [TARGET_ROLE]
    # a declared role is the plan's whole: its policies are the ones the plan gives it
    assert target.inline == () and base.role(TARGET_ROLE).inline != ()  # type: ignore[union-attr]


def test_without_base_the_world_alone(seed_world: dict[str, Any]) -> None:
    alone = overlay.apply_overlay(None, [_plan_world(CI_ROLE)])
    assert set(alone.accounts) == {TARGET}
    assert alone.role(TARGET_ROLE) is not None and alone.clusters == ()


def test_partial_role_adds_policies_to_the_base_role(
    seed_world: dict[str, Any], build: Build
) -> None:
    """A plan that only attaches a policy to a role it does not manage keeps the base's
    trust and inline policies."""
    base = build(seed_world)
    world = IacWorld(
        world={
            "accounts": [
                {
                    "id": TARGET,
                    "roles": [
                        {
                            "name": "target-account-iam-role",
                            "partial": True,
                            "managed": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                        }
                    ],
                }
            ]
        }
    )
    after = overlay.apply_overlay(base, [world])
    role, before = after.role(TARGET_ROLE), base.role(TARGET_ROLE)
    assert role is not None and before is not None
    assert role.trust == before.trust and role.inline == before.inline
    assert role.attached == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)


def test_deleting_a_role_and_a_cluster(seed_world: dict[str, Any], build: Build) -> None:
    base = build(seed_world)
    world = IacWorld(world={}, deleted=frozenset({TARGET_ROLE, TARGET_CLUSTER}))
    after = overlay.apply_overlay(base, [world])
    assert after.role(TARGET_ROLE) is None and after.role(CI_ROLE) is not None
    assert [c.name for c in after.clusters] == ["ci-cluster"]
