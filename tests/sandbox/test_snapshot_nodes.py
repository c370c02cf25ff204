"""``kubetrust snapshot`` of a live sandbox reads each cluster's node groups into
``nodes.json``: the node role from ``describe-nodegroup``, and the IMDS settings as far as
the account can read them (the sandbox serves no EC2 API: a launch template's settings stay
unknown, and the snapshot says so), then explain and audit see the node role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from kubetrust.adapters.aws import AwsAccess
from kubetrust.adapters.snapshot import SnapshotOptions, take_snapshot
from kubetrust.cli import explain as explain_cli
from kubetrust.explain import bundle
from kubetrust.explain.audit import run_audit

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _role(aws: Any, name: str, trust: dict[str, Any]) -> str:
    iam = aws.client("iam", account=aws.CI)
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _access(sandbox: Any, account: str) -> AwsAccess:
    key, secret = sandbox.admin_keys[account]
    return AwsAccess(
        access_key_id=key,
        secret_access_key=secret,
        endpoint_url=sandbox.endpoint,
        region="us-east-1",
    )


def test_snapshot_reads_the_node_role_of_each_node_group(
    sandbox: Any, aws: Any, tmp_path: Path
) -> None:
    suffix = aws.unique("n")
    node_role = _role(aws, f"nodes-{suffix}", EC2_TRUST)
    service_role = _role(aws, f"eks-{suffix}", EKS_TRUST)
    cluster = f"nodes-{suffix}"
    eks = aws.client("eks", account=aws.CI)
    eks.create_cluster(name=cluster, roleArn=service_role, resourcesVpcConfig={})
    eks.create_nodegroup(
        clusterName=cluster, nodegroupName="plain", nodeRole=node_role, subnets=["subnet-1"]
    )
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName="templated",
        nodeRole=node_role,
        subnets=["subnet-1"],
        launchTemplate={"id": "lt-0123456789abcdef0", "version": "1"},
    )
    options = SnapshotOptions(kubernetes=False, clusters=(cluster,))
    result = take_snapshot([_access(sandbox, aws.CI)], tmp_path / "snap", options)

    nodes = json.loads((tmp_path / "snap" / "clusters" / cluster / "nodes.json").read_text())
    default_role = f"arn:aws:iam::{aws.CI}:role/AmazonEKSNodeRole"
    assert [(n["nodegroup"], n["instance_role_arn"]) for n in nodes] == [
        (f"{cluster}-nodes", default_role),  # the nodes the sandbox gives every cluster
        ("plain", node_role),
        ("templated", node_role),
    ]
    assert "imds" not in nodes[1]  # EKS's own launch template: not shown, unknown
    assert "imds" not in nodes[2]  # the EC2 call failed: unknown, with a warning
    (warning,) = [w for w in result.warnings if "node group templated" in w]
    assert "ec2:DescribeLaunchTemplateVersions" in warning and "unknown" in warning

    topology = bundle.load_bundle([tmp_path / "snap"])
    groups = topology.cluster(cluster).node_groups or ()
    assert [g.instance_role_arn for g in groups] == [default_role, node_role, node_role]
    assert all(g.exposed for g in groups)  # unknown settings count as reachable
    findings = [f for f in run_audit(topology).findings if f.rule == "node-role-imds"]
    assert sorted(f.details["role"] for f in findings if f"/{cluster} " in f.location) == [
        default_role,
        node_role,
    ]


def test_a_cluster_without_node_groups_gets_no_nodes_file(
    sandbox: Any, aws: Any, tmp_path: Path
) -> None:
    """No managed node group listed: nodes unknown (self-managed nodes are not listed),
    not "no nodes"."""
    suffix = aws.unique("n")
    service_role = _role(aws, f"eks-{suffix}", EKS_TRUST)
    cluster = f"bare-{suffix}"
    eks = aws.client("eks", account=aws.CI)
    eks.create_cluster(name=cluster, roleArn=service_role, resourcesVpcConfig={})
    for name in eks.list_nodegroups(clusterName=cluster)["nodegroups"]:
        eks.delete_nodegroup(clusterName=cluster, nodegroupName=name)
    assert eks.list_nodegroups(clusterName=cluster)["nodegroups"] == []
    options = SnapshotOptions(kubernetes=False, clusters=(cluster,))
    take_snapshot([_access(sandbox, aws.CI)], tmp_path / "snap", options)
    folder = tmp_path / "snap" / "clusters" / cluster
    assert (folder / "describe-cluster.json").is_file()
    assert not (folder / "nodes.json").exists()
    assert bundle.load_bundle([tmp_path / "snap"]).cluster(cluster).node_groups is None


def test_snapshot_of_the_sandbox_takes_the_imds_settings_from_the_world(
    sandbox: Any, aws: Any, tmp_path: Path
) -> None:
    """``snapshot --sandbox``: the world's nodes (its default: the account's
    AmazonEKSNodeRole, IMDSv2 required, hop limit 2) complete the node group EKS lists;
    another node group's settings stay unknown. Audit then names the exposure."""
    suffix = aws.unique("n")
    service_role = _role(aws, f"eks-{suffix}", EKS_TRUST)
    other_role = _role(aws, f"other-{suffix}", EC2_TRUST)
    cluster = f"world-{suffix}"
    eks = aws.client("eks", account=aws.CI)
    eks.create_cluster(name=cluster, roleArn=service_role, resourcesVpcConfig={})
    eks.create_nodegroup(
        clusterName=cluster, nodegroupName="other", nodeRole=other_role, subnets=["subnet-1"]
    )
    group = click.Group()
    group.add_command(explain_cli.snapshot)
    group.add_command(explain_cli.audit)
    out = tmp_path / "snap"
    live = ["--sandbox", "--state-dir", str(sandbox.state_dir), "--aws-only"]
    made = CliRunner().invoke(group, ["snapshot", *live, "--out", str(out)])
    assert made.exit_code == 0, made.output

    nodes = json.loads((out / "clusters" / cluster / "nodes.json").read_text())
    default_role = f"arn:aws:iam::{aws.CI}:role/AmazonEKSNodeRole"
    assert [(n["nodegroup"], n["instance_role_arn"], n.get("imds")) for n in nodes] == [
        ("other", other_role, None),
        (f"{cluster}-nodes", default_role, {"hop_limit": 2, "http_tokens": "required"}),
    ]
    audit = CliRunner().invoke(group, ["audit", "--bundle", str(out), "--output", "json"])
    assert audit.exit_code == 2, audit.output
    findings = [
        f
        for f in json.loads(audit.stdout)["findings"]
        if f["rule"] == "node-role-imds" and f"/{cluster} " in f["location"]
    ]
    messages = sorted(f["message"] for f in findings)
    assert len(messages) == 2
    assert messages[0].startswith(
        f"every pod on the nodes of cluster {cluster} can act as the node role {default_role} "
        "(IMDS reachable: hop limit 2: the IMDSv2 token reaches the pod network)"
    )
    assert "(IMDS reachable: the hop limit is unknown)" in messages[1]
