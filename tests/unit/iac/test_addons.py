"""The Pod Identity Agent add-on from plans and templates (``aws_eks_addon``,
terraform-aws-modules/eks' ``cluster_addons``, ``AWS::EKS::Addon``).

Only an input that *creates* the cluster may say the agent is missing: a plan that updates
an existing cluster, or declares no add-on for it, leaves the agent as the base says ("not
checked" alone), since the add-on may have been installed outside the plan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust.chain.links import Failure
from kubetrust.chain.paths import AwsGoal
from kubetrust.explain import audit, explain, overlay, render, worlds
from kubetrust.explain import bundle as bundle_reader
from kubetrust.explain.audit import sarif
from kubetrust.iac import cloudformation, terraform
from kubetrust.iac.model import IacWorld, merge_sources
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON
from kubetrust.model.topology import Topology

CI = "111111111111"
AWS = "registry.terraform.io/hashicorp/aws"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster"
ROLE_ARN = f"arn:aws:iam::{CI}:role/ci-pod-identity"
GOAL = AwsGoal("s3:ListAllMyBuckets", "*", CI)
CFN_CI = Path(__file__).resolve().parents[2] / "cases" / "cloudformation" / "pod-identity"
NOT_CHECKED = f"whether the cluster runs the `{POD_IDENTITY_AGENT_ADDON}`"


def _change(
    address: str, after: dict[str, Any], unknown: dict[str, Any], actions: list[str]
) -> dict[str, Any]:
    type_, name = address.split(".")[-2:]
    module = address.rsplit(".", 2)[0] if address.startswith("module.") else ""
    item: dict[str, Any] = {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": name.split("[")[0],
        "provider_name": AWS,
        "change": {
            "actions": actions,
            "before": None if actions == ["create"] else after,
            "after": None if actions == ["delete"] else after,
            "after_unknown": unknown,
        },
    }
    if module:
        item["module_address"] = module
    return item


def _trust() -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def plan(
    *, cluster: str = "create", addon: str | None = None, addon_address: str = ""
) -> dict[str, Any]:
    """A CI cluster (``cluster``: its action, or ``""`` for none in the plan), the
    association role with a policy, the association, and the agent add-on when ``addon``
    gives its action."""
    role = {"name": "ci-pod-identity", "path": "/", "arn": ROLE_ARN, "assume_role_policy": _trust()}
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    changes = [
        _change("aws_iam_role.pi", role, {}, ["create"]),
        _change(
            "aws_iam_role_policy.pi",
            {"name": "s3", "role": "ci-pod-identity", "policy": json.dumps(policy)},
            {"id": True},
            ["create"],
        ),
        _change(
            "aws_eks_pod_identity_association.deployer",
            {
                "cluster_name": "ci-cluster",
                "namespace": "ci",
                "service_account": "deployer",
                "role_arn": ROLE_ARN,
                "target_role_arn": None,
            },
            {"association_arn": True, "association_id": True, "id": True},
            ["create"],
        ),
    ]
    if cluster:
        values = {"name": "ci-cluster", "access_config": [{"authentication_mode": "API"}]}
        unknown = {"arn": True, "id": True, "identity": True} if cluster == "create" else {}
        if cluster != "create":
            values["arn"] = CLUSTER_ARN
        changes.insert(0, _change("aws_eks_cluster.ci", values, unknown, [cluster]))
    if addon is not None:
        address = addon_address or "aws_eks_addon.pod_identity_agent"
        values = {"cluster_name": "ci-cluster", "addon_name": POD_IDENTITY_AGENT_ADDON}
        changes.append(_change(address, values, {"arn": True, "id": True}, [addon]))
    providers = {
        "aws": {
            "name": "aws",
            "full_name": AWS,
            "expressions": {
                "region": {"constant_value": "us-east-1"},
                "assume_role": [{"role_arn": {"constant_value": f"arn:aws:iam::{CI}:role/tf"}}],
            },
        }
    }
    return {
        "format_version": "1.2",
        "resource_changes": changes,
        "configuration": {"provider_config": providers, "root_module": {}},
    }


def read_plan(tmp_path: Path, document: dict[str, Any]) -> list[IacWorld]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return terraform.read_plans([path], {})


def snapshot(tmp_path: Path, addons: list[str] | None) -> Topology:
    """The CI account and cluster as exported, with ``addons`` (``None``: no addons.json)."""
    cluster: dict[str, Any] = {
        "name": "ci-cluster",
        "account": CI,
        "region": "us-east-1",
        "authentication_mode": "API",
    }
    if addons is not None:
        cluster["addons"] = addons
    world = {"accounts": [{"id": CI}], "clusters": [cluster]}
    return bundle_reader.load_bundle([worlds.write_bundle(world, tmp_path / "bundle")])


def explained(topology: Topology) -> explain.Explanation:
    workload = explain.workload_for(topology, "ci-cluster", "ci", "deployer")
    return explain.explain_access(topology, workload, GOAL)


def agent(topology: Topology) -> bool | None:
    return topology.cluster("ci-cluster").has_addon(POD_IDENTITY_AGENT_ADDON)


# ---------------------------------------------------------------------- Terraform
@pytest.mark.parametrize(
    "address",
    [
        "aws_eks_addon.pod_identity_agent",
        'module.eks.aws_eks_addon.this["eks-pod-identity-agent"]',  # the eks module's
    ],
)
def test_a_plan_with_cluster_association_and_addon_is_allowed(tmp_path: Path, address: str) -> None:
    read = read_plan(tmp_path, plan(addon="create", addon_address=address))
    topology = overlay.apply_overlay(None, read)
    assert agent(topology) is True
    result = explained(topology)
    assert result.allowed
    assert not any(NOT_CHECKED in note for note in result.notes)


def test_a_plan_creating_the_cluster_without_the_addon_is_denied(tmp_path: Path) -> None:
    read = read_plan(tmp_path, plan())
    topology = overlay.apply_overlay(None, read)
    assert agent(topology) is False
    result = explained(topology)
    assert not result.allowed and result.chain is not None
    assert result.chain.links[0].failure is Failure.NO_AGENT
    text = render.explanation_text(result, read[0].sources)
    assert f"--addon-name {POD_IDENTITY_AGENT_ADDON}" in text
    # the fix is made on the cluster, so explain's "in:" names the cluster's address
    (declared,) = [line.strip() for line in text.splitlines() if line.strip().startswith("in:")]
    assert "aws_eks_cluster.ci" in declared, declared
    # the audit finding (and so its SARIF result) points at the cluster's address
    report = audit.run_audit(topology)
    (missing,) = [f for f in report.findings if f.rule == "pod-identity-agent-missing"]
    source = sarif.finding_source(missing, merge_sources(read))
    assert source is not None and source.address == "aws_eks_cluster.ci"


@pytest.mark.parametrize("action", ["update", "no-op"])
def test_a_plan_updating_an_existing_cluster_leaves_the_agent_unchecked(
    tmp_path: Path, action: str
) -> None:
    read = read_plan(tmp_path, plan(cluster=action))
    topology = overlay.apply_overlay(None, read)
    assert agent(topology) is None
    result = explained(topology)
    assert result.allowed
    assert any(NOT_CHECKED in note for note in result.notes)


def test_a_plan_without_the_cluster_leaves_the_agent_unchecked(tmp_path: Path) -> None:
    read = read_plan(tmp_path, plan(cluster=""))
    assert agent(overlay.apply_overlay(None, read)) is None


@pytest.mark.parametrize(
    ("addons", "expected"),
    [(None, None), ([], False), ([POD_IDENTITY_AGENT_ADDON, "vpc-cni"], True)],
)
def test_over_a_snapshot_its_addons_stand(
    tmp_path: Path, addons: list[str] | None, expected: bool | None
) -> None:
    """Even a plan that says it creates the cluster does not overrule the snapshot."""
    for action in ("update", "create"):
        read = read_plan(tmp_path, plan(cluster=action))
        assert agent(overlay.apply_overlay(snapshot(tmp_path / action, addons), read)) is expected


def test_over_a_snapshot_a_plan_adds_or_deletes_the_agent(tmp_path: Path) -> None:
    added = read_plan(tmp_path, plan(cluster="", addon="create"))
    assert agent(overlay.apply_overlay(snapshot(tmp_path / "a", []), added)) is True
    assert agent(overlay.apply_overlay(snapshot(tmp_path / "b", None), added)) is True
    deleted = read_plan(tmp_path, plan(cluster="", addon="delete"))
    with_agent = snapshot(tmp_path / "c", [POD_IDENTITY_AGENT_ADDON, "vpc-cni"])
    after = overlay.apply_overlay(with_agent, deleted)
    assert agent(after) is False
    assert after.cluster("ci-cluster").addons == ("vpc-cni",)
    assert agent(overlay.apply_overlay(None, deleted)) is False


def test_the_agent_in_another_plan_counts(tmp_path: Path) -> None:
    """Two workspaces: one creates the cluster, the other installs the agent; either order."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    creates = read_plan(tmp_path / "a", plan())
    installs = read_plan(tmp_path / "b", plan(cluster="", addon="create"))
    assert agent(overlay.apply_overlay(None, [*creates, *installs])) is True
    assert agent(overlay.apply_overlay(None, [*installs, *creates])) is True


# ---------------------------------------------------------------------- CloudFormation
def _ci_template(tmp_path: Path, *, with_addon: bool) -> Path:
    text = (CFN_CI / "ci.yaml").read_text(encoding="utf-8")
    if not with_addon:
        block = (
            "  PodIdentityAgent:\n    Type: AWS::EKS::Addon\n    Properties:\n"
            "      ClusterName: !Ref Cluster\n      AddonName: eks-pod-identity-agent\n\n"
        )
        assert block in text
        text = text.replace(block, "")
    path = tmp_path / "ci.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("with_addon", "expected"), [(True, True), (False, False)])
def test_a_template_creating_the_cluster_decides_the_agent(
    tmp_path: Path, with_addon: bool, expected: bool
) -> None:
    read = cloudformation.read_templates(
        [f"{_ci_template(tmp_path, with_addon=with_addon)}:{CI}"], {}
    )
    topology = overlay.apply_overlay(None, read)
    assert agent(topology) is expected
    findings = [f.rule for f in audit.run_audit(topology).findings]
    assert ("pod-identity-agent-missing" in findings) is not expected
    if not expected:
        (missing,) = [
            f for f in audit.run_audit(topology).findings if f.rule == "pod-identity-agent-missing"
        ]
        source = sarif.finding_source(missing, merge_sources(read))
        assert source is not None and source.address == "Cluster"


@pytest.mark.parametrize(
    ("addons", "expected"),
    [(None, None), ([POD_IDENTITY_AGENT_ADDON], True), (["vpc-cni"], False)],
)
def test_a_template_over_a_snapshot_keeps_its_addons(
    tmp_path: Path, addons: list[str] | None, expected: bool | None
) -> None:
    """A stack update: the template without the add-on does not remove one installed."""
    read = cloudformation.read_templates([f"{_ci_template(tmp_path, with_addon=False)}:{CI}"], {})
    assert agent(overlay.apply_overlay(snapshot(tmp_path, addons), read)) is expected
