"""The proof (kubetrust.migrate.equivalence): outcomes compared, honestly, line by line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubetrust.chain import rbac
from kubetrust.explain import bundle, worlds
from kubetrust.migrate import equivalence as eq
from kubetrust.migrate import equivalence_aws as ek_aws
from kubetrust.migrate import equivalence_kube as ek
from kubetrust.model.topology import Topology

CI, TARGET = "111111111111", "222222222222"
ADMIN = f"arn:aws:iam::{TARGET}:role/admins"
VIEWER = f"arn:aws:iam::{TARGET}:role/viewers"
CI_ROLE = f"arn:aws:iam::{CI}:role/ci-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-role"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/CI"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
Build = Callable[[dict[str, Any]], Topology]


def trust(principal: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": actions}],
    }


def allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }


def cluster_world(**cluster: Any) -> dict[str, Any]:
    """A target account with two roles and one cluster described by ``cluster``."""
    roles = [
        {
            "name": "admins",
            "trust": trust({"AWS": f"arn:aws:iam::{TARGET}:root"}, ["sts:AssumeRole"]),
        },
        {
            "name": "viewers",
            "trust": trust({"AWS": f"arn:aws:iam::{TARGET}:root"}, ["sts:AssumeRole"]),
        },
    ]
    base = {"name": "target-cluster", "account": TARGET, "region": "us-east-1"}
    return {"accounts": [{"id": TARGET, "roles": roles}], "clusters": [{**base, **cluster}]}


def entry(principal: str, policy: str = "", **fields: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"principalArn": principal, **fields}
    if policy:
        found["policies"] = [{"policyArn": POLICY + policy, "accessScope": {"type": "cluster"}}]
    return found


def binding(name: str, role: str, group: str, namespace: str = "") -> dict[str, Any]:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
    }


@pytest.fixture
def build(tmp_path: Path) -> Build:
    counter = iter(range(1000))

    def _build(world: dict[str, Any]) -> Topology:
        root = tmp_path / f"bundle-{next(counter)}"
        worlds.write_bundle(copy.deepcopy(world), root)
        return bundle.load_bundle([root])

    return _build


def iam(principal: str) -> eq.Principal:
    return eq.Principal(principal, eq.IAM, "target-cluster")


def one(build: Build, before: dict[str, Any], after: dict[str, Any], who: str) -> eq.Difference:
    (difference,) = eq.compare(build(before), build(after), [iam(who)])
    return difference


# ------------------------------------------------------------------ IAM principals


def test_masters_and_the_cluster_admin_policy_come_out_equal(build: Build) -> None:
    before = cluster_world(
        aws_auth={
            "mapRoles": [{"rolearn": ADMIN, "username": "admin", "groups": ["system:masters"]}]
        }
    )
    after = cluster_world(
        authentication_mode="API_AND_CONFIG_MAP",
        access_entries=[entry(ADMIN, "AmazonEKSClusterAdminPolicy", username="admin")],
    )
    difference = one(build, before, after, ADMIN)
    assert difference.verdict == "same", difference.lost[:5]
    assert "k8s target-cluster: delete secrets in ns kube-system" in difference.after.allowed
    assert "aws-auth mapRoles" in difference.before.identities[0]
    assert "access entry" in difference.after.identities[0]


def test_a_namespaced_view_binding_against_the_view_policy_shows_the_gain(build: Build) -> None:
    viewers = {"rolearn": VIEWER, "groups": ["viewers"]}
    manifests = [binding("viewers", "view", "viewers", namespace="apps")]
    before = cluster_world(aws_auth={"mapRoles": [viewers]}, manifests=manifests)
    after = cluster_world(
        authentication_mode="API_AND_CONFIG_MAP",
        manifests=manifests,
        access_entries=[entry(VIEWER, "AmazonEKSViewPolicy")],
    )
    difference = one(build, before, after, VIEWER)
    assert difference.verdict == "gained"
    assert "k8s target-cluster: list pods in ns default" in difference.gained
    assert "k8s target-cluster: list pods in ns apps" in difference.before.allowed
    assert not difference.lost


def test_a_view_role_that_reads_secrets_loses_them_under_the_view_policy(build: Build) -> None:
    reader = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list"]}],
    }
    manifests = [reader, binding("viewers", "reader", "viewers")]
    before = cluster_world(
        aws_auth={"mapRoles": [{"rolearn": VIEWER, "groups": ["viewers"]}]}, manifests=manifests
    )
    after = cluster_world(
        authentication_mode="API", access_entries=[entry(VIEWER, "AmazonEKSViewPolicy")]
    )
    difference = one(build, before, after, VIEWER)
    assert difference.verdict == "changed"
    assert "k8s target-cluster: get secrets in ns default" in difference.lost
    assert "k8s target-cluster: get secrets (cluster)" in difference.lost
    assert "k8s target-cluster: list pods in ns default" not in difference.lost
    assert "k8s target-cluster: watch pods in ns default" in difference.gained


def test_an_unmapped_principal_loses_everything(build: Build) -> None:
    before = cluster_world(
        aws_auth={"mapRoles": [{"rolearn": ADMIN, "groups": ["system:masters"]}]}
    )
    after = cluster_world(authentication_mode="API")
    difference = one(build, before, after, ADMIN)
    assert difference.verdict == "lost"
    assert not difference.after.allowed
    assert set(difference.lost) == difference.before.allowed
    assert difference.after.identities[0].startswith("k8s target-cluster: not mapped (")


def test_a_principal_mapped_only_through_map_accounts(build: Build) -> None:
    user_binding = binding("by-arn", "view", "unused")
    user_binding["subjects"] = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": ADMIN}
    ]
    world = cluster_world(aws_auth={"mapAccounts": [TARGET]}, manifests=[user_binding])
    topology = build(world)
    universe = eq.build_universe([topology])
    found = eq.capabilities(topology, iam(ADMIN), universe)
    assert "mapAccounts" in found.identities[0]
    assert f"kubernetes user {ADMIN}" in found.identities[0]
    assert "k8s target-cluster: list pods in ns default" in found.allowed
    assert "k8s target-cluster: get secrets in ns default" not in found.allowed
    other = eq.capabilities(build(cluster_world()), iam(ADMIN), universe)
    assert not other.allowed


def test_the_access_entry_wins_over_aws_auth_in_api_and_config_map(build: Build) -> None:
    masters = {"mapRoles": [{"rolearn": ADMIN, "groups": ["system:masters"]}]}
    before = cluster_world(authentication_mode="CONFIG_MAP", aws_auth=masters)
    after = cluster_world(
        authentication_mode="API_AND_CONFIG_MAP",
        aws_auth=masters,
        access_entries=[entry(ADMIN, kubernetesGroups=["nobody"])],
    )
    difference = one(build, before, after, ADMIN)
    assert difference.verdict == "lost"
    assert "access entry" in difference.after.identities[0]
    assert "k8s target-cluster: delete secrets in ns default" in difference.lost
    assert not any("secrets" in line for line in difference.after.allowed)


def test_the_universe_is_built_from_both_worlds(build: Build) -> None:
    masters = {"mapRoles": [{"rolearn": ADMIN, "groups": ["system:masters"]}]}
    before = cluster_world(aws_auth=masters)
    after = cluster_world(
        aws_auth=masters, manifests=[binding("x", "view", "x", namespace="only-after")]
    )
    difference = one(build, before, after, ADMIN)
    assert "k8s target-cluster: list pods in ns only-after" in difference.before.allowed
    assert difference.verdict == "same"
    alone = eq.build_universe([build(before)])["target-cluster"]
    assert "only-after" not in alone.namespaces
    both = eq.build_universe([build(before), build(after)])["target-cluster"]
    assert "only-after" in both.namespaces


def test_lines_agree_with_authorize_request_by_request(build: Build) -> None:
    manifests = [
        binding("viewers", "view", "viewers", namespace="apps"),
        binding("e", "edit", "viewers"),
    ]
    world = cluster_world(
        authentication_mode="API_AND_CONFIG_MAP",
        manifests=manifests,
        aws_auth={"mapRoles": [{"rolearn": VIEWER, "groups": ["viewers"]}]},
        access_entries=[entry(ADMIN, "AmazonEKSViewPolicy", kubernetesGroups=["viewers"])],
    )
    topology = build(world)
    cluster = topology.cluster("target-cluster")
    probes = eq.build_universe([topology])["target-cluster"]
    for who in (ADMIN, VIEWER):
        identity = ek.identify(topology, cluster, ek.caller_for(topology, who))
        assert not isinstance(identity, str)
        lines = ek.allowed_lines(cluster, identity, probes)
        for namespace in ("", "apps", "default"):
            for group, resource, _ in probes.resources[::7]:
                for verb in ("get", "list", "delete"):
                    request = rbac.normalized(
                        rbac.KubeRequest(
                            verb,
                            resource.partition("/")[0],
                            group,
                            resource.partition("/")[2],
                            namespace,
                        )
                    )
                    decided = rbac.authorize(
                        identity.username, identity.groups, request, cluster.rbac, identity.grants
                    )
                    assert (ek.line(cluster.name, request) in lines) == decided.allowed, request


def test_a_hundred_bindings_keep_the_universe_small(build: Build) -> None:
    manifests = []
    for number in range(100):
        namespace = f"team-{number % 20}"
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"r{number}", "namespace": namespace},
            "rules": [
                {
                    "apiGroups": [f"g{number % 10}.example.com"],
                    "resources": [f"things{number % 15}"],
                    "verbs": ["get", "list"],
                }
            ],
        }
        rb = binding(f"b{number}", "view", f"group-{number}", namespace=namespace)
        rb["roleRef"]["kind"] = "Role"
        rb["roleRef"]["name"] = f"r{number}"
        manifests += [role, rb]
    topology = build(cluster_world(manifests=manifests))
    probes = eq.build_universe([topology])["target-cluster"]
    assert len(probes.namespaces) == 22
    assert probes.size() < 60_000  # one principal's decisions: bounded by the named names
    assert eq.capabilities(topology, iam(ADMIN), {"target-cluster": probes}).allowed == frozenset()


# ------------------------------------------------------------------ service accounts


def seed_world(
    *, pod_identity: bool, target_tag_session: bool = True, target_role: bool = True
) -> dict[str, Any]:
    """The seed's chain: ci-role (IRSA or Pod Identity) → target-role (s3, eks reads),
    mapped to system:masters on the target cluster."""
    provider = ISSUER.removeprefix("https://")
    ci_trust = trust(
        {"Federated": f"arn:aws:iam::{CI}:oidc-provider/{provider}"},
        ["sts:AssumeRoleWithWebIdentity"],
    )
    ci_trust["Statement"][0]["Condition"] = {
        "StringEquals": {f"{provider}:sub": "system:serviceaccount:ci:ci-sa"}
    }
    hop = ["sts:AssumeRole", "sts:TagSession"] if pod_identity else ["sts:AssumeRole"]
    if pod_identity:
        ci_trust["Statement"].append(
            trust({"Service": "pods.eks.amazonaws.com"}, ["sts:AssumeRole", "sts:TagSession"])[
                "Statement"
            ][0]
        )
    target_actions = (
        ["sts:AssumeRole", "sts:TagSession"] if target_tag_session else ["sts:AssumeRole"]
    )
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "ci-sa", "namespace": "ci"},
    }
    if not pod_identity:
        sa["metadata"]["annotations"] = {"eks.amazonaws.com/role-arn": CI_ROLE}
    ci_cluster: dict[str, Any] = {
        "name": "ci-cluster",
        "account": CI,
        "region": "us-east-1",
        "issuer": ISSUER,
        "manifests": [sa],
    }
    if pod_identity:
        ci_cluster["addons"] = ["eks-pod-identity-agent"]
        ci_cluster["pod_identity_associations"] = [
            {"namespace": "ci", "serviceAccount": "ci-sa", "roleArn": CI_ROLE}
        ]
        if target_role:
            ci_cluster["pod_identity_associations"][0]["targetRoleArn"] = TARGET_ROLE
    return {
        "accounts": [
            {
                "id": CI,
                "oidc_providers": [{"url": ISSUER, "client_ids": ["sts.amazonaws.com"]}],
                "roles": [
                    {
                        "name": "ci-role",
                        "trust": ci_trust,
                        "policies": {"hop": allow(hop, TARGET_ROLE)},
                    }
                ],
            },
            {
                "id": TARGET,
                "roles": [
                    {
                        "name": "target-role",
                        "trust": trust({"AWS": CI_ROLE}, target_actions),
                        "policies": {"work": allow(["s3:ListAllMyBuckets", "eks:DescribeCluster"])},
                    }
                ],
            },
        ],
        "clusters": [
            ci_cluster,
            {
                "name": "target-cluster",
                "account": TARGET,
                "region": "us-east-1",
                "aws_auth": {
                    "mapRoles": [
                        {"rolearn": TARGET_ROLE, "username": "ci", "groups": ["system:masters"]}
                    ]
                },
            },
        ],
    }


SA = eq.Principal("ci/ci-sa", eq.SERVICE_ACCOUNT, "ci-cluster")


def test_irsa_and_pod_identity_with_one_target_role_give_the_same_lines(build: Build) -> None:
    before, after = build(seed_world(pod_identity=False)), build(seed_world(pod_identity=True))
    (difference,) = eq.compare(before, after, [SA])
    assert difference.verdict == "same", (difference.lost[:5], difference.gained[:5])
    allowed = difference.before.allowed
    assert f"aws {TARGET}: s3:ListAllMyBuckets on *" in allowed
    assert f"aws: can assume {TARGET_ROLE}" in allowed
    assert "k8s target-cluster: delete secrets in ns kube-system" in allowed
    assert any("IRSA web identity" in line for line in difference.before.identities)
    assert any("Pod Identity targetRoleArn" in line for line in difference.after.identities)


def test_pod_identity_without_tag_session_in_the_target_trust_loses_everything(
    build: Build,
) -> None:
    before = build(seed_world(pod_identity=False, target_tag_session=False))
    after = build(seed_world(pod_identity=True, target_tag_session=False))
    (difference,) = eq.compare(before, after, [SA])
    assert difference.verdict == "lost"
    assert f"aws {TARGET}: s3:ListAllMyBuckets on *" in difference.lost
    assert not difference.after.allowed
    assert "Pod Identity refused" in difference.after.identities[0]


@pytest.mark.parametrize("tag_session", [True, False])
def test_the_pod_identity_session_tags_are_carried_into_the_next_hop(
    build: Build, tag_session: bool
) -> None:
    """Without targetRoleArn the pod holds ci-role's session, whose Pod Identity tags are
    transitive: its own AssumeRole into target-role passes them, so the target's trust
    needs sts:TagSession (B.6)."""
    before = build(seed_world(pod_identity=False, target_tag_session=tag_session))
    after = build(seed_world(pod_identity=True, target_tag_session=tag_session, target_role=False))
    (difference,) = eq.compare(before, after, [SA])
    assert any("Pod Identity association role" in line for line in difference.after.identities)
    if tag_session:
        assert difference.verdict == "same", (difference.lost[:3], difference.gained[:3])
    else:
        assert difference.verdict == "lost"
        assert f"aws {TARGET}: s3:ListAllMyBuckets on *" in difference.lost


def test_a_service_account_without_any_role_can_do_nothing(build: Build) -> None:
    world = seed_world(pod_identity=False)
    del world["clusters"][0]["manifests"][0]["metadata"]["annotations"]
    found = eq.capabilities(build(world), SA, {})
    assert not found.allowed
    assert found.identities == (
        "aws: nothing (no Pod Identity association and no IRSA annotation)",
    )


def test_the_identities_say_as_whom_each_cluster_sees_a_reached_role(build: Build) -> None:
    found = eq.capabilities(build(seed_world(pod_identity=False)), SA, {})
    assert (
        f"k8s target-cluster: {TARGET_ROLE} is kubernetes user ci, groups [system:masters] "
        f"(aws-auth mapRoles {TARGET_ROLE})"
    ) in found.identities, found.identities
    assert not any(CI_ROLE + " is" in line for line in found.identities)  # mapped nowhere


def test_a_not_action_statement_is_asked_the_probe_actions(build: Build) -> None:
    """``NotAction: iam:*``: every probe action but the IAM ones, and an unnamed action;
    moved to an Action list of the same actions, only the unnamed action is lost."""
    everything_but_iam = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    }
    world = seed_world(pod_identity=False)
    world["accounts"][1]["roles"][0]["policies"] = {"broad": everything_but_iam}
    before = build(world)
    named = [a for a in ek_aws.NOT_ACTION_PROBES if not a.startswith("iam:")]
    world["accounts"][1]["roles"][0]["policies"] = {"named": allow(named)}
    (difference,) = eq.compare(before, build(world), [SA])
    allowed = difference.before.allowed
    assert f"aws {TARGET}: s3:GetObject on *" in allowed
    assert f"aws {TARGET}: iam:PassRole on *" not in allowed
    assert difference.lost == (f"aws {TARGET}: any unnamed action on *",)
    assert not difference.gained


def test_a_wildcard_access_scope_is_probed_in_a_namespace_it_matches(build: Build) -> None:
    """Bindings in today's ``dev-a`` against a scope ``dev-*``: the scope also covers the
    ``dev-`` namespaces of tomorrow, and the proof says so."""
    viewers = {"rolearn": VIEWER, "groups": ["viewers"]}
    manifests = [binding("viewers", "view", "viewers", namespace="dev-a")]
    before = cluster_world(aws_auth={"mapRoles": [viewers]}, manifests=manifests)
    scoped = entry(VIEWER)
    scoped["policies"] = [
        {
            "policyArn": POLICY + "AmazonEKSViewPolicy",
            "accessScope": {"type": "namespace", "namespaces": ["dev-*"]},
        }
    ]
    after = cluster_world(authentication_mode="API_AND_CONFIG_MAP", access_entries=[scoped])
    difference = one(build, before, after, VIEWER)
    assert ek.wildcard_probe("dev-*") == "dev-kubetrust-probe"
    assert "k8s target-cluster: list pods in ns dev-kubetrust-probe" in difference.gained
    assert "k8s target-cluster: list pods in ns dev-a" in difference.after.allowed
    assert "k8s target-cluster: list pods in ns default" not in difference.after.allowed
    assert not difference.lost


# ------------------------------------------------------------------ output and records


def test_render_text_lists_the_first_lines_then_counts_the_rest(build: Build) -> None:
    before = cluster_world(
        aws_auth={"mapRoles": [{"rolearn": ADMIN, "groups": ["system:masters"]}]}
    )
    difference = one(build, before, cluster_world(), ADMIN)
    text = eq.render_text([difference], limit=3)
    assert text.startswith(f"LOST     {ADMIN} (iam, target-cluster)")
    assert text.count("  lost: ") == 3
    assert f"... and {len(difference.lost) - 3} more lost" in text
    assert "  before: k8s target-cluster: kubernetes user" in text
    assert text.endswith("proof: 1 principal: 1 lost")
    (document,) = eq.as_json([difference])
    assert document["verdict"] == "lost"
    assert document["lost"] == list(difference.lost)
    assert document["principal"] == {"key": ADMIN, "kind": "iam", "cluster": "target-cluster"}


def test_a_recorded_proof_judges_a_later_world(build: Build) -> None:
    before_world = seed_world(pod_identity=False)
    before, after = build(before_world), build(seed_world(pod_identity=True))
    record = eq.proof_record(before, after, [SA, iam(TARGET_ROLE)])
    back = eq.compare_with_record(record, build(before_world))
    assert [d.verdict for d in back] == ["same", "same"]
    broken = copy.deepcopy(before_world)
    broken["clusters"][1]["aws_auth"] = {}
    assert [d.verdict for d in eq.compare_with_record(record, build(broken))] == ["lost", "lost"]


def test_a_malformed_record_or_principal_is_an_input_error(build: Build) -> None:
    with pytest.raises(eq.errors.InputError, match="recorded proof is malformed"):
        eq.compare_with_record({"universe": {}}, build(cluster_world()))
    with pytest.raises(eq.errors.InputError, match="not NAMESPACE/NAME"):
        eq.capabilities(
            build(cluster_world()), eq.Principal("nope", eq.SERVICE_ACCOUNT, "target-cluster"), {}
        )
    with pytest.raises(eq.errors.InputError, match="not an IAM role, user"):
        eq.capabilities(build(cluster_world()), iam(f"arn:aws:s3:::{TARGET}"), {})
