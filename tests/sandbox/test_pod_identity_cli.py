"""EKS Pod Identity as a user follows AWS's documentation, with the real ``aws`` CLI and
``kubectl`` only (reference F): the agent add-on, the association role with the user
guide's trust, an association with ``--target-role-arn`` into another account, pods made
with ``kubectl apply``, and ``kubetrust sandbox exec ... -- aws sts get-caller-identity``
with no AWS config file at all. Then every way it breaks, with what botocore prints, and
``aws eks-auth assume-role-for-pod-identity`` signed with and without the permission.

Every CLI and kubectl run has a private HOME and only the environment it names
(tests/sandbox/kubekit.py); the pod's run has only what ``sandbox exec`` gives it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust.sandbox.eks.pod_identity_agent import instance_id

from .kubekit import Caller, Done, admin_env, admin_kubectl, kubetrust, unique

PODS = "pods.eks.amazonaws.com"
AGENT_ADDON = "eks-pod-identity-agent"
NODE_ROLE = "AmazonEKSNodeRole"
NODE_POLICY = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
CONTAINER_ROLE = (
    "Error when retrieving credentials from container-role: Error retrieving metadata: "
)
"""botocore's ``CredentialRetrievalError`` over its ``MetadataRetrievalError``."""
AGENT_ERROR = re.compile(
    r"Received non 200 response (?P<status>\d+) from container metadata: "
    r"\[[^\]]*\]: \((?P<code>\w+)\): (?P<message>.*), fault: client"
)
"""botocore's non-200 text around the agent's ``HandleCredentialFetchingError`` body."""
UNMUTATED_REGION = ("--region", "us-east-1")
"""An unmutated pod has no ``AWS_REGION`` either (the webhook adds it with the rest)."""
CLIENT_ERROR_EXIT = 255
"""The aws CLI v1's exit code for a service error (v2 uses 254)."""
HOP_ONE_DENIED = (
    "Unauthorized Exception! EKS does not have permissions to assume the associated role."
)

USER_GUIDE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": PODS},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}
"""The association role's trust, as the EKS user guide's ``pod-id-role`` page gives it."""


def target_trust(
    source_role: str, actions: list[str] | None = None, condition: Any = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": source_role},
        "Action": actions or ["sts:AssumeRole", "sts:TagSession"],
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


class Guide:
    """A cluster of the CI account, set up with the CLI as the EKS user guide does, and
    the administrators of both accounts (CLI with a private HOME; kubectl as admin)."""

    def __init__(self, sandbox: Any, aws: Any, base: Path) -> None:
        self.sandbox = sandbox
        self.aws = aws
        self.source = aws.CI
        self.target_account = aws.TARGET
        self.admin = Caller(sandbox.endpoint, base / "ci", admin_env(sandbox, self.source))
        self.target_admin = Caller(
            sandbox.endpoint, base / "target", admin_env(sandbox, self.target_account)
        )
        self.cluster = self.new_cluster(base, addon=True)
        self.kube = admin_kubectl(sandbox, self.cluster, base / "kube")
        self.role_name = unique("pod-identity")
        self.role_arn = self.create_role(self.role_name, USER_GUIDE_TRUST)
        self.target_name = unique("target")

    # -------------------------------------------------------------- the aws CLI
    def cli(self, *args: str, caller: Caller | None = None) -> Done:
        done = (caller or self.admin).aws(*args, "--output", "json")
        assert done.ok, str(done)
        return done

    def new_cluster(self, base: Path, *, addon: bool) -> str:
        name = unique("pid")
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
        role = self.create_role(unique("cluster"), service)
        self.cli(
            "eks",
            "create-cluster",
            "--name",
            name,
            "--role-arn",
            role,
            "--resources-vpc-config",
            "subnetIds=subnet-1,subnet-2",
        )
        if addon:
            made = self.cli(
                "eks", "create-addon", "--cluster-name", name, "--addon-name", AGENT_ADDON
            )
            assert made.json()["addon"]["addonName"] == AGENT_ADDON
        return name

    def create_role(self, name: str, trust: dict[str, Any], caller: Caller | None = None) -> str:
        done = self.cli(
            "iam",
            "create-role",
            "--role-name",
            name,
            "--assume-role-policy-document",
            json.dumps(trust),
            caller=caller,
        )
        return str(done.json()["Role"]["Arn"])

    def target_role(self, trust: dict[str, Any]) -> tuple[str, str]:
        """A role of the target account with ``trust``, which the association role's
        policy may assume (both actions, as the user guide's ``pod-id-assign-target-role``)."""
        name = unique("target")
        arn = self.create_role(name, trust, caller=self.target_admin)
        self.allow_source_to_assume(arn)
        return name, arn

    def allow_source_to_assume(self, target_arn: str, role: str | None = None) -> None:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Resource": target_arn,
                }
            ],
        }
        self.cli(
            "iam",
            "put-role-policy",
            "--role-name",
            role or self.role_name,
            "--policy-name",
            unique("assume"),
            "--policy-document",
            json.dumps(policy),
        )

    def associate(
        self,
        service_account: str,
        *extra: str,
        cluster: str | None = None,
        role_arn: str | None = None,
    ) -> dict[str, Any]:
        done = self.cli(
            "eks",
            "create-pod-identity-association",
            "--cluster-name",
            cluster or self.cluster,
            "--namespace",
            "default",
            "--service-account",
            service_account,
            "--role-arn",
            role_arn or self.role_arn,
            *extra,
        )
        return dict(done.json()["association"])

    # -------------------------------------------------------------- kubectl
    def service_account(self, kube: Caller | None = None) -> str:
        name = unique("sa")
        manifest = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        self.apply(manifest, kube)
        return name

    def apply(self, manifest: dict[str, Any], kube: Caller | None = None) -> None:
        done = (kube or self.kube).kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        assert done.ok, str(done)

    def pod(self, service_account: str, kube: Caller | None = None) -> str:
        name = unique("pod")
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {
                    "serviceAccountName": service_account,
                    "containers": [{"name": "app", "image": "amazon/aws-cli"}],
                },
            },
            kube,
        )
        return name

    def deployment_pod(self, service_account: str) -> str:
        """The pod of a one-replica Deployment (made by the cluster's controllers)."""
        name = unique("deploy")
        labels = {"app": name}
        self.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": service_account,
                            "containers": [{"name": "app", "image": "amazon/aws-cli"}],
                        },
                    },
                },
            }
        )
        done = self.kube.kubectl(
            "wait", "--for=create", "pod", "-l", f"app={name}", "--timeout=30s"
        )
        assert done.ok, str(done)
        pods = self.kube.kubectl("get", "pods", "-l", f"app={name}", "-o", "json")
        assert pods.ok, str(pods)
        items = pods.json()["items"]
        assert len(items) == 1, items
        return str(items[0]["metadata"]["name"])

    # -------------------------------------------------------------- in the pod
    def exec(self, pod: str, *command: str, cluster: str | None = None) -> Done:
        return kubetrust(
            "sandbox",
            "exec",
            "--state-dir",
            str(self.sandbox.state_dir),
            "--cluster",
            cluster or self.cluster,
            "--pod",
            pod,
            "--",
            *command,
        )

    def caller_identity(self, pod: str, cluster: str | None = None, *extra: str) -> Done:
        command = ("aws", "sts", "get-caller-identity", "--output", "json", *extra)
        return self.exec(pod, *command, cluster=cluster)


@pytest.fixture(scope="module")
def guide(sandbox: Any, aws: Any, tmp_path_factory: pytest.TempPathFactory) -> Guide:
    return Guide(sandbox, aws, tmp_path_factory.mktemp("pod-identity-cli"))


def refused(done: Done) -> re.Match[str]:
    """The agent's refusal as the CLI prints it (exit 255: a credential provider failed)."""
    assert done.returncode == 255, str(done)
    assert CONTAINER_ROLE in done.stderr, str(done)
    found = AGENT_ERROR.search(done.stderr)
    assert found is not None, str(done)
    return found


def expiration_seen_by_the_pod(guide: Guide, pod: str) -> dt.datetime:
    """What the pod's SDK reads from the agent: the credentials' ``Expiration``."""
    script = (
        "import json, os, urllib.request as u\n"
        "token = open(os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']).read()\n"
        "ask = u.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'],"
        " headers={'Authorization': token})\n"
        "print(json.load(u.urlopen(ask))['Expiration'])\n"
    )
    done = guide.exec(pod, sys.executable, "-c", script)
    assert done.ok, str(done)
    return dt.datetime.fromisoformat(done.stdout.strip().replace("Z", "+00:00"))


# ---------------------------------------------------------------------- it works
def test_target_role_reaches_the_pod_with_no_aws_config(guide: Guide) -> None:
    target_name, target_arn = guide.target_role(target_trust(guide.role_arn))
    account = guide.service_account()
    association = guide.associate(account, "--target-role-arn", target_arn)
    assert association["targetRoleArn"] == target_arn
    pod = guide.pod(account)

    script = (
        'ls -A "$HOME"; env | grep -E "^AWS_(CONFIG_FILE|SHARED_CREDENTIALS_FILE|PROFILE|'
        'ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)=";'
        ' aws sts get-caller-identity --output json && ls -A "$HOME"'
    )
    done = guide.exec(pod, "sh", "-c", script)
    assert done.ok, str(done)
    identity = json.loads(done.stdout)  # nothing printed before or after: HOME stays empty
    assert identity["Account"] == guide.target_account
    prefix = f"arn:aws:sts::{guide.target_account}:assumed-role/{target_name}/"
    assert identity["Arn"].startswith(prefix + f"eks-{guide.cluster}-{pod}"[:64]), identity

    left = expiration_seen_by_the_pod(guide, pod) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=55) < left <= dt.timedelta(hours=1), left  # chaining cap


def test_without_target_role_the_pod_is_the_association_role(guide: Guide) -> None:
    account = guide.service_account()
    association = guide.associate(account)
    assert "targetRoleArn" not in association and "externalId" not in association
    pod = guide.deployment_pod(account)
    done = guide.caller_identity(pod)
    assert done.ok, str(done)
    arn = json.loads(done.stdout)["Arn"]
    assert arn.startswith(f"arn:aws:sts::{guide.source}:assumed-role/{guide.role_name}/eks-")
    left = expiration_seen_by_the_pod(guide, pod) - dt.datetime.now(dt.UTC)
    assert left > dt.timedelta(hours=5), left  # six hours without a target role


def test_deployment_pod_gets_the_target_role(guide: Guide) -> None:
    target_name, target_arn = guide.target_role(target_trust(guide.role_arn))
    account = guide.service_account()
    guide.associate(account, "--target-role-arn", target_arn)
    done = guide.caller_identity(guide.deployment_pod(account))
    assert done.ok, str(done)
    arn = json.loads(done.stdout)["Arn"]
    assert arn.startswith(f"arn:aws:sts::{guide.target_account}:assumed-role/{target_name}/")


# ---------------------------------------------------------------------- it breaks
def node_role_session(guide: Guide) -> str:
    """What an unmutated pod is on EKS: the node's instance role through IMDS (hop limit
    2, the sandbox's default; reference H.5), never the association's role."""
    node = instance_id(guide.source, guide.cluster)
    return f"arn:aws:sts::{guide.source}:assumed-role/{NODE_ROLE}/{node}"


def test_no_association_leaves_the_pod_with_the_node_role(guide: Guide) -> None:
    pod = guide.pod(guide.service_account())
    done = guide.caller_identity(pod, None, *UNMUTATED_REGION)
    assert done.ok and done.json()["Arn"] == node_role_session(guide), str(done)


def test_pod_created_before_its_association_gets_only_the_node_role(guide: Guide) -> None:
    account = guide.service_account()
    early = guide.pod(account)
    guide.associate(account)
    done = guide.caller_identity(early, None, *UNMUTATED_REGION)
    assert done.ok and done.json()["Arn"] == node_role_session(guide), str(done)
    recreated = guide.caller_identity(guide.pod(account))  # recreated, it is the role's
    assert recreated.ok, str(recreated)
    assert f":assumed-role/{guide.role_name}/" in recreated.json()["Arn"], str(recreated)


def test_cluster_without_the_agent_addon_cannot_fetch(guide: Guide, tmp_path: Path) -> None:
    """The webhook mutates the pod anyway (EKS-hosted), but nothing answers at the
    agent's address: botocore's three attempts end with a closed connection."""
    cluster = guide.new_cluster(tmp_path, addon=False)
    kube = admin_kubectl(guide.sandbox, cluster, tmp_path / "kube")
    account = guide.service_account(kube)
    guide.associate(account, cluster=cluster)
    pod = guide.pod(account, kube)
    done = guide.caller_identity(pod, cluster)
    assert done.returncode == 255, str(done)
    assert (
        CONTAINER_ROLE + "Received error when attempting to retrieve container metadata: "
        in done.stderr
    ), str(done)
    assert "Connection was closed before we received a valid response" in done.stderr, str(done)

    guide.cli("eks", "create-addon", "--cluster-name", cluster, "--addon-name", AGENT_ADDON)
    assert guide.caller_identity(pod, cluster).ok
    guide.cli("eks", "delete-addon", "--cluster-name", cluster, "--addon-name", AGENT_ADDON)
    assert guide.caller_identity(pod, cluster).returncode == 255


def test_node_role_without_the_eks_auth_permission(guide: Guide) -> None:
    account = guide.service_account()
    guide.associate(account)
    pod = guide.pod(account)
    detach = ("--role-name", NODE_ROLE, "--policy-arn", NODE_POLICY)
    guide.cli("iam", "detach-role-policy", *detach)
    try:
        done = guide.caller_identity(pod)
    finally:
        guide.cli("iam", "attach-role-policy", *detach)
    found = refused(done)
    assert (found["status"], found["code"]) == ("400", "AccessDeniedException"), str(done)
    assert re.fullmatch(
        rf"User: arn:aws:sts::{guide.source}:assumed-role/{NODE_ROLE}/i-\w+ is not "
        rf"authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: "
        rf"arn:aws:eks:us-east-1:{guide.source}:cluster/{guide.cluster}.*",
        found["message"],
    ), found["message"]
    assert guide.caller_identity(pod).ok  # attached again: a new token, fetched anew


def test_association_role_trust_without_tag_session(guide: Guide) -> None:
    """EKS refuses the association for such a trust; a trust changed afterwards fails
    hop 1 at run time."""
    name = unique("pod-identity")
    arn = guide.create_role(name, USER_GUIDE_TRUST)
    account = guide.service_account()
    guide.associate(account, role_arn=arn)
    untagged = json.loads(json.dumps(USER_GUIDE_TRUST))
    untagged["Statement"][0]["Action"] = "sts:AssumeRole"
    done = guide.admin.aws(
        "eks",
        "create-pod-identity-association",
        "--cluster-name",
        guide.cluster,
        "--namespace",
        "default",
        "--service-account",
        guide.service_account(),
        "--role-arn",
        guide.create_role(unique("untagged"), untagged),
    )
    assert done.returncode == CLIENT_ERROR_EXIT, str(done)
    assert (
        "An error occurred (InvalidParameterException) when calling the "
        "CreatePodIdentityAssociation operation: Trust policy of the role provided is invalid"
    ) in done.stderr, str(done)

    guide.cli(
        "iam",
        "update-assume-role-policy",
        "--role-name",
        name,
        "--policy-document",
        json.dumps(untagged),
    )
    found = refused(guide.caller_identity(guide.pod(account)))
    assert (found["code"], found["message"]) == ("AccessDeniedException", HOP_ONE_DENIED)


def test_target_trust_without_tag_session(guide: Guide) -> None:
    _, target_arn = guide.target_role(target_trust(guide.role_arn, ["sts:AssumeRole"]))
    account = guide.service_account()
    guide.associate(account, "--target-role-arn", target_arn)
    found = refused(guide.caller_identity(guide.pod(account)))
    assert found["code"] == "AccessDeniedException"
    assert re.fullmatch(
        rf"User: arn:aws:sts::{guide.source}:assumed-role/{guide.role_name}/eks-\S+ is not "
        rf"authorized to perform: sts:TagSession on resource: {re.escape(target_arn)}",
        found["message"],
    ), found["message"]


def test_target_trust_not_naming_the_association_role(guide: Guide) -> None:
    other = guide.create_role(unique("other"), USER_GUIDE_TRUST)
    _, target_arn = guide.target_role(target_trust(other))
    account = guide.service_account()
    guide.associate(account, "--target-role-arn", target_arn)
    found = refused(guide.caller_identity(guide.pod(account)))
    assert found["code"] == "AccessDeniedException"
    assert found["message"].endswith(f"sts:AssumeRole on resource: {target_arn}"), found


def test_disabled_session_tags_against_a_tag_conditioned_trust(guide: Guide) -> None:
    """The user guide's tags-on target trust (``aws:RequestTag`` conditions): with
    ``--disable-session-tags`` there are no tags to match, and hop 2 is denied; with tags
    on, the same trust admits the pod (the conditions hold)."""

    def conditioned(account: str) -> dict[str, Any]:
        return {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": (
                    f"arn:aws:eks:us-east-1:{guide.source}:cluster/{guide.cluster}"
                ),
                "aws:RequestTag/kubernetes-namespace": "default",
                "aws:RequestTag/kubernetes-service-account": account,
            }
        }

    untagged = guide.service_account()
    _, target_arn = guide.target_role(target_trust(guide.role_arn, None, conditioned(untagged)))
    guide.associate(untagged, "--target-role-arn", target_arn, "--disable-session-tags")
    found = refused(guide.caller_identity(guide.pod(untagged)))
    assert found["code"] == "AccessDeniedException"
    assert found["message"].endswith(f"sts:AssumeRole on resource: {target_arn}"), found

    tagged = guide.service_account()
    name, target_arn = guide.target_role(target_trust(guide.role_arn, None, conditioned(tagged)))
    guide.associate(tagged, "--target-role-arn", target_arn)
    done = guide.caller_identity(guide.pod(tagged))
    assert done.ok, str(done)
    assert f":assumed-role/{name}/" in json.loads(done.stdout)["Arn"]


def test_token_of_another_cluster_is_refused(guide: Guide, tmp_path: Path) -> None:
    """A pod of another cluster (its own association, same service account name) asks
    this cluster's agent: EKS Auth refuses the token."""
    cluster = guide.new_cluster(tmp_path, addon=True)
    kube = admin_kubectl(guide.sandbox, cluster, tmp_path / "kube")
    account = guide.service_account(kube)
    guide.associate(account, cluster=cluster)
    guide.associate(account)  # here too: only the token is foreign
    pod = guide.pod(account, kube)
    assert guide.caller_identity(pod, cluster).ok  # its own cluster's agent answers
    here = guide.sandbox.pod_identity_agent + f"/clusters/{guide.source}/{guide.cluster}"
    script = (
        f'AWS_CONTAINER_CREDENTIALS_FULL_URI="{here}/v1/credentials" aws sts get-caller-identity'
    )
    found = refused(guide.exec(pod, "sh", "-c", script, cluster=cluster))
    assert (found["status"], found["code"]) == ("400", "InvalidTokenException"), found[0]


# ---------------------------------------------------------------------- EKS Auth by hand
@pytest.fixture
def pod_token(guide: Guide) -> Iterator[str]:
    """A token of a pod of an associated service account, as the kubelet projects it."""
    account = guide.service_account()
    guide.associate(account)
    pod = guide.pod(account)
    got = guide.kube.kubectl("get", "pod", pod, "-o", "json")
    assert got.ok, str(got)
    uid = got.json()["metadata"]["uid"]
    done = guide.kube.kubectl(
        "create",
        "token",
        account,
        "--audience",
        PODS,
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        pod,
        "--bound-object-uid",
        uid,
    )
    assert done.ok, str(done)
    yield done.stdout.strip()


def test_eks_auth_from_the_cli_needs_the_permission(
    guide: Guide, pod_token: str, tmp_path: Path
) -> None:
    """Signed by an EKS administrator without ``eks-auth:AssumeRoleForPodIdentity``:
    refused; signed by a node role (``AmazonEKSWorkerNodePolicy``): the pod's session."""
    account_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{guide.source}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    admin_name = unique("eks-admin")
    guide.create_role(admin_name, account_trust)
    everything_eks = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}],
    }
    guide.cli(
        "iam",
        "put-role-policy",
        "--role-name",
        admin_name,
        "--policy-name",
        "eks",
        "--policy-document",
        json.dumps(everything_eks),
    )
    node_name = unique("node")
    guide.create_role(node_name, account_trust)
    guide.cli("iam", "attach-role-policy", "--role-name", node_name, "--policy-arn", NODE_POLICY)

    def as_role(name: str) -> Caller:
        got = guide.cli(
            "sts",
            "assume-role",
            "--role-arn",
            f"arn:aws:iam::{guide.source}:role/{name}",
            "--role-session-name",
            "cli",
        ).json()["Credentials"]
        return Caller(
            guide.sandbox.endpoint,
            tmp_path / name,
            {
                "AWS_ACCESS_KEY_ID": got["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": got["SecretAccessKey"],
                "AWS_SESSION_TOKEN": got["SessionToken"],
            },
        )

    call = (
        "eks-auth",
        "assume-role-for-pod-identity",
        "--cluster-name",
        guide.cluster,
        "--token",
        pod_token,
        "--output",
        "json",
    )
    done = as_role(admin_name).aws(*call)
    assert done.returncode == CLIENT_ERROR_EXIT, str(done)
    assert (
        "An error occurred (AccessDeniedException) when calling the AssumeRoleForPodIdentity "
        f"operation: User: arn:aws:sts::{guide.source}:assumed-role/{admin_name}/cli is not "
        "authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: "
        f"arn:aws:eks:us-east-1:{guide.source}:cluster/{guide.cluster}"
    ) in done.stderr, str(done)

    done = as_role(node_name).aws(*call)
    assert done.ok, str(done)
    answer = done.json()
    assert answer["audience"] == PODS
    assert answer["assumedRoleUser"]["arn"].startswith(
        f"arn:aws:sts::{guide.source}:assumed-role/{guide.role_name}/eks-{guide.cluster}-"
    )
    assert answer["credentials"]["accessKeyId"].startswith("ASIA")


# ---------------------------------------------------------------------- session tags on AssumeRole
def test_request_tag_condition_on_assume_role_and_tag_session(aws: Any) -> None:
    """``aws sts assume-role --tags Key=k,Value=v`` into a role whose one trust statement
    grants ``sts:AssumeRole`` and ``sts:TagSession`` under ``aws:RequestTag/k``: both
    checks see the tag (one call, one context), so the matching value is admitted and
    any other value, or none, refused."""
    iam = aws.client("iam", account=aws.TARGET)
    role = unique("tagged")
    trust = target_trust(
        f"arn:aws:iam::{aws.CI}:root",
        condition={"StringEquals": {"aws:RequestTag/team": "blue"}},
    )
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sts = aws.client("sts", account=aws.CI)

    def assume(**extra: Any) -> Any:
        return sts.assume_role(RoleArn=arn, RoleSessionName="tagged", **extra)

    made = assume(Tags=[{"Key": "team", "Value": "blue"}])
    assert made["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{role}/tagged")
    for extra in ({"Tags": [{"Key": "team", "Value": "red"}]}, {}):
        with pytest.raises(ClientError) as denied:
            assume(**extra)
        error = denied.value.response["Error"]
        assert error["Code"] == "AccessDenied", error
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "is not authorized to perform: sts:AssumeRole on resource" in error["Message"]


def test_request_tag_condition_on_get_federation_token(aws: Any) -> None:
    """The same for ``GetFederationToken`` (the caller's own policy decides both checks)."""
    iam = aws.client("iam", account=aws.CI)
    user = unique("federator")
    iam.create_user(UserName=user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:GetFederationToken", "sts:TagSession"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
            }
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="federate", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = aws.client(
        "sts",
        credentials={
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        },
    )
    made = sts.get_federation_token(Name="blue", Tags=[{"Key": "team", "Value": "blue"}])
    assert made["FederatedUser"]["Arn"].endswith(":federated-user/blue")
    for extra in ({"Tags": [{"Key": "team", "Value": "red"}]}, {}):
        with pytest.raises(ClientError) as denied:
            sts.get_federation_token(Name="red", **extra)
        error = denied.value.response["Error"]
        assert error["Code"] == "AccessDenied", error
        assert "sts:GetFederationToken" in error["Message"], error
