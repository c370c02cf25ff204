"""Nodes with an instance role and IMDS (reference H.5), with the real aws CLI and boto3
inside pods through ``kubetrust sandbox exec``, and raw HTTP on the IMDS listener.

A private sandbox whose world has two clusters in the source account: ``open``, whose
nodes have the world's role ``ci-nodes`` and IMDS hop limit 2 (a pod reaches IMDS, as on
EKS's AL2023 nodes), and ``closed``, hop limit 1 (a pod's token request never gets its
answer). ``ci-nodes`` may ``sts:AssumeRole`` into the target account's ``deployer``, which
trusts it: the seed's node-role variant, no IRSA. Every pod is un-annotated unless a test
says otherwise, and its command sees only what ``sandbox exec`` gives it.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from kubetrust.sandbox.eks import imds
from kubetrust.sandbox.eks.pod_identity_agent import instance_id
from kubetrust.sandbox.runtime.server import SandboxServer
from kubetrust.sandbox.world import parse_world

from .kubekit import Caller, Done, admin_env, admin_kubectl, kubetrust, unique

SOURCE, TARGET = "710000000001", "710000000002"
REGION = "us-east-1"
NODE_ROLE = "ci-nodes"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/deployer"
NO_CREDENTIALS = "Unable to locate credentials"
CLI_ERROR = 255


def service_trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


EC2_TRUST = service_trust("ec2.amazonaws.com")
WORLD = {
    "region": REGION,
    "accounts": [
        {
            "id": SOURCE,
            "roles": [
                {
                    "name": NODE_ROLE,
                    "trust": EC2_TRUST,
                    "policies": {
                        "reach-target": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "sts:AssumeRole",
                                    "Resource": TARGET_ROLE,
                                }
                            ],
                        }
                    },
                }
            ],
            "clusters": [
                {"name": "open", "nodes": {"instance_role": NODE_ROLE}},
                {"name": "closed", "nodes": {"instance_role": NODE_ROLE, "imds": {"hop_limit": 1}}},
                {"name": "later", "nodes": {"instance_role": "not-yet"}},
            ],
        },
        {
            "id": TARGET,
            "roles": [
                {
                    "name": "deployer",
                    "trust": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:role/{NODE_ROLE}"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                }
            ],
        },
    ],
}


class Nodes:
    """The private sandbox, kubectl on each cluster, and a pod runner."""

    def __init__(self, sandbox: SandboxServer, base: Path) -> None:
        self.sandbox = sandbox
        self.base = base
        self.kube = {
            name: admin_kubectl(sandbox, name, base / f"kube-{name}")
            for name in ("open", "closed", "later")
        }
        self.admin = Caller(sandbox.endpoint, base / "admin", admin_env(sandbox, SOURCE))

    def pod(
        self,
        cluster: str,
        *,
        service_account: str = "default",
        env: list[dict[str, str]] | None = None,
    ) -> str:
        name = unique("pod")
        container: dict[str, Any] = {"name": "app", "image": "amazon/aws-cli"}
        if env:
            container["env"] = env
        manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"serviceAccountName": service_account, "containers": [container]},
        }
        done = self.kube[cluster].kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        assert done.ok, str(done)
        return name

    def exec(self, cluster: str, pod: str, *command: str) -> Done:
        return kubetrust(
            "sandbox",
            "exec",
            "--state-dir",
            str(self.sandbox.state_dir),
            "--cluster",
            cluster,
            "--pod",
            pod,
            "--",
            *command,
        )

    def aws(self, cluster: str, pod: str, *args: str) -> Done:
        return self.exec(cluster, pod, "aws", *args, "--region", REGION, "--output", "json")

    def url(self, cluster: str, origin: imds.Origin, rest: str) -> str:
        assert self.sandbox.imds is not None
        if origin == "node":
            return (
                self.sandbox.imds
                + self.sandbox.imds_service.node_path(SOURCE, cluster)
                + "/"
                + rest
            )
        return self.sandbox.imds + imds.base_path(SOURCE, cluster, origin) + "/" + rest


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    base = tmp_path_factory.mktemp("imds")
    server = SandboxServer(base / "state", parse_world(WORLD))
    with server:
        yield Nodes(server, base)


def session_arn(cluster: str, role: str = NODE_ROLE) -> str:
    return f"arn:aws:sts::{SOURCE}:assumed-role/{role}/{instance_id(SOURCE, cluster)}"


# ---------------------------------------------------------------------- the aws CLI
def test_an_unannotated_pod_acts_as_the_node_role_with_hop_limit_2(nodes: Nodes) -> None:
    pod = nodes.pod("open")
    done = nodes.aws("open", pod, "sts", "get-caller-identity")
    assert done.ok, str(done)
    assert done.json()["Arn"] == session_arn("open")
    assert instance_id(SOURCE, "open").startswith("i-")


def test_hop_limit_1_leaves_the_pod_without_credentials(nodes: Nodes) -> None:
    pod = nodes.pod("closed")
    started = time.monotonic()
    done = nodes.aws("closed", pod, "sts", "get-caller-identity")
    assert done.returncode == CLI_ERROR and NO_CREDENTIALS in done.stderr, str(done)
    assert time.monotonic() - started < 30  # the held token request is bounded


def test_the_pod_reaches_the_target_account_through_the_node_role(nodes: Nodes) -> None:
    """The seed's node-role variant: no IRSA, the node role's own permission."""
    assume = ("sts", "assume-role", "--role-arn", TARGET_ROLE, "--role-session-name", "node")
    done = nodes.aws("open", nodes.pod("open"), *assume)
    assert done.ok, str(done)
    assert done.json()["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{TARGET}:assumed-role/deployer/node"
    )
    blocked = nodes.aws("closed", nodes.pod("closed"), *assume)
    assert blocked.returncode == CLI_ERROR and NO_CREDENTIALS in blocked.stderr, str(blocked)


def test_a_pod_that_disables_imds_has_no_credentials_even_with_hop_limit_2(
    nodes: Nodes,
) -> None:
    pod = nodes.pod("open", env=[{"name": "AWS_EC2_METADATA_DISABLED", "value": "true"}])
    shown = nodes.exec("open", pod, "sh", "-c", "env | grep '^AWS_EC2' | sort")
    assert shown.stdout.split() == ["AWS_EC2_METADATA_DISABLED=true"], str(shown)
    done = nodes.aws("open", pod, "sts", "get-caller-identity")
    assert done.returncode == CLI_ERROR and NO_CREDENTIALS in done.stderr, str(done)


def test_exec_points_the_pod_at_its_nodes_imds(nodes: Nodes) -> None:
    shown = nodes.exec("closed", nodes.pod("closed"), "sh", "-c", "env | grep '^AWS_EC2' | sort")
    assert shown.ok, str(shown)
    assert shown.stdout.split() == [
        f"AWS_EC2_METADATA_SERVICE_ENDPOINT={nodes.url('closed', 'pod', '').rstrip('/')}",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv4",
    ]


def test_an_irsa_pod_still_uses_irsa(nodes: Nodes) -> None:
    """The SDK's chain reads web identity before IMDS (reference G.1)."""
    eks = boto3.client(
        "eks",
        endpoint_url=nodes.sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=nodes.sandbox.admin_keys[SOURCE][0],
        aws_secret_access_key=nodes.sandbox.admin_keys[SOURCE][1],
    )
    issuer = eks.describe_cluster(name="open")["cluster"]["identity"]["oidc"]["issuer"]
    provider = nodes.admin.aws(
        "iam",
        "create-open-id-connect-provider",
        "--url",
        issuer,
        "--client-id-list",
        "sts.amazonaws.com",
        "--thumbprint-list",
        "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
        "--output",
        "json",
    )
    assert provider.ok, str(provider)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider.json()["OpenIDConnectProviderArn"]},
                "Action": "sts:AssumeRoleWithWebIdentity",
            }
        ],
    }
    role = unique("irsa")
    made = nodes.admin.aws(
        "iam", "create-role", "--role-name", role, "--assume-role-policy-document",
        json.dumps(trust), "--output", "json",
    )  # fmt: skip
    assert made.ok, str(made)
    account = unique("sa")
    service_account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": account,
            "annotations": {"eks.amazonaws.com/role-arn": made.json()["Role"]["Arn"]},
        },
    }
    applied = nodes.kube["open"].kubectl("apply", "-f", "-", stdin=json.dumps(service_account))
    assert applied.ok, str(applied)
    done = nodes.aws(
        "open", nodes.pod("open", service_account=account), "sts", "get-caller-identity"
    )
    assert done.ok, str(done)
    assert done.json()["Arn"].startswith(f"arn:aws:sts::{SOURCE}:assumed-role/{role}/"), str(done)


# ---------------------------------------------------------------------- boto3
BOTO3_WHOAMI = """
import boto3, botocore.exceptions
try:
    print(boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"])
except botocore.exceptions.NoCredentialsError as error:
    print("no credentials:", error)
"""


def test_boto3_in_a_pod_gets_the_node_role_exactly_when_eks_would(nodes: Nodes) -> None:
    opened = nodes.exec("open", nodes.pod("open"), sys.executable, "-c", BOTO3_WHOAMI)
    assert opened.ok and opened.stdout.strip() == session_arn("open"), str(opened)
    closed = nodes.exec("closed", nodes.pod("closed"), sys.executable, "-c", BOTO3_WHOAMI)
    assert closed.ok, str(closed)
    assert closed.stdout.strip() == "no credentials: Unable to locate credentials"


# ---------------------------------------------------------------------- the node group
def test_the_nodes_show_as_a_managed_node_group_with_the_instance_role(nodes: Nodes) -> None:
    listed = nodes.admin.aws("eks", "list-nodegroups", "--cluster-name", "open", "--output", "json")
    assert listed.ok and listed.json()["nodegroups"] == ["open-nodes"], str(listed)
    described = nodes.admin.aws(
        "eks", "describe-nodegroup", "--cluster-name", "later", "--nodegroup-name",
        "later-nodes", "--output", "json",
    )  # fmt: skip
    assert described.ok, str(described)
    group = described.json()["nodegroup"]
    assert group["nodeRole"] == f"arn:aws:iam::{SOURCE}:role/not-yet"
    assert group["status"] == "ACTIVE"


# ---------------------------------------------------------------------- raw IMDS
def put_token(url: str, ttl: str | None = "60", timeout: float = 5) -> tuple[int, str]:
    headers = {} if ttl is None else {imds.TTL_HEADER: ttl}
    request = urllib.request.Request(url, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {} if token is None else {imds.TOKEN_HEADER: token}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as a:
            return a.status, a.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_node_itself_gets_the_credentials_document(nodes: Nodes) -> None:
    """Hop limit 1 stops pods, not the node (its own processes are one hop away)."""
    status, token = put_token(nodes.url("closed", "node", imds.TOKEN_PATH))
    assert status == 200 and token
    listing = nodes.url("closed", "node", imds.CREDENTIALS_PATH)
    assert get(listing, token) == (200, NODE_ROLE)
    status, body = get(listing + NODE_ROLE, token)
    assert status == 200
    document = json.loads(body)
    assert set(document) == {
        "Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration",
    }  # fmt: skip
    assert (document["Code"], document["Type"]) == ("Success", "AWS-HMAC")
    assert document["AccessKeyId"].startswith("ASIA") and document["Expiration"].endswith("Z")
    status, again = get(listing + NODE_ROLE, token)
    assert json.loads(again)["AccessKeyId"] == document["AccessKeyId"]  # cached, as EC2's
    sts = boto3.client(
        "sts",
        endpoint_url=nodes.sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document["Token"],
        config=Config(retries={"max_attempts": 1}),
    )
    assert sts.get_caller_identity()["Arn"] == session_arn("closed")


def test_without_a_token_the_answer_is_401(nodes: Nodes) -> None:
    status, body = get(nodes.url("open", "pod", imds.CREDENTIALS_PATH))
    assert status == 401 and "401 - Unauthorized" in body
    assert get(nodes.url("open", "pod", imds.CREDENTIALS_PATH), "forged")[0] == 401
    assert put_token(nodes.url("open", "pod", imds.TOKEN_PATH), ttl=None)[0] == 400
    assert put_token(nodes.url("open", "pod", imds.TOKEN_PATH), ttl="21601")[0] == 400


def test_a_pods_token_request_gets_no_answer_with_hop_limit_1(nodes: Nodes) -> None:
    """botocore's 1 s IMDS timeout expires; a patient client sees the connection closed."""
    url = nodes.url("closed", "pod", imds.TOKEN_PATH)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        put_token(url, timeout=1)
    started = time.monotonic()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        put_token(url, timeout=10)
    assert imds.DROPPED_RESPONSE_HOLD <= time.monotonic() - started < 10


def test_a_role_that_does_not_exist_yet_is_no_role_until_it_does(nodes: Nodes) -> None:
    status, token = put_token(nodes.url("later", "pod", imds.TOKEN_PATH))
    assert status == 200
    listing = nodes.url("later", "pod", imds.CREDENTIALS_PATH)
    assert get(listing, token)[0] == 404
    pod = nodes.pod("later")
    done = nodes.aws("later", pod, "sts", "get-caller-identity")
    assert done.returncode == CLI_ERROR and NO_CREDENTIALS in done.stderr, str(done)

    wrong_trust = service_trust("lambda.amazonaws.com")
    made = nodes.admin.aws(
        "iam", "create-role", "--role-name", "not-yet", "--assume-role-policy-document",
        json.dumps(wrong_trust),
    )  # fmt: skip
    assert made.ok, str(made)
    assert get(listing, token) == (200, "not-yet")
    status, body = get(listing + "not-yet", token)
    refused = json.loads(body)
    assert status == 200 and refused["Code"] == "AssumeRoleUnauthorizedAccess", body
    assert "EC2 cannot assume the role not-yet" in refused["Message"]
    done = nodes.aws("later", pod, "sts", "get-caller-identity")
    assert done.returncode == CLI_ERROR and NO_CREDENTIALS in done.stderr, str(done)

    fixed = nodes.admin.aws(
        "iam", "update-assume-role-policy", "--role-name", "not-yet", "--policy-document",
        json.dumps(EC2_TRUST),
    )  # fmt: skip
    assert fixed.ok, str(fixed)
    done = nodes.aws("later", pod, "sts", "get-caller-identity")
    assert done.ok and done.json()["Arn"] == session_arn("later", "not-yet"), str(done)


def test_a_cluster_made_through_the_api_has_default_nodes_and_can_be_deleted(
    nodes: Nodes,
) -> None:
    role = unique("cluster-role")
    made = nodes.admin.aws(
        "iam", "create-role", "--role-name", role, "--assume-role-policy-document",
        json.dumps(service_trust("eks.amazonaws.com")), "--output", "json",
    )  # fmt: skip
    assert made.ok, str(made)
    name = unique("api")
    created = nodes.admin.aws(
        "eks", "create-cluster", "--name", name, "--role-arn", made.json()["Role"]["Arn"],
        "--resources-vpc-config", "subnetIds=subnet-1", "--output", "json",
    )  # fmt: skip
    assert created.ok, str(created)
    described = nodes.admin.aws(
        "eks", "describe-nodegroup", "--cluster-name", name, "--nodegroup-name",
        f"{name}-nodes", "--output", "json",
    )  # fmt: skip
    assert described.ok, str(described)
    default_role = f"arn:aws:iam::{SOURCE}:role/AmazonEKSNodeRole"
    assert described.json()["nodegroup"]["nodeRole"] == default_role
    deleted = nodes.admin.aws("eks", "delete-cluster", "--name", name, "--output", "json")
    assert deleted.ok, str(deleted)  # the sandbox's node group goes with its cluster
