"""Node roles in the proof: a role mapped with ``{{EC2PrivateDNSName}}`` (aws-auth) or by an
``EC2_LINUX`` entry is asked as a node (its session an instance id whose DNS name the proof
knows), so the aws-auth → ``EC2_LINUX`` move shows what it really changes: the group
``system:bootstrappers`` goes, and what RBAC gives that group is lost unless it gives the same
to ``system:nodes`` (as EKS's own ``eks:node-bootstrapper`` binding does, reference E.6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from access_world import AWS_AUTH, CALLER, NODES, Build, builder, world

from kubetrust.chain import kube_identity as kid
from kubetrust.chain.kube_templates import TemplateError
from kubetrust.migrate import access_after as aa
from kubetrust.migrate import access_proof as ap
from kubetrust.migrate import access_report as ar
from kubetrust.migrate import equivalence as eq
from kubetrust.migrate import equivalence_kube as ek
from kubetrust.migrate.access_plan import NODE_NOTE

DNS = ek.NODE_DNS_NAME
NODE_AUTHORIZER = f"k8s legacy: what the Node authorizer allows the kubelet of node {DNS}"
CSR = "k8s legacy: create certificatesigningrequests/selfnodeserver.certificates.k8s.io (cluster)"


@pytest.fixture
def build(tmp_path: Path) -> Build:
    return builder(tmp_path)


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _binding(name: str, role: str, *groups: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups
        ],
    }


BOOTSTRAP_ROLE = _cluster_role(
    "eks:node-bootstrapper",
    [
        {
            "apiGroups": ["certificates.k8s.io"],
            "resources": ["certificatesigningrequests/selfnodeserver"],
            "verbs": ["create"],
        }
    ],
)


def _with_manifests(*manifests: dict[str, Any]) -> dict[str, Any]:
    raw = world()
    raw["clusters"][0]["manifests"] = [*raw["clusters"][0]["manifests"], *manifests]
    return raw


def _node_proof(build: Build, raw: dict[str, Any]) -> tuple[aa.AccessMove, ap.Proof]:
    topology = build(raw)
    cluster = aa.find_cluster(topology, "legacy", None)
    move = aa.decide(
        topology, cluster, caller_arn=CALLER, requested_mode=None, remove_aws_auth=False
    )
    return move, ap.prove(topology, move)


def _node(proof: ap.Proof) -> eq.Difference:
    (found,) = [d for d in proof.differences if d.principal.key == NODES]
    return found


# ------------------------------------------------------------------ the template


def _node_caller(session: str, dns: str = "") -> kid.Caller:
    return kid.Caller.of(
        f"arn:aws:sts::222222222222:assumed-role/nodes/{session}",
        account="222222222222",
        principal_id="AROANODES",
        session_name=session,
        private_dns_name=dns,
    )


def test_the_dns_name_renders_only_when_the_caller_carries_it() -> None:
    template = "system:node:{{EC2PrivateDNSName}}"
    caller = _node_caller(ek.NODE_INSTANCE_ID, DNS)
    assert kid.render_template(template, caller) == f"system:node:{DNS}"
    assert kid.render_template("{{EC2PrivateDNSName}}/{{AccountID}}", caller) == (
        f"{DNS}/222222222222"
    )
    with pytest.raises(TemplateError, match="needs ec2:DescribeInstances"):
        kid.render_template(template, _node_caller(ek.NODE_INSTANCE_ID))  # explain, sandbox
    with pytest.raises(TemplateError, match="SessionName did not contain an instance id"):
        kid.render_template(template, _node_caller("not-an-instance", DNS))


def test_only_a_role_mapped_as_a_node_gets_the_node_caller(build: Build) -> None:
    topology = build(world())
    node = ek.caller_for(topology, NODES)
    assert (node.session_name, node.private_dns_name) == (ek.NODE_INSTANCE_ID, DNS)
    assert node.arn.endswith(f"assumed-role/nodes/{ek.NODE_INSTANCE_ID}")
    other = ek.caller_for(topology, AWS_AUTH["mapRoles"][0]["rolearn"])
    assert (other.session_name, other.private_dns_name) == (ek.PROOF_SESSION, "")


# ------------------------------------------------------------------ the move, proven


def test_the_node_is_seen_on_both_sides_and_keeps_what_it_could_do(build: Build) -> None:
    move, proof = _node_proof(build, world())
    node = _node(proof)
    (before,), (after,) = node.before.identities, node.after.identities
    assert before.startswith(
        f"k8s legacy: kubernetes user system:node:{DNS}, groups [system:bootstrappers, "
        "system:nodes] (aws-auth mapRoles"
    ), before
    assert after == (
        f"k8s legacy: kubernetes user system:node:{DNS}, groups [system:nodes] "
        f"(access entry {NODES})"
    )
    assert NODE_AUTHORIZER in node.before.allowed and NODE_AUTHORIZER in node.after.allowed
    assert "k8s legacy: get /version" in node.before.allowed  # system:authenticated's
    assert node.verdict == "same" and node.before.allowed == node.after.allowed
    (entry,) = [e for e in move.plan.entries if e.principal_arn == NODES]
    assert (entry.type, entry.dropped_groups) == ("EC2_LINUX", ("system:bootstrappers",))


def test_eks_node_bootstrapper_bound_to_both_groups_is_kept(build: Build) -> None:
    both = ("system:bootstrappers", "system:nodes")
    raw = _with_manifests(
        BOOTSTRAP_ROLE, _binding("eks:node-bootstrapper", "eks:node-bootstrapper", *both)
    )
    move, proof = _node_proof(build, raw)
    node = _node(proof)
    assert CSR in node.before.allowed and CSR in node.after.allowed
    assert node.verdict == "same"
    assert ap.refusal(ap.losses(proof.differences, move), (), move) == []


def test_a_binding_of_system_bootstrappers_alone_is_lost_and_refused_with_why(
    build: Build,
) -> None:
    raw = _with_manifests(
        BOOTSTRAP_ROLE,
        _binding("bootstrap-only", "eks:node-bootstrapper", "system:bootstrappers"),
    )
    move, proof = _node_proof(build, raw)
    node = _node(proof)
    assert node.verdict == "lost" and node.lost == (CSR,)
    (loss,) = [loss for loss in ap.losses(proof.differences, move) if loss.principal == NODES]
    assert "EC2_LINUX entry puts it in system:nodes only" in loss.why
    assert "system:bootstrappers" in loss.why and "bind those roles to system:nodes" in loss.why
    refused = ap.refusal(ap.losses(proof.differences, move), (), move)
    assert any(r.startswith(f"{NODES} would lose access: its EC2_LINUX") for r in refused)
    assert ap.refusal(ap.losses(proof.differences, move), (NODES,), move) == []


def test_a_node_that_stops_being_mapped_loses_the_node_authorizer(build: Build) -> None:
    before = build(world())
    roles = [r for r in AWS_AUTH["mapRoles"] if r["rolearn"] != NODES]
    after = build(world({**AWS_AUTH, "mapRoles": roles}))
    (node,) = eq.compare(before, after, [eq.Principal(NODES, eq.IAM, "legacy")])
    assert NODE_AUTHORIZER in node.lost
    assert node.after.identities[0].startswith("k8s legacy: not mapped")


def test_the_plan_says_which_groups_a_node_entry_drops_and_why(build: Build) -> None:
    move, proof = _node_proof(build, world())
    report = ar.Report(move, proof.differences)
    text = ar.render_text(report)
    assert f"{NODES} (mapRoles[2]): groups system:bootstrappers not carried" in text
    assert NODE_NOTE in text
    (entry,) = [e for e in ar.as_json(report)["plan"]["entries"] if e["principal"] == NODES]
    assert entry["dropped_groups"] == ["system:bootstrappers"]
