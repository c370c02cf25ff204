"""EKS Auth's ``AssumeRoleForPodIdentity`` with boto3's ``eks-auth`` client (reference F.3,
F.4): a node-like role session signs, a pod's token from the cluster's TokenRequest API
(``kubectl create token --audience pods.eks.amazonaws.com --bound-object-kind Pod``) is
exchanged for the association role's (or the target role's) credentials, which then work
at the gate with their session tags; and every refusal with its code and status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from kubetrust.sandbox import oidc

from .kubekit import Caller, admin_kubectl, unique

POD_AUDIENCE = "pods.eks.amazonaws.com"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


POD_TRUST = _doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": POD_AUDIENCE},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)
TAGGED_ACTIONS = _doc(
    {
        "Effect": "Allow",
        "Action": "s3:ListAllMyBuckets",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "default"}},
    },
    {
        "Effect": "Allow",
        "Action": "iam:ListRoles",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "elsewhere"}},
    },
)


@dataclass
class World:
    """One cluster with pods, a node-like caller, and helpers to make associations."""

    aws: Any
    cluster: str
    kubectl: Caller
    node: dict[str, str]
    issuer: oidc.ClusterIssuer

    def pod(self, service_account: str) -> str:
        """A pod of a new service account; returns the pod's name."""
        self.kube("create", "serviceaccount", service_account)
        name = unique("pod")
        overrides = json.dumps({"spec": {"serviceAccountName": service_account}})
        self.kube("run", name, "--image=busybox", f"--overrides={overrides}")
        return name

    def token(self, service_account: str, pod: str | None, audience: str = POD_AUDIENCE) -> str:
        bound = ["--bound-object-kind", "Pod", "--bound-object-name", pod] if pod else []
        return self.kube("create", "token", service_account, "--audience", audience, *bound)

    def kube(self, *args: str) -> str:
        done = self.kubectl.kubectl(*args)
        assert done.ok, str(done)
        return done.stdout.strip()

    def role(self, trust: str = POD_TRUST, policy: str | None = None, account: str = "") -> str:
        iam = self.aws.client("iam", account=account or self.aws.CI)
        name = unique("pod-role")
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
        return str(created["Role"]["Arn"])

    def associate(self, service_account: str, role_arn: str, **extra: Any) -> dict[str, Any]:
        eks = self.aws.client("eks", account=self.aws.CI)
        answer = eks.create_pod_identity_association(
            clusterName=self.cluster,
            namespace="default",
            serviceAccount=service_account,
            roleArn=role_arn,
            **extra,
        )
        return dict(answer["association"])

    def assume(self, token: str, cluster: str = "", caller: dict[str, str] | None = None) -> Any:
        client = self.aws.client("eks-auth", credentials=caller or self.node)
        return client.assume_role_for_pod_identity(clusterName=cluster or self.cluster, token=token)

    def refused(self, call: Callable[[], Any]) -> tuple[str, int, str]:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response
        return (
            error["Error"]["Code"],
            error["ResponseMetadata"]["HTTPStatusCode"],
            error["Error"]["Message"],
        )

    def client_as(self, service: str, credentials: dict[str, Any]) -> Any:
        return self.aws.client(
            service,
            credentials={
                "aws_access_key_id": credentials["accessKeyId"],
                "aws_secret_access_key": credentials["secretAccessKey"],
                "aws_session_token": credentials["sessionToken"],
            },
        )


def _assume_target(target_arn: str) -> str:
    return _doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": target_arn}
    )


def _node_session(aws: Any, actions: str) -> dict[str, str]:
    """A role session of the cluster's account whose policy allows ``actions``: the
    node role the agent signs with."""
    iam = aws.client("iam", account=aws.CI)
    name = unique("node")
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"}, "Action": "*"}
    )
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    policy = _doc({"Effect": "Allow", "Action": actions, "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="node", PolicyDocument=policy)
    sts = aws.client("sts", account=aws.CI)
    answer = sts.assume_role(RoleArn=f"arn:aws:iam::{aws.CI}:role/{name}", RoleSessionName="i-1")
    return dict(aws.session_credentials(answer))


@pytest.fixture(scope="module")
def world(aws: Any, sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    iam = aws.client("iam", account=aws.CI)
    service = unique("eks-service")
    iam.create_role(
        RoleName=service,
        AssumeRolePolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    cluster = unique("podid")
    aws.client("eks", account=aws.CI).create_cluster(
        name=cluster,
        roleArn=f"arn:aws:iam::{aws.CI}:role/{service}",
        resourcesVpcConfig={"subnetIds": []},
        accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
    )
    home: Path = tmp_path_factory.mktemp("eks-auth")
    kubectl = admin_kubectl(sandbox, cluster, home)
    node = _node_session(aws, "eks-auth:AssumeRoleForPodIdentity")
    issuer = sandbox.kube.get(aws.CI, cluster).record.issuer
    return World(aws, cluster, kubectl, node, issuer)


# ---------------------------------------------------------------------- success
def test_pod_gets_the_association_roles_session_with_its_tags(world: World) -> None:
    pod = world.pod("app")
    role_arn = world.role(policy=TAGGED_ACTIONS)
    association = world.associate("app", role_arn)
    pod_token = world.token("app", pod)
    before = time.time()
    answer = world.assume(pod_token)
    after = time.time()
    assert answer["subject"] == {"namespace": "default", "serviceAccount": "app"}
    assert answer["audience"] == POD_AUDIENCE
    assert answer["podIdentityAssociation"] == {
        "associationArn": association["associationArn"],
        "associationId": association["associationId"],
    }
    role_name = role_arn.rsplit("/", 1)[1]
    session = answer["assumedRoleUser"]["arn"]
    prefix = f"arn:aws:sts::{world.aws.CI}:assumed-role/{role_name}/eks-{world.cluster}-{pod}-"
    assert session.startswith(prefix)
    assert answer["assumedRoleUser"]["assumeRoleId"].endswith(":" + session.rsplit("/", 1)[1])
    issued_at = answer["credentials"]["expiration"].timestamp() - 6 * 3600  # six hours
    assert before - 1 <= issued_at <= after + 1  # (whole seconds on the wire)
    creds = answer["credentials"]
    identity = world.client_as("sts", creds).get_caller_identity()
    assert identity["Arn"] == session and identity["Account"] == world.aws.CI
    # the session tags are principal tags: the namespace condition holds, the other not
    world.client_as("s3", creds).list_buckets()
    code, status, _ = world.refused(lambda: world.client_as("iam", creds).list_roles())
    assert (code, status) == ("AccessDenied", 403)


def test_disabled_session_tags_leave_no_principal_tags(world: World) -> None:
    pod = world.pod("untagged")
    world.associate("untagged", world.role(policy=TAGGED_ACTIONS), disableSessionTags=True)
    creds = world.assume(world.token("untagged", pod))["credentials"]
    code, status, _ = world.refused(lambda: world.client_as("s3", creds).list_buckets())
    assert (code, status) == ("AccessDenied", 403)


def test_target_role_in_another_account(world: World) -> None:
    aws = world.aws
    pod = world.pod("cross")
    target_name = unique("target")
    target_arn = f"arn:aws:iam::{aws.TARGET}:role/{target_name}"
    source_arn = world.role(
        policy=_doc(
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Resource": target_arn,
            }
        )
    )
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/kubernetes-namespace": "default",
                    "aws:RequestTag/kubernetes-service-account": "cross",
                },
                "ArnEquals": {"aws:PrincipalARN": source_arn},
            },
        }
    )
    iam_b = aws.client("iam", account=aws.TARGET)
    iam_b.create_role(
        RoleName=target_name, AssumeRolePolicyDocument=trust, MaxSessionDuration=43200
    )
    iam_b.put_role_policy(RoleName=target_name, PolicyName="p", PolicyDocument=TAGGED_ACTIONS)
    world.associate("cross", source_arn, targetRoleArn=target_arn)
    pod_token = world.token("cross", pod)
    before = time.time()
    answer = world.assume(pod_token)
    after = time.time()
    session = answer["assumedRoleUser"]["arn"]
    assert session.startswith(f"arn:aws:sts::{aws.TARGET}:assumed-role/{target_name}/eks-")
    issued_at = answer["credentials"]["expiration"].timestamp() - 3600  # the chaining cap
    assert before - 1 <= issued_at <= after + 1
    creds = answer["credentials"]
    assert world.client_as("sts", creds).get_caller_identity()["Arn"] == session
    world.client_as("s3", creds).list_buckets()  # the transitive tags reached the target

    # the target trust not naming the association role: hop 2 denied
    other_pod = world.pod("cross-other")
    other_source = world.role(
        policy=_doc(
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Resource": target_arn,
            }
        )
    )
    world.associate("cross-other", other_source, targetRoleArn=target_arn)
    code, status, message = world.refused(
        lambda: world.assume(world.token("cross-other", other_pod))
    )
    assert (code, status) == ("AccessDeniedException", 400)
    assert "sts:AssumeRole" in message and target_arn in message


def test_target_hop_needs_tag_session_on_the_association_role(world: World) -> None:
    aws = world.aws
    pod = world.pod("no-tag-session")
    target_arn = world.role(
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
        account=aws.TARGET,
    )
    source = world.role(
        policy=_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target_arn})
    )
    world.associate("no-tag-session", source, targetRoleArn=target_arn)
    code, status, message = world.refused(lambda: world.assume(world.token("no-tag-session", pod)))
    assert (code, status) == ("AccessDeniedException", 400)
    assert "sts:TagSession" in message


# ---------------------------------------------------------------------- refusals
def test_caller_without_the_permission_is_denied(world: World) -> None:
    pod = world.pod("denied-caller")
    world.associate("denied-caller", world.role())
    other = _node_session(world.aws, "eks:DescribeCluster")
    token = world.token("denied-caller", pod)
    code, status, message = world.refused(lambda: world.assume(token, caller=other))
    assert (code, status) == ("AccessDeniedException", 400)
    assert "eks-auth:AssumeRoleForPodIdentity" in message
    assert f":cluster/{world.cluster}" in message


def test_token_refusals(world: World) -> None:
    pod = world.pod("tokens")
    world.associate("tokens", world.role())
    irsa = world.token("tokens", pod, audience="sts.amazonaws.com")
    assert world.refused(lambda: world.assume(irsa))[:2] == ("InvalidTokenException", 400)
    unbound = world.token("tokens", None)
    assert world.refused(lambda: world.assume(unbound))[:2] == ("InvalidTokenException", 400)
    now = int(time.time())
    account_uid = world.kube("get", "serviceaccount", "tokens", "-o", "jsonpath={.metadata.uid}")
    pod_uid = world.kube("get", "pod", pod, "-o", "jsonpath={.metadata.uid}")

    def mint(issuer: oidc.ClusterIssuer, at: int) -> str:
        return issuer.mint_service_account_token(
            namespace="default",
            service_account="tokens",
            service_account_uid=account_uid,
            audiences=[POD_AUDIENCE],
            expiration_seconds=600,
            now=at,
            pod=(pod, pod_uid),
        )

    _, foreign = world.aws.new_issuer()  # another cluster's issuer
    other = mint(foreign, now)
    assert world.refused(lambda: world.assume(other))[:2] == ("InvalidTokenException", 400)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = oidc.ClusterIssuer(world.issuer.issuer_url, key)  # right iss, wrong key
    fake = mint(forged, now)
    assert world.refused(lambda: world.assume(fake))[:2] == ("InvalidTokenException", 400)
    old = mint(world.issuer, now - 3600)
    assert world.refused(lambda: world.assume(old))[:2] == ("ExpiredTokenException", 400)
    fresh = mint(world.issuer, now)
    assert world.assume(fresh)["subject"]["serviceAccount"] == "tokens"  # the control
    code, status, message = world.refused(lambda: world.assume("not-a-token"))
    assert (code, status) == ("InvalidParameterException", 400) and "token" in message


def test_no_association_and_no_cluster(world: World) -> None:
    pod = world.pod("lonely")
    token = world.token("lonely", pod)
    code, status, _ = world.refused(lambda: world.assume(token))
    assert (code, status) == ("ResourceNotFoundException", 404)
    missing = unique("absent")
    code, status, message = world.refused(lambda: world.assume(token, cluster=missing))
    assert (code, status, message) == (
        "ResourceNotFoundException",
        404,
        f"No cluster found for name: {missing}.",
    )


def test_association_role_trust_without_tag_session(world: World) -> None:
    pod = world.pod("trust-changed")
    role_arn = world.role()
    world.associate("trust-changed", role_arn)
    assume_only = _doc(
        {"Effect": "Allow", "Principal": {"Service": POD_AUDIENCE}, "Action": "sts:AssumeRole"}
    )
    world.aws.client("iam", account=world.aws.CI).update_assume_role_policy(
        RoleName=role_arn.rsplit("/", 1)[1], PolicyDocument=assume_only
    )
    code, status, message = world.refused(lambda: world.assume(world.token("trust-changed", pod)))
    assert (code, status) == ("AccessDeniedException", 400)
    assert "EKS does not have permissions to assume the associated role" in message


def test_a_token_outlives_neither_its_pod_nor_its_service_account(world: World) -> None:
    """The cluster's TokenReview refuses a token whose pod or service account is gone or
    was recreated; EKS Auth refuses it alike instead of minting credentials for it."""
    pod = world.pod("short-lived")
    world.associate("short-lived", world.role())
    token = world.token("short-lived", pod)
    assert world.assume(token)["assumedRoleUser"]["arn"]  # while the pod runs
    world.kube("delete", "pod", pod, "--wait=false")
    code, status, message = world.refused(lambda: world.assume(token))
    assert (code, status, message) == (
        "InvalidTokenException",
        400,
        "The service account token has been invalidated",
    )
    # a service account deleted and made again under the same name has another uid
    other = world.pod("recreated")
    world.associate("recreated", world.role())
    kept = world.token("recreated", other)
    world.kube("delete", "serviceaccount", "recreated")
    world.kube("create", "serviceaccount", "recreated")
    assert world.refused(lambda: world.assume(kept))[0] == "InvalidTokenException"
