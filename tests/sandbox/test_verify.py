"""``kubetrust verify`` against the sandbox: the seed's chain run for real from a pod.

The world is the agreement cases' base (the seed with unique names), built in the session's
sandbox by :mod:`.explainkit`, plus pods whose service accounts the IRSA webhook mutates.
Verify mints the pod's token by TokenRequest, calls STS for each hop, probes the expected
actions and asks the target cluster for ``SelfSubjectReview`` and
``SelfSubjectAccessReview``. The negative cases matter most: every failure must fail the
run (exit 2), and nothing after a failed hop may be reported as verified.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import click
import kubernetes.client
import pytest
import yaml
from click.testing import CliRunner, Result

from kubetrust.cli import verify as verify_cli

from .explainkit import CI, TARGET, Builder, Built, create, fill, mint, patched

BASE = yaml.safe_load(Path(__file__).with_name("explain_agreement_cases.yaml").read_text())["base"]
VIEW_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "viewers-{s}"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "Group", "name": "viewers-{s}"}],
}


class World:
    """One built world and what the tests name in it."""

    def __init__(self, builder: Builder, patches: list[dict[str, Any]]) -> None:
        suffix = "v" + uuid.uuid4().hex[:6]
        clusters = {"{ci_cluster}": f"ci-{suffix}", "{tgt_cluster}": f"tgt-{suffix}"}
        self.built: Built = builder.build(fill(patched(BASE, patches), clusters), suffix)
        self.builder = builder
        self.suffix = suffix
        self.namespace = f"ns-{suffix}"
        self.ci_cluster, self.target_cluster = clusters.values()
        self.ci_role = f"arn:aws:iam::{CI}:role/ci-role-{suffix}"
        self.target_role = f"arn:aws:iam::{TARGET}:role/target-role-{suffix}"

    def pod(self, service_account: str = "ci-serviceaccount", annotate: bool = True) -> str:
        """A pod of ``service_account`` (created, and annotated with the CI role, first)."""
        api = self.builder.admin_api(self.built.world["clusters"][0])
        name = f"pod-{uuid.uuid4().hex[:6]}"
        if service_account != "ci-serviceaccount":
            annotations = {"eks.amazonaws.com/role-arn": self.ci_role} if annotate else {}
            account = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": service_account,
                    "namespace": self.namespace,
                    "annotations": annotations,
                },
            }
            create(api, account)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "serviceAccountName": service_account,
                "containers": [{"name": "c", "image": "amazon/aws-cli", "command": ["sleep"]}],
            },
        }
        kubernetes.client.CoreV1Api(api).create_namespaced_pod(self.namespace, pod)
        return name


@pytest.fixture(scope="module")
def builder(sandbox: Any) -> Builder:
    return Builder(sandbox)


@pytest.fixture(scope="module")
def seed(builder: Builder) -> World:
    return World(builder, [])


@pytest.fixture(scope="module")
def viewer(builder: Builder) -> World:
    """The target role mapped to a group bound to ``view``; DescribeCluster not granted."""
    return World(
        builder,
        [
            {"set": ["clusters", 1, "aws_auth", "mapRoles", 0, "groups"], "value": ["viewers-{s}"]},
            {"set": ["clusters", 1, "aws_auth", "mapRoles", 0, "username"], "value": "viewer"},
            {"set": ["clusters", 1, "manifests"], "value": [VIEW_BINDING]},
            {
                "set": [
                    "accounts",
                    1,
                    "roles",
                    0,
                    "policies",
                    "target-permissions",
                    "Statement",
                    0,
                    "Action",
                ],
                "value": ["eks:ListClusters", "eks:DescribeCluster"],
            },
            {
                "append": [
                    "accounts",
                    1,
                    "roles",
                    0,
                    "policies",
                    "target-permissions",
                    "Statement",
                ],
                "value": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
            },
        ],
    )


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(verify_cli.verify)
    return group


def run(sandbox: Any, *args: str, env: dict[str, str] | None = None) -> Result:
    base = ["verify", "--state-dir", str(sandbox.state_dir), "--output", "json"]
    return CliRunner().invoke(_cli(), [*base, *args], env=env)


def from_pod(sandbox: Any, world: World, pod: str, *args: str) -> Result:
    where = ["--sandbox", "--cluster", world.ci_cluster, "--namespace", world.namespace]
    return run(sandbox, *where, "--pod", pod, *args)


def steps(result: Result) -> list[dict[str, Any]]:
    data = json.loads(result.stdout)
    return [step for chain in data["chains"] for step in chain["steps"]]


def outcomes(result: Result) -> list[tuple[str, str]]:
    return [(step["kind"], step["outcome"]) for step in steps(result)]


# ---------------------------------------------------------------------- from a pod


def test_seed_chain_from_a_pod_is_verified(sandbox: Any, seed: World) -> None:
    pod = seed.pod()
    result = from_pod(
        sandbox,
        seed,
        pod,
        "--via",
        seed.target_role,
        "--expect-action",
        "eks:ListClusters",
        "--expect-action",
        "eks:DescribeCluster",
        "--expect-action",
        "s3:ListAllMyBuckets",
        "--expect-kube",
        "list namespaces",
        "--expect-kube",
        "get pods -n kube-system",
        "--target-cluster",
        seed.target_cluster,
    )
    assert result.exit_code == 0, result.output
    found = steps(result)
    assert [s["kind"] for s in found] == [
        "token",
        "web identity",
        "assume role",
        "AWS action",
        "AWS action",
        "AWS action",
        "cluster identity",
        "Kubernetes access",
        "Kubernetes access",
    ]
    assert all(s["outcome"] == "ok" for s in found), result.output
    token, web, hop = found[:3]
    assert (
        token["facts"]["claims"]["sub"]
        == f"system:serviceaccount:{seed.namespace}:ci-serviceaccount"
    )
    assert token["facts"]["claims"]["aud"] == ["sts.amazonaws.com"]
    assert web["target"] == seed.ci_role  # the pod's AWS_ROLE_ARN, set by the webhook
    assert (
        f":assumed-role/target-role-{seed.suffix}/kubetrust-verify" in hop["facts"]["session_arn"]
    )
    assert found[4]["target"] == "eks:DescribeCluster"
    assert f"name={seed.target_cluster}" in found[4]["detail"]  # the plan's target cluster
    assert found[6]["facts"]["username"] == "test-user"
    assert "system:masters" in found[6]["facts"]["groups"]


def test_denied_action_and_kubernetes_access_fail_the_run(sandbox: Any, viewer: World) -> None:
    pod = viewer.pod()
    result = from_pod(
        sandbox,
        viewer,
        pod,
        "--via",
        viewer.target_role,
        "--expect-action",
        "eks:ListClusters",
        "--expect-action",
        "s3:ListAllMyBuckets",
        "--expect-kube",
        "list pods -n kube-system",
        "--expect-kube",
        "list secrets -n kube-system",
        "--expect-kube",
        "create deployments.apps -n default",
        "--target-cluster",
        viewer.target_cluster,
    )
    assert result.exit_code == 2, result.output
    assert outcomes(result) == [
        ("token", "ok"),
        ("web identity", "ok"),
        ("assume role", "ok"),
        ("AWS action", "ok"),
        ("AWS action", "FAIL"),
        ("cluster identity", "ok"),
        ("Kubernetes access", "ok"),
        ("Kubernetes access", "FAIL"),
        ("Kubernetes access", "FAIL"),
    ]
    found = steps(result)
    assert found[4]["code"] == "AccessDenied" and "explicit deny" in found[4]["detail"]
    assert found[5]["facts"]["username"] == "viewer"


def test_untrusted_service_account_fails_at_web_identity_and_stops(
    sandbox: Any, seed: World
) -> None:
    """The pod's service account is annotated with the CI role, whose trust names another:
    STS refuses, and nothing after it may pass."""
    pod = seed.pod("intruder")
    result = from_pod(
        sandbox,
        seed,
        pod,
        "--via",
        seed.target_role,
        "--expect-action",
        "eks:ListClusters",
        "--expect-kube",
        "list namespaces",
        "--target-cluster",
        seed.target_cluster,
    )
    assert result.exit_code == 2, result.output
    assert outcomes(result) == [
        ("token", "ok"),
        ("web identity", "FAIL"),
        ("assume role", "skip"),
        ("AWS action", "skip"),
        ("cluster identity", "skip"),
        ("Kubernetes access", "skip"),
    ]
    web = steps(result)[1]
    assert web["code"] == "AccessDenied"
    assert "sts:AssumeRoleWithWebIdentity" in web["detail"]
    assert all("not reached" in s["detail"] for s in steps(result)[2:])


def test_pod_without_irsa_injection_fails_at_the_token(sandbox: Any, seed: World) -> None:
    pod = seed.pod("plain", annotate=False)
    result = from_pod(sandbox, seed, pod, "--expect-action", "eks:ListClusters")
    assert result.exit_code == 2, result.output
    assert outcomes(result) == [("token", "FAIL"), ("web identity", "skip"), ("AWS action", "skip")]
    assert "did not mutate" in steps(result)[0]["detail"]


def test_unknown_pod_is_invalid_input(sandbox: Any, seed: World) -> None:
    result = from_pod(sandbox, seed, "no-such-pod", "--expect-action", "eks:ListClusters")
    assert result.exit_code == 3, result.output
    assert "no pod" in result.output


def test_unprobed_action_is_reported_not_verified(sandbox: Any, seed: World) -> None:
    pod = seed.pod()
    result = from_pod(
        sandbox, seed, pod, "--via", seed.target_role, "--expect-action", "ec2:RunInstances"
    )
    assert result.exit_code == 0, result.output
    last = steps(result)[-1]
    assert last["outcome"] == "skip" and last["detail"].startswith(
        "not verified: no read-only probe"
    )
    text = run(
        sandbox,
        "--sandbox",
        "--cluster",
        seed.ci_cluster,
        "--namespace",
        seed.namespace,
        "--pod",
        pod,
        "--via",
        seed.target_role,
        "--expect-action",
        "ec2:RunInstances",
        "--output",
        "text",
    ).output
    assert "1 not run or not verified" in text and "skip 4. AWS action" in text


# ---------------------------------------------------------------------- from a spec


def _spec(world: World, tmp_path: Path, username: str = "test-user") -> Path:
    spec = {
        "apiVersion": "kubetrust.dev/v1alpha1",
        "kind": "CrossAccountAccess",
        "metadata": {"name": "verify-test"},
        "spec": {
            "source": {
                "account": CI,
                "region": "us-east-1",
                "cluster": world.ci_cluster,
                "serviceAccounts": [{"namespace": world.namespace, "name": "ci-serviceaccount"}],
                "roleName": f"ci-role-{world.suffix}",
            },
            "targets": [
                {
                    "name": "target",
                    "account": TARGET,
                    "roleName": f"target-role-{world.suffix}",
                    "permissions": {
                        "statements": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:ListAllMyBuckets", "eks:ListClusters"],
                                "Resource": "*",
                            }
                        ]
                    },
                    "clusters": [
                        {
                            "name": world.target_cluster,
                            "awsAuth": {"username": username, "groups": ["system:masters"]},
                        }
                    ],
                }
            ],
        },
    }
    path = tmp_path / "kubetrust.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_spec_targets_are_verified(sandbox: Any, seed: World, tmp_path: Path) -> None:
    result = from_pod(sandbox, seed, seed.pod(), "-f", str(_spec(seed, tmp_path)))
    assert result.exit_code == 0, result.output
    assert outcomes(result) == [
        ("token", "ok"),
        ("web identity", "ok"),
        ("assume role", "ok"),
        ("AWS action", "ok"),
        ("AWS action", "ok"),
        ("cluster identity", "ok"),
        ("Kubernetes access", "ok"),
    ]
    data = json.loads(result.stdout)
    assert data["chains"][0]["plan"]["first"] == seed.ci_role
    assert data["chains"][0]["plan"]["identities"][0]["username"] == "test-user"


def test_spec_identity_mismatch_fails(sandbox: Any, seed: World, tmp_path: Path) -> None:
    spec = _spec(seed, tmp_path, username="someone-else")
    result = from_pod(sandbox, seed, seed.pod(), "-f", str(spec))
    assert result.exit_code == 2, result.output
    identity = next(s for s in steps(result) if s["kind"] == "cluster identity")
    assert identity["outcome"] == "FAIL"
    assert "expected user `someone-else`" in identity["detail"]


def test_spec_and_flags_do_not_mix(sandbox: Any, seed: World, tmp_path: Path) -> None:
    spec = _spec(seed, tmp_path)
    result = CliRunner().invoke(
        _cli(),
        ["verify", "-f", str(spec), "--expect-action", "eks:ListClusters"],
        standalone_mode=False,
    )
    assert isinstance(result.exception, click.UsageError)


# ---------------------------------------------------------------------- current credentials


def test_token_file_in_the_environment_starts_the_chain(
    sandbox: Any, seed: World, tmp_path: Path
) -> None:
    """Inside a pod: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, as the SDK reads them."""
    issuer = seed.built.issuers[seed.ci_cluster]
    token = tmp_path / "token"
    token.write_text(mint(issuer, seed.namespace, "ci-serviceaccount", "sts.amazonaws.com"))
    env = {
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
        "AWS_ROLE_ARN": seed.ci_role,
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
    }
    result = run(
        sandbox,
        "--endpoint-url",
        sandbox.endpoint,
        "--region",
        "us-east-1",
        "--via",
        seed.target_role,
        "--expect-action",
        "eks:ListClusters",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert outcomes(result) == [
        ("token", "ok"),
        ("web identity", "ok"),
        ("assume role", "ok"),
        ("AWS action", "ok"),
    ]


def test_current_credentials_start_the_chain(sandbox: Any, seed: World) -> None:
    """A session of the CI role in the environment: it is the start, the target is a hop;
    an AssumeRole the target's trust does not allow fails."""
    issuer = seed.built.issuers[seed.ci_cluster]
    token = mint(issuer, seed.namespace, "ci-serviceaccount", "sts.amazonaws.com")
    answer = seed.builder.aws.client("sts", unsigned=True).assume_role_with_web_identity(
        RoleArn=seed.ci_role, RoleSessionName="ci", WebIdentityToken=token
    )
    credentials = answer["Credentials"]
    env = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_WEB_IDENTITY_TOKEN_FILE": "",
        "AWS_ROLE_ARN": "",
    }
    where = ["--endpoint-url", sandbox.endpoint, "--region", "us-east-1"]
    result = run(
        sandbox,
        *where,
        "--role-arn",
        seed.ci_role,
        "--via",
        seed.target_role,
        "--expect-action",
        "eks:ListClusters",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert outcomes(result) == [("identity", "ok"), ("assume role", "ok"), ("AWS action", "ok")]
    assert steps(result)[0]["facts"]["arn"].endswith(f"ci-role-{seed.suffix}/ci")
    # the CI role trusts only the web identity: its own session may not assume it. Against
    # AWS (no --sandbox) verify waits for propagation first; a lasting denial stays denied,
    # the wait noted (a short budget here: the default is a minute)
    denied = run(sandbox, *where, "--via", seed.ci_role, "--propagation-wait", "2", env=env)
    assert denied.exit_code == 2, denied.output
    assert outcomes(denied) == [("identity", "ok"), ("assume role", "FAIL")]
    assert "still refused" in steps(denied)[1]["detail"], steps(denied)[1]
