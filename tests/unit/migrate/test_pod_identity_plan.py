"""IRSA → Pod Identity planned over offline worlds (the seed's, and variations of it)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.explain import bundle, worlds
from kubetrust.migrate import pod_identity_config as config
from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate import pod_identity_plan as planning
from kubetrust.migrate.pod_identity_after import after_world
from kubetrust.migrate.pod_identity_proof import prove
from kubetrust.model.topology import Topology

SEED_WORLD = Path(__file__).resolve().parents[2] / "cases" / "explain" / "seed_world.yaml"
CI, TARGET = "111111111111", "222222222222"
CI_ROLE = f"arn:aws:iam::{CI}:role/ci-account-iam-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-account-iam-role"
HOST = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
SA = ("ci-namespace", "ci-serviceaccount")
SEED_CONFIG = (
    f"[profile ci-env]\nrole_arn = {CI_ROLE}\n"
    "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n\n"
    f"[profile target-env]\nrole_arn = {TARGET_ROLE}\nsource_profile = ci-env\n"
    "role_session_name = xactarget\n"
)

Build = Callable[[dict[str, Any]], Topology]


@pytest.fixture
def world() -> dict[str, Any]:
    loaded = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


@pytest.fixture
def build(tmp_path: Path) -> Build:
    counter = iter(range(100))

    def _build(data: dict[str, Any]) -> Topology:
        root = tmp_path / f"bundle-{next(counter)}"
        worlds.write_bundle(data, root)
        return bundle.load_bundle([root])

    return _build


def _role(world: dict[str, Any], account: str, name: str) -> dict[str, Any]:
    found = next(a for a in world["accounts"] if a["id"] == account)
    role: dict[str, Any] = next(r for r in found["roles"] if r["name"] == name)
    return role


def _service_account(world: dict[str, Any], namespace: str, name: str, role: str) -> None:
    world["clusters"][0]["manifests"].append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": {"eks.amazonaws.com/role-arn": role},
            },
        }
    )


def test_the_seed_gets_one_statement_one_association_and_tag_session(
    world: dict[str, Any], build: Build
) -> None:
    before = build(world)
    plan = planning.plan(before, planning.Request("ci-cluster"))
    (migration,) = plan.migrations
    assert (migration.role_arn, migration.target_role_arn) == (CI_ROLE, TARGET_ROLE)
    added = {edit.role_arn: edit.add for edit in plan.trust_edits}
    (pods,) = added[CI_ROLE]
    assert pods["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert pods["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert pods["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == SA[1]
    assert added[TARGET_ROLE] == (docs.tag_session_statement(CI_ROLE),)
    (policy,) = plan.policy_edits
    assert (policy.role_arn, policy.resources) == (CI_ROLE, (TARGET_ROLE,))


def test_a_rerun_over_the_world_after_plans_nothing(world: dict[str, Any], build: Build) -> None:
    before = build(world)
    plan = planning.plan(before, planning.Request("ci-cluster"))
    assert plan.has_changes
    again = planning.plan(after_world(plan), planning.Request("ci-cluster"))
    assert not again.has_changes
    assert again.migrations[0].association_exists


def test_the_pod_identity_statement_is_added_once_even_next_to_eksctls() -> None:
    statement = docs.pods_statement(CI, "arn:aws:eks:us-east-1:1:cluster/c", "ns", "sa")
    once = docs.add_statements({"Statement": []}, [statement])
    assert docs.add_statements(once, [statement]) == once
    eksctl = {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    assert docs.add_statements({"Statement": [eksctl]}, [statement])["Statement"] == [eksctl]


def test_the_proof_of_the_seed_is_same_and_without_tag_session_it_is_lost(
    world: dict[str, Any], build: Build
) -> None:
    before = build(world)
    proven = prove(before, planning.Request("ci-cluster", target_role_arn="none"))
    assert [d.verdict for d in proven.differences] == ["same"]
    _role(world, TARGET, "target-account-iam-role")["trust"]["Statement"].append(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"}
    )
    denied = prove(build(world), planning.Request("ci-cluster", target_role_arn="none"))
    (difference,) = denied.lost()
    assert difference.principal.key == "ci-namespace/ci-serviceaccount"
    assert any("s3:ListAllMyBuckets" in line for line in difference.lost)
    assert denied.lost(frozenset({"ci-namespace/ci-serviceaccount"})) == []


def test_addon_service_accounts_are_skipped_with_the_rule(
    world: dict[str, Any], build: Build
) -> None:
    _service_account(world, "kube-system", "aws-node", CI_ROLE.replace("ci-account", "cni"))
    addon_role = f"arn:aws:iam::{CI}:role/ebs-csi"
    _service_account(world, "kube-system", "ebs-csi-controller-sa", addon_role)
    request = planning.Request("ci-cluster", addon_roles={"aws-ebs-csi-driver": addon_role})
    plan = planning.plan(build(world), request)
    rules = {skip.key: skip.rule for skip in plan.skipped}
    assert rules == {
        "kube-system/aws-node": "well-known-addon",
        "kube-system/ebs-csi-controller-sa": "addon-role",
    }
    assert [m.key for m in plan.migrations] == ["ci-namespace/ci-serviceaccount"]
    reason = next(s.reason for s in plan.skipped if s.rule == "addon-role")
    assert "aws-ebs-csi-driver" in reason and "update-addon" in reason


def test_a_cross_account_irsa_role_is_skipped_with_the_manual_step(
    world: dict[str, Any], build: Build
) -> None:
    _service_account(world, "ci-namespace", "direct", TARGET_ROLE)
    plan = planning.plan(build(world), planning.Request("ci-cluster"))
    (skip,) = plan.skipped
    assert skip.rule == "cross-account-role" and "targetRoleArn" in skip.reason


def _two_targets(world: dict[str, Any]) -> None:
    target = next(a for a in world["accounts"] if a["id"] == TARGET)
    second = copy.deepcopy(target["roles"][0])
    second["name"] = "second-target"
    target["roles"].append(second)
    policy = _role(world, CI, "ci-account-iam-role")["policies"]["assume-target"]
    policy["Statement"][0]["Resource"] = [
        TARGET_ROLE,
        TARGET_ROLE.replace("target-account-iam-role", "second-target"),
    ]


def test_several_targets_give_no_target_role_and_the_config_moves_to_ecs_container(
    world: dict[str, Any], build: Build
) -> None:
    _two_targets(world)
    pod_config = config.PodConfig("ci-namespace", "awsconfig", {"config": SEED_CONFIG})
    plan = planning.plan(build(world), planning.Request("ci-cluster", pod_config=pod_config))
    (migration,) = plan.migrations
    assert migration.target_role_arn is None
    assert "2 target roles" in migration.target_reason
    assert plan.config_edit is not None
    profiles = dict(config.parse(plan.config_edit.after["config"]))
    assert profiles["ci-env"] == {}
    assert profiles["target-env"] == {
        "role_arn": TARGET_ROLE,
        "role_session_name": "xactarget",
        "credential_source": "EcsContainer",
    }


def test_auto_keeps_no_target_when_the_role_has_permissions_or_a_profile_of_its_own(
    world: dict[str, Any], build: Build
) -> None:
    pod_config = config.PodConfig("ci-namespace", "awsconfig", {"config": SEED_CONFIG})
    plan = planning.plan(build(world), planning.Request("ci-cluster", pod_config=pod_config))
    assert plan.migrations[0].target_role_arn is None
    assert "ci-env" in plan.migrations[0].target_reason
    _role(world, CI, "ci-account-iam-role")["policies"]["own"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    plan = planning.plan(build(world), planning.Request("ci-cluster"))
    assert plan.migrations[0].target_role_arn is None
    assert "s3:GetObject" in plan.migrations[0].target_reason


def test_remove_irsa_drops_only_this_service_accounts_subject(
    world: dict[str, Any], build: Build
) -> None:
    trust = _role(world, CI, "ci-account-iam-role")["trust"]
    other = "system:serviceaccount:ci-namespace:other"
    trust["Statement"][0]["Condition"]["StringEquals"][f"{HOST}:sub"] = [
        "system:serviceaccount:ci-namespace:ci-serviceaccount",
        other,
    ]
    _service_account(world, "ci-namespace", "other", CI_ROLE)
    before = build(world)
    request = planning.Request("ci-cluster", service_accounts=(SA,), remove_irsa=True)
    plan = planning.plan(before, request)
    (edit,) = plan.irsa_edits
    role = before.role(CI_ROLE)
    assert role is not None
    edited, notes = edit.edited(json.loads(role.trust_text))
    web = [s for s in edited["Statement"] if "Federated" in s["Principal"]]
    assert web[0]["Condition"]["StringEquals"][f"{HOST}:sub"] == other
    assert notes == []
    assert plan.annotations == (SA,)
    after = after_world(plan).cluster("ci-cluster")
    assert after.service_accounts[SA].role_arn is None
    assert after.service_accounts[("ci-namespace", "other")].role_arn == CI_ROLE


def test_remove_irsa_drops_a_statement_left_without_subject() -> None:
    provider = f"arn:aws:iam::{CI}:oidc-provider/{HOST}"
    subject = "system:serviceaccount:ci-namespace:ci-serviceaccount"
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{HOST}:sub": subject}},
    }
    edited, _ = docs.drop_subject({"Statement": [statement]}, provider, HOST, subject)
    assert edited["Statement"] == []
    wildcard = copy.deepcopy(statement)
    wildcard["Condition"] = {"StringLike": {f"{HOST}:sub": "system:serviceaccount:ci-namespace:*"}}
    kept, notes = docs.drop_subject({"Statement": [wildcard]}, provider, HOST, subject)
    assert kept["Statement"] == [wildcard] and "wildcard" in notes[0]


def test_an_unknown_cluster_is_a_clear_input_error(world: dict[str, Any], build: Build) -> None:
    from kubetrust import errors

    with pytest.raises(errors.InputError, match="no cluster `nope`"):
        planning.plan(build(world), planning.Request("nope"))
