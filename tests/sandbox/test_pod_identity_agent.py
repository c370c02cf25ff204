"""EKS Pod Identity's data plane end to end (reference F.2, F.6): an association made with
boto3, the webhook's mutation at pod creation, the Pod Identity Agent over real HTTP, and
``kubetrust sandbox exec`` running the real ``aws`` CLI with no AWS config file at all.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kubetrust.sandbox.eks import pod_identity_agent

from .kubekit import Caller, Done, admin_kubectl, kubetrust

PODS = "pods.eks.amazonaws.com"
AGENT_ADDON = "eks-pod-identity-agent"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": PODS},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}
EKS_AUTH_ERROR = re.compile(r"\[[^\]]*\]: \((?P<code>\w+)\): .*, fault: (?P<fault>client|server)\n")


class World:
    """One cluster of the CI account with an associated service account ``app``."""

    def __init__(self, sandbox: Any, aws: Any, base: Path, *, addon: bool = True) -> None:
        self.sandbox = sandbox
        self.aws = aws
        self.account = aws.CI
        self.cluster = aws.unique("pia")
        self.eks = aws.client("eks", account=self.account)
        iam = aws.client("iam", account=self.account)
        service = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        service_role = iam.create_role(
            RoleName=aws.unique("svc"), AssumeRolePolicyDocument=json.dumps(service)
        )["Role"]["Arn"]
        self.eks.create_cluster(name=self.cluster, roleArn=service_role, resourcesVpcConfig={})
        if addon:  # the agent runs only on clusters with its add-on (reference F.6)
            self.eks.create_addon(clusterName=self.cluster, addonName=AGENT_ADDON)
        self.role_name = aws.unique("app")
        self.role_arn = iam.create_role(
            RoleName=self.role_name, AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        self.admin: Caller = admin_kubectl(sandbox, self.cluster, base / "admin")
        done = self.admin.kubectl("create", "serviceaccount", "app")
        assert done.ok, str(done)
        self.agent = str(sandbox.pod_identity_agent)

    def pod(self, name: str, account: str = "app") -> dict[str, Any]:
        manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "serviceAccountName": account,
                "containers": [{"name": "main", "image": "amazon/aws-cli"}],
            },
        }
        done = self.admin.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        assert done.ok, str(done)
        got = self.admin.kubectl("get", "pod", name, "-o", "json")
        assert got.ok, str(got)
        return dict(json.loads(got.stdout))

    def associate(self, account: str = "app") -> str:
        made = self.eks.create_pod_identity_association(
            clusterName=self.cluster,
            namespace="default",
            serviceAccount=account,
            roleArn=self.role_arn,
        )
        return str(made["association"]["associationId"])

    def token(self, pod: dict[str, Any]) -> str:
        """A token bound to ``pod``, as the kubelet projects it (EKS Auth wants the pod)."""
        metadata = pod["metadata"]
        done = self.admin.kubectl(
            "create",
            "token",
            pod["spec"]["serviceAccountName"],
            "--audience",
            PODS,
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            metadata["name"],
            "--bound-object-uid",
            metadata["uid"],
        )
        assert done.ok, str(done)
        return done.stdout.strip()

    def exec(self, pod: str, *command: str) -> Done:
        return kubetrust(
            "sandbox",
            "exec",
            "--state-dir",
            str(self.sandbox.state_dir),
            "--cluster",
            self.cluster,
            "--pod",
            pod,
            "--",
            *command,
        )

    def path(self) -> str:
        return pod_identity_agent.credentials_path(self.account, self.cluster)


def fetch(
    agent: str, path: str, token: str | None, host: str | None = None
) -> tuple[int, str, str]:
    """GET the agent as botocore does (``Authorization`` verbatim); status, type, body."""
    address = agent.removeprefix("http://")
    connection = http.client.HTTPConnection(address, timeout=30)
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    if host is not None:
        headers["Host"] = host
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        connection.close()


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def world(sandbox: Any, aws: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(sandbox, aws, tmp_path_factory.mktemp("pod-identity"))


@pytest.fixture(scope="module")
def bound(world: World) -> dict[str, Any]:
    """A pod of an associated service account (``bound-sa``), for raw agent calls."""
    done = world.admin.kubectl("create", "serviceaccount", "bound-sa")
    assert done.ok, str(done)
    world.associate("bound-sa")
    return world.pod("bound", "bound-sa")


# ---------------------------------------------------------------------- the agent's checks
def test_only_the_credentials_path_of_a_cluster_is_served(world: World) -> None:
    assert fetch(world.agent, "/v1/credentials", "x")[0::2] == (404, "404 page not found\n")
    assert fetch(world.agent, world.path() + "/more", "x")[0] == 404
    assert fetch(world.agent, world.path(), "x")[0] == 400  # the right path is answered


def test_host_must_be_the_address_the_agent_serves(world: World, bound: dict[str, Any]) -> None:
    status, kind, body = fetch(world.agent, world.path(), world.token(bound), host="169.254.170.23")
    assert status == 403 and kind.startswith("text/plain")
    assert body == (
        "Access Denied. Called agent through invalid address, please use either "
        "[127.0.0.1] address not 169.254.170.23\n"
    )
    assert fetch(world.agent, world.path(), "", host="localhost:80")[0] == 403  # host first


def test_token_must_be_a_current_jwt(world: World) -> None:
    assert fetch(world.agent, world.path(), None)[0::2] == (
        400,
        "Service account token cannot be empty\n",
    )
    assert fetch(world.agent, world.path(), "not-a-jwt")[0::2] == (
        400,
        "Service account token cannot be parsed: token is malformed: "
        "token contains an invalid number of segments\n",
    )
    expired = jwt({"exp": int(time.time()) - 60, "sub": "x"})
    assert fetch(world.agent, world.path(), expired)[0::2] == (
        400,
        "Service account token failed basic claim validations: token is expired\n",
    )
    early = jwt({"exp": int(time.time()) + 600, "nbf": int(time.time()) + 300})
    assert fetch(world.agent, world.path(), early)[0::2] == (
        400,
        "Service account token failed basic claim validations: token is not valid yet\n",
    )


def test_eks_auth_refusal_is_passed_through(world: World) -> None:
    forged = jwt({"exp": int(time.time()) + 600, "sub": "system:serviceaccount:default:app"})
    status, _, body = fetch(world.agent, world.path(), forged)
    found = EKS_AUTH_ERROR.fullmatch(body)
    assert found is not None, body
    assert (status, found["fault"]) == (400, "client"), body


def test_agent_answers_a_cluster_only_while_it_runs_the_addon(
    sandbox: Any, aws: Any, tmp_path: Path
) -> None:
    """Without the add-on nothing listens for the cluster's pods: the connection closes
    with no answer (module doc of the agent, "Only with the add-on")."""
    bare = World(sandbox, aws, tmp_path, addon=False)
    with pytest.raises(http.client.RemoteDisconnected):
        fetch(bare.agent, bare.path(), "")
    bare.eks.create_addon(clusterName=bare.cluster, addonName=AGENT_ADDON)
    assert fetch(bare.agent, bare.path(), "")[0::2] == (
        400,
        "Service account token cannot be empty\n",
    )
    bare.eks.delete_addon(clusterName=bare.cluster, addonName=AGENT_ADDON)
    with pytest.raises(http.client.RemoteDisconnected):
        fetch(bare.agent, bare.path(), "")
    other = aws.client("eks", account=bare.account)
    other.create_addon(clusterName=bare.cluster, addonName="vpc-cni")
    with pytest.raises(http.client.RemoteDisconnected):  # only the agent's add-on counts
        fetch(bare.agent, bare.path(), "")


# ---------------------------------------------------------------------- end to end
def test_pod_gets_the_association_role_through_the_agent(world: World) -> None:
    early = world.pod("early")
    world.associate()
    late = world.pod("late")
    env = {e["name"]: e["value"] for e in late["spec"]["containers"][0]["env"]}
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://169.254.170.23/v1/credentials"
    assert late["metadata"]["labels"]["eks.amazonaws.com/pod-identity"] == "enabled"
    assert "env" not in early["spec"]["containers"][0]  # created before its association

    script = 'test ! -e "$HOME/.aws" && echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI"'
    done = world.exec("late", "sh", "-c", script)
    assert done.ok, str(done)
    assert done.stdout.strip() == world.agent + world.path()
    done = world.exec("late", "aws", "sts", "get-caller-identity", "--output", "json")
    assert done.ok, str(done)
    arn = json.loads(done.stdout)["Arn"]
    prefix = (
        f"arn:aws:sts::{world.account}:assumed-role/{world.role_name}/eks-{world.cluster}-late-"
    )
    assert arn.startswith(prefix), arn

    # no Pod Identity env: the SDK falls back to IMDS, and the node role (hop limit 2)
    done = world.exec("early", "aws", "sts", "get-caller-identity", "--region", "us-east-1")
    assert done.ok, str(done)
    node = pod_identity_agent.instance_id(world.account, world.cluster)
    node_arn = f"arn:aws:sts::{world.account}:assumed-role/{pod_identity_agent.NODE_ROLE}/{node}"
    assert json.loads(done.stdout)["Arn"] == node_arn


def test_agent_answers_the_body_botocore_parses_and_caches_per_token(world: World) -> None:
    account = world.aws.unique("sa")
    done = world.admin.kubectl("create", "serviceaccount", account)
    assert done.ok, str(done)
    association = world.associate(account)
    pod = world.pod(account.replace("sa-", "p-"), account)
    token = world.token(pod)
    status, kind, body = fetch(world.agent, world.path(), token)
    assert (status, kind) == (200, "application/json"), body
    answer = json.loads(body)
    assert set(answer) == {"AccessKeyId", "SecretAccessKey", "Token", "AccountId", "Expiration"}
    assert answer["AccessKeyId"].startswith("ASIA") and answer["AccountId"] == world.account
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", answer["Expiration"])

    world.eks.delete_pod_identity_association(clusterName=world.cluster, associationId=association)
    assert fetch(world.agent, world.path(), token)[0::2] == (200, body)  # cached, as the agent
    status, _, refused = fetch(world.agent, world.path(), world.token(pod))
    found = EKS_AUTH_ERROR.fullmatch(refused)
    assert found is not None and status == 404, (status, refused)
    assert found["code"] == "ResourceNotFoundException"


def test_node_role_without_eks_auth_permission_fails_the_pod(
    world: World, bound: dict[str, Any]
) -> None:
    iam = world.aws.client("iam", account=world.account)
    role = pod_identity_agent.NODE_ROLE
    policy = pod_identity_agent.NODE_POLICY_ARN
    iam.detach_role_policy(RoleName=role, PolicyArn=policy)
    try:
        status, _, body = fetch(world.agent, world.path(), world.token(bound))
    finally:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    found = EKS_AUTH_ERROR.fullmatch(body)
    assert found is not None and found["code"] == "AccessDeniedException", (status, body)
    assert fetch(world.agent, world.path(), world.token(bound))[0] == 200
