"""explain over EKS Pod Identity: the association's hops decided as EKS Auth decides them
(:mod:`kubetrust.chain.pod_identity`), every way the chain breaks with its exact fix, the
precedence over IRSA, the bundle's association and add-on files, and the graph's edges."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.chain.links import Failure, Kind
from kubetrust.chain.paths import AwsGoal
from kubetrust.explain import bundle, explain, render
from kubetrust.explain.access_graph import Hop, Status, build_access_graph
from kubetrust.explain.graph_render import to_dot, to_mermaid
from kubetrust.model.topology import Topology

from .conftest import CI, TARGET, Build

SOURCE = f"arn:aws:iam::{CI}:role/ci-pod-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-role"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster"
GOAL = AwsGoal("eks:DescribeCluster", f"arn:aws:eks:us-east-1:{TARGET}:cluster/tgt")
POD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": CI}},
        }
    ],
}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def world() -> dict[str, Any]:
    tagged = {
        "aws:RequestTag/kubernetes-namespace": "ci",
        "aws:RequestTag/kubernetes-service-account": "deployer",
        "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
    }
    return {
        "accounts": [
            {
                "id": CI,
                "roles": [
                    {
                        "name": "ci-pod-role",
                        "trust": copy.deepcopy(POD_TRUST),
                        "policies": {
                            "chain": _doc(
                                {
                                    "Effect": "Allow",
                                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                                    "Resource": TARGET_ROLE,
                                }
                            )
                        },
                    }
                ],
            },
            {
                "id": TARGET,
                "roles": [
                    {
                        "name": "target-role",
                        "trust": _doc(
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": SOURCE},
                                "Action": ["sts:AssumeRole", "sts:TagSession"],
                                "Condition": {"StringEquals": tagged},
                            }
                        ),
                        "policies": {
                            "p": _doc(
                                {
                                    "Effect": "Allow",
                                    "Action": "eks:DescribeCluster",
                                    "Resource": "*",
                                }
                            )
                        },
                    }
                ],
            },
        ],
        "clusters": [
            {
                "name": "ci-cluster",
                "account": CI,
                "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
                "pod_identity_associations": [
                    {
                        "namespace": "ci",
                        "serviceAccount": "deployer",
                        "roleArn": SOURCE,
                        "targetRoleArn": TARGET_ROLE,
                    }
                ],
                "addons": ["eks-pod-identity-agent"],
            }
        ],
    }


def _explain(
    topology: Topology, sa: str = "deployer", goal: Any = GOAL, **kw: Any
) -> explain.Explanation:
    workload = explain.workload_for(topology, "ci-cluster", "ci", sa)
    return explain.explain_access(topology, workload, goal, **kw)


def _verdicts(found: explain.Explanation) -> list[tuple[str, str | None]]:
    assert found.chain is not None
    return [
        (link.kind.value, link.failure.value if link.failure else None)
        for link in found.chain.links
    ]


def _fix(found: explain.Explanation, index: int) -> str:
    fix = found.fixes[index]
    assert fix is not None, render.explanation_text(found)
    return f"{fix.cause} | {fix.action} | {fix.snippet}"


# ---------------------------------------------------------------------- allowed


def test_association_with_target_role_reaches_the_goal(build: Build) -> None:
    found = _explain(build(world()))
    assert found.allowed, render.explanation_text(found)
    assert _verdicts(found) == [("pod-identity", None), ("target-role", None), ("aws-action", None)]
    assert found.chain is not None and found.chain.roles == (SOURCE, TARGET_ROLE)
    first = found.chain.links[0]
    tags = first.facts["session_tags"]
    assert isinstance(tags, dict) and tags["kubernetes-namespace"] == "ci"
    assert tags["eks-cluster-arn"] == CLUSTER_ARN
    data = render.explanation_json(found)
    assert [link["kind"] for link in data["links"]] == ["pod-identity", "target-role", "aws-action"]
    json.dumps(data, default=str)


def test_association_without_target_uses_the_association_roles_session(build: Build) -> None:
    w = world()
    del w["clusters"][0]["pod_identity_associations"][0]["targetRoleArn"]
    w["accounts"][0]["roles"][0]["policies"]["act"] = _doc(
        {
            "Effect": "Allow",
            "Action": "eks:ListClusters",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "ci"}},
        }
    )
    found = _explain(build(w), goal=AwsGoal("eks:ListClusters", "*", CI))
    assert found.allowed, render.explanation_text(found)
    assert _verdicts(found) == [("pod-identity", None), ("aws-action", None)]


# ---------------------------------------------------------------------- link 1 breaks


def test_no_association_says_create_it_and_restart_the_pod(build: Build) -> None:
    found = _explain(build(world()), sa="other")
    assert _verdicts(found)[0] == ("pod-identity", "no-association")
    text = _fix(found, 0)
    assert (
        "aws eks create-pod-identity-association --cluster-name ci-cluster --namespace ci" in text
    )
    assert "--service-account other --role-arn " + SOURCE in text
    assert "no credentials in the pod" in text and "restart" in text
    assert "explain cannot see pods" in text


def test_missing_agent_add_on(build: Build) -> None:
    w = world()
    w["clusters"][0]["addons"] = ["vpc-cni"]
    found = _explain(build(w))
    assert _verdicts(found)[0] == ("pod-identity", "no-agent")
    assert (
        "aws eks create-addon --cluster-name ci-cluster --addon-name eks-pod-identity-agent"
        in _fix(found, 0)
    )


def test_add_ons_unknown_are_not_a_failure_but_a_note(build: Build) -> None:
    w = world()
    del w["clusters"][0]["addons"]
    found = _explain(build(w))
    assert found.allowed
    assert any("addons.json" in note for note in found.notes)


def test_trust_without_tag_session(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Action"] = "sts:AssumeRole"
    found = _explain(build(w))
    assert _verdicts(found)[0] == ("pod-identity", "trust-denied")
    text = _fix(found, 0)
    assert "not sts:TagSession" in text and '"sts:TagSession"' in text
    assert "--disable-session-tags" in text


def test_trust_without_tag_session_holds_when_tags_are_disabled(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Action"] = "sts:AssumeRole"
    association = w["clusters"][0]["pod_identity_associations"][0]
    association["disableSessionTags"] = True
    target_trust = w["accounts"][1]["roles"][0]["trust"]["Statement"][0]
    target_trust["Condition"] = {
        "StringEquals": {"sts:ExternalId": f"us-east-1/{CI}/ci-cluster/ci/deployer"}
    }
    found = _explain(build(w))
    assert found.allowed, render.explanation_text(found)


def test_trust_not_admitting_pod_identity(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Principal"] = {
        "Service": "ec2.amazonaws.com"
    }
    found = _explain(build(w))
    assert _verdicts(found)[0] == ("pod-identity", "trust-denied")
    text = _fix(found, 0)
    assert "does not admit `pods.eks.amazonaws.com`" in text
    assert "EKS does not have permissions to assume the associated role" in text
    assert '"Service": "pods.eks.amazonaws.com"' in text


def test_trust_source_account_of_another_account(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:SourceAccount": "999999999999"}
    }
    found = _explain(build(w))
    assert _verdicts(found)[0] == ("pod-identity", "trust-denied")
    assert f"`aws:SourceAccount` is `{CI}`" in _fix(found, 0)


# ---------------------------------------------------------------------- link 2 breaks


def test_target_trust_not_naming_the_association_role(build: Build) -> None:
    w = world()
    w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Principal"] = {
        "AWS": f"arn:aws:iam::{CI}:role/someone-else"
    }
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "trust-denied")
    text = _fix(found, 1)
    assert f"does not name the association role `{SOURCE}`" in text
    assert '"aws:RequestTag/kubernetes-service-account": "deployer"' in text
    assert '"aws:RequestTag/eks-cluster-arn": "' + CLUSTER_ARN in text


def test_target_trust_fix_keeps_the_users_principal_tag_keys(build: Build) -> None:
    """A trust written with ``aws:PrincipalTag/…`` (the session's transitive tags) gets its
    fix in those keys, not the guide's ``aws:RequestTag/…`` (both hold on the target hop)."""
    w = world()
    statement = w["accounts"][1]["roles"][0]["trust"]["Statement"][0]
    statement["Principal"] = {"AWS": f"arn:aws:iam::{CI}:role/someone-else"}
    statement["Condition"] = {
        "StringEquals": {
            key.replace("aws:RequestTag/", "aws:PrincipalTag/"): value
            for key, value in statement["Condition"]["StringEquals"].items()
        }
    }
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "trust-denied")
    text = _fix(found, 1)
    assert '"aws:PrincipalTag/kubernetes-service-account": "deployer"' in text
    assert "aws:RequestTag/" not in text


def test_target_trust_without_tag_session(build: Build) -> None:
    w = world()
    w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Action"] = "sts:AssumeRole"
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "trust-denied")
    assert "does not allow sts:TagSession" in _fix(found, 1)


def test_identity_side_missing_tag_session_on_the_target(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["policies"]["chain"]["Statement"][0]["Action"] = "sts:AssumeRole"
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "caller-denied")
    text = _fix(found, 1)
    assert "allows sts:TagSession" in text and "ci-pod-role" in text
    assert '"sts:AssumeRole",\n    "sts:TagSession"' in text


def test_abac_request_tag_that_does_not_hold(build: Build) -> None:
    w = world()
    condition = w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Condition"]
    condition["StringEquals"]["aws:RequestTag/kubernetes-namespace"] = "prod"
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "trust-denied")
    text = _fix(found, 1)
    assert "`aws:RequestTag/kubernetes-namespace` is `ci`" in text


def test_disabled_session_tags_with_tag_conditions(build: Build) -> None:
    w = world()
    w["clusters"][0]["pod_identity_associations"][0]["disableSessionTags"] = True
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "trust-denied")
    text = _fix(found, 1)
    assert "disableSessionTags" in text and "--no-disable-session-tags" in text
    assert "--association-id a-" in text


def test_principal_tag_condition_on_the_goal(build: Build) -> None:
    w = world()
    w["accounts"][1]["roles"][0]["policies"]["p"]["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:PrincipalTag/kubernetes-service-account": "builder"}
    }
    found = _explain(build(w))
    assert _verdicts(found)[2] == ("aws-action", "action-denied")
    assert "aws:PrincipalTag/kubernetes-service-account is `deployer`" in _fix(found, 2)
    w["clusters"][0]["pod_identity_associations"][0]["disableSessionTags"] = True
    w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Condition"] = {
        "StringEquals": {"sts:ExternalId": f"us-east-1/{CI}/ci-cluster/ci/deployer"}
    }
    found = _explain(build(w))
    assert _verdicts(found)[:2] == [("pod-identity", None), ("target-role", None)]
    assert "disables session tags" in _fix(found, 2)


def test_unknown_target_role(build: Build) -> None:
    w = world()
    w["clusters"][0]["pod_identity_associations"][0]["targetRoleArn"] = (
        f"arn:aws:iam::{TARGET}:role/target-rol"
    )
    found = _explain(build(w))
    assert _verdicts(found)[1] == ("target-role", "unknown-role")
    assert "did you mean `target-role`" in _fix(found, 1)


# ---------------------------------------------------------------------- precedence


def _annotated(w: dict[str, Any], role: str) -> dict[str, Any]:
    w["clusters"][0]["manifests"] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "deployer",
                "namespace": "ci",
                "annotations": {"eks.amazonaws.com/role-arn": role},
            },
        }
    ]
    return w


def test_association_wins_over_the_irsa_annotation(build: Build) -> None:
    topology = build(_annotated(world(), f"arn:aws:iam::{CI}:role/irsa-role"))
    found = _explain(topology)
    assert found.allowed
    assert any("is ignored" in note for note in found.notes)
    forced = _explain(topology, federation="irsa")
    assert forced.chain is not None and forced.chain.links[0].kind is Kind.WEB_IDENTITY


def test_via_must_start_with_the_association(build: Build) -> None:
    with pytest.raises(errors.InputError, match="must start there"):
        _explain(build(world()), via=[TARGET_ROLE])
    found = _explain(build(world()), via=[SOURCE, TARGET_ROLE])
    assert found.allowed


def test_a_cluster_without_association_inputs_stays_irsa(build: Build) -> None:
    w = world()
    del w["clusters"][0]["pod_identity_associations"]
    found = _explain(build(w))
    assert found.chain is None or found.chain.links[0].kind is Kind.WEB_IDENTITY


# ---------------------------------------------------------------------- inputs, graph


def test_bundle_reads_describe_and_list_outputs(tmp_path: Path, build: Build) -> None:
    topology = build(world())
    cluster = topology.cluster("ci-cluster")
    assert cluster.associations_known and cluster.addons == ("eks-pod-identity-agent",)
    (association,) = cluster.pod_identity_associations
    assert association.target_role_arn == TARGET_ROLE
    assert association.external_id == f"us-east-1/{CI}/ci-cluster/ci/deployer"
    root = tmp_path / "b"
    (root / "clusters" / "c").mkdir(parents=True)
    (root / "clusters" / "c" / "describe-cluster.json").write_text(
        json.dumps({"cluster": {"name": "c", "arn": f"arn:aws:eks:us-east-1:{CI}:cluster/c"}})
    )
    (root / "clusters" / "c" / "pod-identity-associations.json").write_text(
        json.dumps(
            {
                "associations": [
                    {"clusterName": "c", "namespace": "n", "serviceAccount": "s"},
                    {"clusterName": "c", "namespace": "n"},
                ]
            }
        )
    )
    loaded = bundle.load_bundle([root])
    (summary,) = loaded.cluster("c").pod_identity_associations
    assert summary.role_arn is None and loaded.cluster("c").addons is None
    assert any("without namespace or serviceAccount" in str(p) for p in loaded.problems)


def test_graph_draws_pod_identity_edges_apart_from_irsa(build: Build) -> None:
    topology = build(world())
    graph = build_access_graph(topology)
    sa = f"sa:{CLUSTER_ARN}:ci/deployer"
    first = graph.edges[(sa, f"role:{SOURCE}", Hop.POD_IDENTITY)]
    second = graph.edges[(f"role:{SOURCE}", f"role:{TARGET_ROLE}", Hop.TARGET_ROLE)]
    assert first.status is Status.ALLOWED and second.status is Status.ALLOWED
    assert '== "pod-identity" ==>' in to_mermaid(graph)
    assert '== "targetRoleArn" ==>' in to_mermaid(graph)
    assert 'label="pod-identity", color="#1565c0"' in to_dot(graph)
    w = world()
    w["clusters"][0]["addons"] = []
    denied = build_access_graph(build(w)).edges[(sa, f"role:{SOURCE}", Hop.POD_IDENTITY)]
    assert denied.status is Status.DENIED and denied.note == Failure.NO_AGENT.value
