"""explain_access, its renderings and the CLI commands, on the seed's world."""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kubetrust import errors
from kubetrust.chain import links, paths, rbac
from kubetrust.cli import explain as explain_cli
from kubetrust.explain import explain, render, trust_analysis
from kubetrust.policy import PolicyKind, parse_policy

from .conftest import CI, CI_ROLE, PREFIX, TARGET, TARGET_ROLE, Build

CLUSTER_ARN = f"arn:aws:eks:us-east-1:{TARGET}:cluster/target-cluster"
DESCRIBE = paths.AwsGoal("eks:DescribeCluster", CLUSTER_ARN)


def _workload(topology: Any, name: str = "ci-serviceaccount", **kw: Any) -> links.Workload:
    return explain.workload_for(topology, "ci-cluster", "ci-namespace", name, **kw)


def test_seed_json_keeps_both_sides_of_every_hop(seed_world: dict[str, Any], build: Build) -> None:
    topology = build(seed_world)
    result = explain.explain_access(topology, _workload(topology), DESCRIBE)
    data = render.explanation_json(result)
    json.dumps(data)
    assert data["allowed"] is True and data["roles"] == [CI_ROLE, TARGET_ROLE]
    web, hop, action = data["links"]
    assert web["kind"] == "web-identity" and web["facts"]["claims"]["sub"] == (
        "system:serviceaccount:ci-namespace:ci-serviceaccount"
    )
    (check,) = web["hop"]["checks"]
    assert check["callerSide"] is None and check["trustSide"]["decision"] == "Allow"
    assert check["request"]["context"][f"{PREFIX}:aud"] == "sts.amazonaws.com"
    (check,) = hop["hop"]["checks"]
    assert check["callerSide"]["decision"] == "Allow" and check["trustSide"]["decision"] == "Allow"
    assert hop["facts"]["cross_account"] is True
    assert action["decision"]["decision"] == "Allow"


def test_audience_annotation_is_used(seed_world: dict[str, Any], build: Build) -> None:
    annotations = seed_world["clusters"][0]["manifests"][0]["metadata"]["annotations"]
    annotations["eks.amazonaws.com/audience"] = "my-audience"
    topology = build(seed_world)
    workload = _workload(topology)
    assert workload.audience == "my-audience"
    result = explain.explain_access(topology, workload, DESCRIBE)
    assert result.chain is not None
    assert result.chain.links[0].failure is links.Failure.AUDIENCE
    assert _workload(topology, audience="sts.amazonaws.com").audience == "sts.amazonaws.com"


def test_via_must_be_role_arns(seed_world: dict[str, Any], build: Build) -> None:
    topology = build(seed_world)
    with pytest.raises(errors.InputError, match="not an IAM role ARN"):
        explain.explain_access(
            topology, _workload(topology), DESCRIBE, via=[f"arn:aws:iam::{CI}:user/x"]
        )
    with pytest.raises(errors.InputError, match="--via"):
        explain.explain_access(topology, _workload(topology), DESCRIBE, via=["nope"])


def test_via_against_the_annotation_is_noted(seed_world: dict[str, Any], build: Build) -> None:
    topology = build(seed_world)
    result = explain.explain_access(topology, _workload(topology), DESCRIBE, via=[TARGET_ROLE])
    assert any("from its annotation" in note for note in result.notes)
    assert result.chain is not None
    assert result.chain.links[0].failure is links.Failure.NO_PROVIDER


def test_search_follows_the_intended_broken_chain(seed_world: dict[str, Any], build: Build) -> None:
    # The target trust names the wrong account: no chain works, and the best broken chain
    # is the one the caller's identity policy intends.
    seed_world["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Principal"]["AWS"] = (
        "arn:aws:iam::333333333333:role/ci-account-iam-role"
    )
    topology = build(seed_world)
    result = explain.explain_access(topology, _workload(topology), DESCRIBE)
    assert result.chain is not None and list(result.chain.roles) == [CI_ROLE, TARGET_ROLE]
    assert [link.allowed for link in result.chain.links] == [True, False, True]


def test_kube_goal_text_at_a_glance(seed_world: dict[str, Any], build: Build) -> None:
    seed_world["clusters"][1]["aws_auth"]["mapRoles"][0]["groups"] = ["readers"]
    topology = build(seed_world)
    goal = paths.KubeGoal("target-cluster", rbac.KubeRequest("list", "pods", namespace="apps"))
    result = explain.explain_access(topology, _workload(topology), goal)
    text = render.explanation_text(result)
    lines = text.splitlines()
    assert lines[1].startswith("verdict: DENIED (1 of 4 links fail)")
    assert "FAIL 4. Kubernetes RBAC" in text
    assert (
        "kubectl create rolebinding kubetrust-view --clusterrole=view --group=readers -n apps"
        in text
    )


def test_trust_analysis_reads_irsa_statements() -> None:
    trust = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{CI}:oidc-provider/{PREFIX}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{PREFIX}:sub": "system:serviceaccount:a:*"},
                        "StringLike": {"aws:RequestTag/x": "y"},
                    },
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                },
            ],
        },
        PolicyKind.TRUST,
    )
    (statement,) = trust_analysis.irsa_statements(trust)
    assert statement.providers == (f"arn:aws:iam::{CI}:oidc-provider/{PREFIX}",)
    assert len(statement.sub) == 1 and not statement.aud and len(statement.other) == 1
    assert trust_analysis.literal_wildcards(statement.sub[0]) == ("system:serviceaccount:a:*",)
    context = {f"{PREFIX}:sub": "system:serviceaccount:a:*"}
    assert trust_analysis.condition_holds(statement.sub[0], trust, context)
    assert not trust_analysis.condition_holds(
        statement.sub[0], trust, {f"{PREFIX}:sub": "system:serviceaccount:a:b"}
    )
    assert trust_analysis.subject_scope(("system:serviceaccount:a:*",)) == (
        "every service account of namespace `a`"
    )
    assert trust_analysis.subject_scope(("system:serviceaccount:a:b",)) is None


# ---------------------------------------------------------------------- CLI


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(explain_cli.explain)
    group.add_command(explain_cli.audit)
    return group


BASE = [
    "--cluster",
    "ci-cluster",
    "--namespace",
    "ci-namespace",
    "--serviceaccount",
    "ci-serviceaccount",
]


def test_cli_text_and_exit_codes(seed_world: dict[str, Any], build: Build, tmp_path: Any) -> None:
    build(seed_world)
    root = str(tmp_path / "bundle-0")
    ok = CliRunner().invoke(
        _cli(),
        [
            "explain",
            "--bundle",
            root,
            *BASE,
            "--action",
            "eks:DescribeCluster",
            "--resource",
            CLUSTER_ARN,
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "verdict: ALLOWED" in ok.output
    denied = CliRunner().invoke(
        _cli(),
        [
            "explain",
            "--bundle",
            root,
            *BASE,
            "--kube-verb",
            "delete",
            "--kube-resource",
            "nodes",
            "--target-cluster",
            "target-cluster",
            "--via",
            CI_ROLE,
        ],
    )
    assert denied.exit_code == 2 and "FAIL 2. cluster identity" in denied.output
    unknown = CliRunner().invoke(
        _cli(),
        [
            "explain",
            "--bundle",
            root,
            "--cluster",
            "nope",
            "--namespace",
            "a",
            "--serviceaccount",
            "b",
            "--action",
            "s3:ListBuckets",
            "--resource",
            "*",
        ],
    )
    assert unknown.exit_code == 3 and "no cluster `nope`" in unknown.output


@pytest.mark.parametrize(
    "goal",
    [
        [],
        ["--action", "s3:GetObject"],
        ["--action", "a:b", "--resource", "*", "--kube-verb", "get"],
        ["--kube-verb", "get", "--kube-resource", "pods"],
    ],
)
def test_cli_goal_combinations_are_usage_errors(goal: list[str], tmp_path: Any) -> None:
    with pytest.raises(click.UsageError):
        _cli().main(["explain", "--bundle", str(tmp_path), *BASE, *goal], standalone_mode=False)


def test_kube_resource_syntax() -> None:
    parse = explain_cli.parse_kube_resource
    request = parse("deployments.apps/web", namespace="n", subresource="scale", verb="patch")
    assert (request.resource, request.group, request.name, request.subresource) == (
        "deployments",
        "apps",
        "web",
        "scale",
    )
    assert parse("/healthz", namespace=None, subresource=None, verb="get").path == "/healthz"
