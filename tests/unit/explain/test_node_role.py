"""The node-role anti-pattern: audit flags a node role pods reach through IMDS, explain
follows an un-annotated pod through it, the graph draws it, the bundle reads ``nodes.json``.

The world is the seed's node-role variant: no IRSA for the pod; the CI account's node role
``ci-nodes`` may assume the target role, whose trust names it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust.chain import links, paths
from kubetrust.explain import access_graph, bundle, explain, render
from kubetrust.explain.audit import Finding, Severity, run_audit

from .conftest import CI, CI_ROLE, TARGET, TARGET_ROLE, Build

NODE_ROLE = f"arn:aws:iam::{CI}:role/ci-nodes"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{TARGET}:cluster/target-cluster"
DESCRIBE = paths.AwsGoal("eks:DescribeCluster", CLUSTER_ARN)
BASELINE = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
]
OPEN = {"hop_limit": 2, "http_tokens": "required"}
BLOCKED = {"hop_limit": 1, "http_tokens": "required"}


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


def world(
    seed: dict[str, Any], imds: dict[str, Any] | None = None, *, assume: str | None = TARGET_ROLE
) -> dict[str, Any]:
    """The seed's world with a node role (ec2 trust, instance profile, the baseline
    policies, ``sts:AssumeRole`` on ``assume``), the target trusting it, the nodes of
    ci-cluster carrying it with ``imds``, and an un-annotated service account app/app."""
    ci, target = seed["accounts"]
    policies = {"assume": _allow("sts:AssumeRole", assume)} if assume else {}
    ci["roles"].append(
        {
            "name": "ci-nodes",
            "trust": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "managed": list(BASELINE),
            "policies": policies,
            "instance_profile": True,
        }
    )
    trust = target["roles"][0]["trust"]["Statement"][0]
    trust["Principal"]["AWS"] = [CI_ROLE, NODE_ROLE]
    cluster = seed["clusters"][0]
    cluster["nodes"] = [
        {
            "nodegroup": "workers",
            "instance_role_arn": NODE_ROLE,
            "imds": OPEN if imds is None else imds,
        }
    ]
    cluster["manifests"].append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "app", "namespace": "app"},
        }
    )
    return seed


def _findings(build: Build, w: dict[str, Any], rule: str = "node-role-imds") -> list[Finding]:
    return [f for f in run_audit(build(w)).findings if f.rule == rule]


# ---------------------------------------------------------------------- audit


@pytest.mark.parametrize(
    ("imds", "why"),
    [
        (OPEN, "hop limit 2: the IMDSv2 token reaches the pod network"),
        ({}, "the hop limit is unknown"),
        ({"hop_limit": 1, "http_tokens": "optional"}, "IMDSv1 is allowed (HttpTokens optional)"),
        ({"hop_limit": 1}, "HttpTokens unknown"),
    ],
)
def test_exposure_flagged(
    seed_world: dict[str, Any], build: Build, imds: dict[str, Any], why: str
) -> None:
    (finding,) = _findings(build, world(seed_world, imds))
    assert finding.severity is Severity.HIGH
    assert finding.message.startswith(
        f"every pod on the nodes of cluster ci-cluster can act as the node role {NODE_ROLE} "
        f"(IMDS reachable: "
    )
    assert why in finding.message
    assert f"which can sts:AssumeRole into {TARGET_ROLE}" in finding.message
    assert "HttpTokens=required, HttpPutResponseHopLimit=1" in finding.fix
    assert "IRSA or Pod Identity" in finding.fix and "remove sts:AssumeRole" in finding.fix
    assert finding.details["reaches"] == [{"role": TARGET_ROLE, "conditional": False}]


@pytest.mark.parametrize(
    "imds", [BLOCKED, {"http_endpoint": "disabled", "http_tokens": "optional", "hop_limit": 3}]
)
def test_blocked_imds_is_no_finding(
    seed_world: dict[str, Any], build: Build, imds: dict[str, Any]
) -> None:
    w = world(seed_world, imds)
    assert _findings(build, w) == []
    # the older rule does not flag it either: the nodes say pods cannot reach the role
    assert _findings(build, w, "node-role-cross-account") == []


def test_without_nodes_the_older_rule_still_flags_the_instance_role(
    seed_world: dict[str, Any], build: Build
) -> None:
    w = world(seed_world)
    del w["clusters"][0]["nodes"]
    assert _findings(build, w) == []
    (older,) = _findings(build, w, "node-role-cross-account")
    assert older.location == NODE_ROLE


def test_one_finding_per_exposure_not_two(seed_world: dict[str, Any], build: Build) -> None:
    findings = run_audit(build(world(seed_world))).findings
    rules = [f.rule for f in findings if f.severity > Severity.INFO and "node" in f.rule]
    assert rules == ["node-role-imds"]


def test_a_kubernetes_identity_in_another_cluster_is_high(
    seed_world: dict[str, Any], build: Build
) -> None:
    w = world(seed_world, assume=None)
    w["clusters"][1]["aws_auth"]["mapRoles"].append(
        {"rolearn": NODE_ROLE, "username": "ops", "groups": ["ops"]}
    )
    (finding,) = _findings(build, w)
    assert finding.severity is Severity.HIGH
    assert "whose sessions map to ci-nodes → user ops (groups ops) in cluster target-cluster" in (
        finding.message
    )


def test_same_account_reach_is_medium(seed_world: dict[str, Any], build: Build) -> None:
    w = world(seed_world, assume=CI_ROLE)
    ci_role = w["accounts"][0]["roles"][0]
    ci_role["trust"]["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": NODE_ROLE}, "Action": "sts:AssumeRole"}
    )
    ci_role["policies"] = {}  # the CI role reaches nothing further
    (finding,) = _findings(build, w)
    assert finding.severity is Severity.MEDIUM
    assert f"which can sts:AssumeRole into {CI_ROLE}" in finding.message


def test_own_permissions_beyond_the_baseline_are_medium(
    seed_world: dict[str, Any], build: Build
) -> None:
    w = world(seed_world, assume=None)
    w["accounts"][0]["roles"][-1]["policies"] = {"buckets": _allow("s3:*", "*")}
    (finding,) = _findings(build, w)
    assert finding.severity is Severity.MEDIUM
    assert "beyond the EKS worker baseline: inline buckets" in finding.message


def test_the_baseline_alone_is_low(seed_world: dict[str, Any], build: Build) -> None:
    (finding,) = _findings(build, world(seed_world, assume=None))
    assert finding.severity is Severity.LOW
    assert finding.message.endswith("it holds the EKS worker-node baseline policies only")


def test_a_conditional_cross_account_reach_is_medium(
    seed_world: dict[str, Any], build: Build
) -> None:
    w = world(seed_world)
    statement = w["accounts"][1]["roles"][0]["trust"]["Statement"][0]
    statement["Condition"] = {"StringEquals": {"sts:ExternalId": "secret"}}
    (finding,) = _findings(build, w)
    assert finding.severity is Severity.MEDIUM
    assert f"{TARGET_ROLE} (if its conditions hold)" in finding.message


def test_a_node_role_not_in_the_inputs_is_medium(seed_world: dict[str, Any], build: Build) -> None:
    w = world(seed_world)
    w["clusters"][0]["nodes"][0]["instance_role_arn"] = f"arn:aws:iam::{CI}:role/elsewhere"
    (finding,) = _findings(build, w)
    assert finding.severity is Severity.MEDIUM and "not in the inputs" in finding.message


# ---------------------------------------------------------------------- explain


def _explain(topology: Any, name: str = "app", namespace: str = "app") -> explain.Explanation:
    workload = explain.workload_for(topology, "ci-cluster", namespace, name)
    return explain.explain_access(topology, workload, DESCRIBE)


def test_an_unannotated_pod_reaches_the_target_through_the_node_role(
    seed_world: dict[str, Any], build: Build
) -> None:
    result = _explain(build(world(seed_world)))
    assert result.allowed and result.chain is not None
    assert result.chain.roles == (NODE_ROLE, TARGET_ROLE)
    imds, hop, action = result.chain.links
    assert imds.kind is links.Kind.IMDS and imds.allowed
    assert imds.caller == "system:serviceaccount:app:app" and imds.target == NODE_ROLE
    assert hop.kind is links.Kind.ASSUME_ROLE and hop.allowed
    assert hop.caller.startswith(f"arn:aws:sts::{CI}:assumed-role/ci-nodes/")
    assert action.allowed
    notes = " | ".join(result.notes)
    assert "node-role anti-pattern: every pod on the nodes of cluster ci-cluster" in notes
    assert "HttpTokens=required, HttpPutResponseHopLimit=1" in notes
    assert "hostNetwork" in notes
    text = render.explanation_text(result)
    assert "ok   1. IMDS (node role): system:serviceaccount:app:app → ci-nodes" in text
    data = render.explanation_json(result)
    assert data["links"][0]["kind"] == "imds" and data["roleSource"].startswith("the node role")


def test_with_imds_blocked_the_pod_has_no_credentials(
    seed_world: dict[str, Any], build: Build
) -> None:
    result = _explain(build(world(seed_world, BLOCKED)))
    assert not result.allowed and result.chain is not None
    imds = result.chain.links[0]
    assert imds.kind is links.Kind.IMDS and imds.failure is links.Failure.IMDS_BLOCKED
    fix = result.fixes[0]
    assert fix is not None and "the pod has no AWS credentials" in fix.cause
    assert "hop limit 1 with IMDSv2 required" in fix.cause
    assert "keep IMDS blocked" in fix.action
    assert any(
        "IMDS is blocked for pods on the nodes of cluster ci-cluster" in n for n in result.notes
    )


def test_a_node_role_that_cannot_assume_the_target_fails_there(
    seed_world: dict[str, Any], build: Build
) -> None:
    result = _explain(build(world(seed_world, assume=None)))
    assert result.chain is not None and not result.allowed
    assert result.chain.links[0].allowed
    assert result.chain.roles[0] == NODE_ROLE


def test_an_annotated_pod_does_not_fall_back(seed_world: dict[str, Any], build: Build) -> None:
    topology = build(world(seed_world))
    result = _explain(topology, "ci-serviceaccount", "ci-namespace")
    assert result.chain is not None
    assert result.chain.links[0].kind is links.Kind.WEB_IDENTITY
    assert result.chain.roles == (CI_ROLE, TARGET_ROLE)


def test_a_service_account_not_in_the_inputs_keeps_the_inference_with_a_note(
    seed_world: dict[str, Any], build: Build
) -> None:
    result = _explain(build(world(seed_world)), "unknown")
    assert result.chain is None or result.chain.links[0].kind is not links.Kind.IMDS
    assert any("act as the node role through IMDS instead" in n for n in result.notes)


def test_without_nodes_in_the_inputs_explain_is_unchanged(
    seed_world: dict[str, Any], build: Build
) -> None:
    w = world(seed_world)
    del w["clusters"][0]["nodes"]
    result = _explain(build(w))
    assert result.chain is None or result.chain.links[0].kind is links.Kind.WEB_IDENTITY


# ---------------------------------------------------------------------- graph


@pytest.mark.parametrize(("imds", "status"), [(OPEN, "allowed"), (BLOCKED, "denied")])
def test_graph_draws_pods_to_the_node_role(
    seed_world: dict[str, Any], build: Build, imds: dict[str, Any], status: str
) -> None:
    graph = access_graph.build_access_graph(build(world(seed_world, imds)))
    edges = [e for e in graph.edges.values() if e.hop is access_graph.Hop.IMDS]
    (edge,) = edges
    assert edge.target == f"role:{NODE_ROLE}" and edge.status.value == status
    assert graph.nodes[edge.source].title == "pods on the nodes"
    assert access_graph.Hop.IMDS.value == "IMDS (node role)"


# ---------------------------------------------------------------------- bundle


def _nodes_file(seed: dict[str, Any], build: Build, tmp_path: Path, raw: str) -> None:
    from kubetrust.explain import worlds

    root = tmp_path / "nodes-bundle"
    worlds.write_bundle(world(seed), root)
    (root / "clusters" / "ci-cluster" / "nodes.json").write_text(raw, encoding="utf-8")
    bundle.load_bundle([root])


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ("[{", "not valid JSON"),
        ('"x"', "[0]: a node group must be an object"),
        ('{"imds": {}}', "[0].instance_role_arn: "),
        (
            '{"instance_role_arn": "arn:aws:iam::111111111111:user/u"}',
            "[0].instance_role_arn: `arn:aws:iam::111111111111:user/u` is not an IAM role ARN",
        ),
        (
            json.dumps(
                [
                    {"instance_role_arn": NODE_ROLE},
                    {"instance_role_arn": NODE_ROLE, "imds": {"hop_limit": 0}},
                ]
            ),
            "[1].imds.hop_limit: 0 is not an integer from 1 to 64",
        ),
        (
            json.dumps({"instance_role_arn": NODE_ROLE, "imds": {"hop_limit": "2"}}),
            "[0].imds.hop_limit: `2` is not an integer from 1 to 64",
        ),
        (
            json.dumps({"instance_role_arn": NODE_ROLE, "imds": {"http_tokens": "v2"}}),
            "[0].imds.http_tokens: `v2` is not one of optional, required",
        ),
        (json.dumps({"instance_role_arn": NODE_ROLE, "imds": [1]}), "[0].imds: must be an object"),
    ],
)
def test_bad_nodes_json_is_located(
    seed_world: dict[str, Any], build: Build, tmp_path: Path, raw: str, where: str
) -> None:
    with pytest.raises(bundle.BundleError) as caught:
        _nodes_file(seed_world, build, tmp_path, raw)
    assert caught.value.path.endswith("clusters/ci-cluster/nodes.json")
    assert where in caught.value.what


def test_nodes_json_as_one_object_and_as_a_list(seed_world: dict[str, Any], build: Build) -> None:
    w = world(seed_world)
    w["clusters"][0]["nodes"] = {"instance_role_arn": NODE_ROLE, "imds": BLOCKED}
    (group,) = build(w).cluster("ci-cluster").node_groups or ()
    assert group.instance_role_arn == NODE_ROLE and not group.exposed
    assert group.imds.hop_limit == 1 and group.imds.http_tokens == "required"
    assert build(seed_world).cluster("target-cluster").node_groups is None
    assert TARGET
