"""Asynchronous EKS (reference H.2) through boto3, the aws CLI and kubectl, against a
sandbox of its own whose world file has a ``realism:`` block with small figures.

Clusters made with ``CreateCluster`` are ``CREATING`` before ``ACTIVE``; updates run
``InProgress`` while the cluster is ``UPDATING``; add-ons are ``CREATING`` before
``ACTIVE``; access entries and Pod Identity associations reach the data plane (the
cluster's authenticator, EKS Auth) a little after the API answered. Every wait polls with a
deadline (or is botocore's own waiter with a small delay), never a fixed sleep.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kubetrust import eks_presign
from kubetrust.sandbox.client.access import ClusterClient
from kubetrust.sandbox.eks import clusters
from kubetrust.sandbox.runtime.server import SandboxServer

from .kubekit import Caller, admin_kubectl, unique
from .realismkit import private_sandbox, realism

REGION = "us-east-1"
HOME = "320000000021"
CREATION = 1.5
UPDATE = 1.0
PROPAGATION = 1.0
ADDON = 1.0
MARGIN = 10.0
"""Added to every deadline, for a loaded machine."""
WORLD_CLUSTERS = ("world-updates", "world-entries", "world-pods", "world-addons", "world-mode")
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
POD_AUDIENCE = "pods.eks.amazonaws.com"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    world = {
        "region": REGION,
        "realism": realism(
            eks_cluster_creation_seconds=CREATION,
            eks_update_seconds=UPDATE,
            eks_propagation_seconds=PROPAGATION,
            addon_creation_seconds=ADDON,
        ),
        "accounts": [{"id": HOME, "name": "home", "clusters": list(WORLD_CLUSTERS)}],
    }
    with private_sandbox(tmp_path_factory.mktemp("realism-eks"), world) as server:
        yield server


def _client(sandbox: SandboxServer, service: str, credentials: dict[str, str] | None = None) -> Any:
    if credentials is None:
        key, secret = sandbox.admin_keys[HOME]
        credentials = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    return boto3.session.Session().client(
        service,
        endpoint_url=sandbox.endpoint,
        config=Config(retries={"max_attempts": 1}, region_name=REGION),
        **credentials,
    )


def _refused(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


def _until(check: Callable[[], bool], seconds: float) -> float:
    """Poll ``check`` until true; the seconds it took. Fails after ``seconds`` + margin."""
    started = time.monotonic()
    deadline = started + seconds + MARGIN
    while not check():
        assert time.monotonic() < deadline, "not reached before the deadline"
        time.sleep(0.05)
    return time.monotonic() - started


def _service_role(sandbox: SandboxServer) -> str:
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    iam = _client(sandbox, "iam")
    created = iam.create_role(RoleName=unique("eks-service"), AssumeRolePolicyDocument=trust)
    return str(created["Role"]["Arn"])


def _create_cluster(sandbox: SandboxServer, **extra: Any) -> tuple[str, dict[str, Any], float]:
    name = unique("made")
    started = time.monotonic()
    answer = _client(sandbox, "eks").create_cluster(
        name=name, roleArn=_service_role(sandbox), resourcesVpcConfig={}, **extra
    )
    return name, answer["cluster"], started


def _answers(endpoint: str) -> bool:
    import socket

    port = int(endpoint.rpartition(":")[2])
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------- clusters


def test_world_clusters_are_active_at_once(sandbox: SandboxServer) -> None:
    found = _client(sandbox, "eks").describe_cluster(name="world-updates")["cluster"]
    assert found["status"] == "ACTIVE"
    assert found["endpoint"].startswith("https://127.0.0.1:")
    assert found["identity"]["oidc"]["issuer"]
    assert _answers(found["endpoint"])


def test_created_cluster_is_creating_then_active_through_the_waiter(
    sandbox: SandboxServer,
) -> None:
    eks = _client(sandbox, "eks")
    name, answered, started = _create_cluster(sandbox, accessConfig={"authenticationMode": "API"})
    assert answered["status"] == "CREATING"
    assert "endpoint" not in answered and "identity" not in answered
    assert not answered.get("certificateAuthority", {}).get("data")
    creating = eks.describe_cluster(name=name)["cluster"]
    assert creating["status"] == "CREATING" and "endpoint" not in creating
    record = clusters.find(sandbox.state_dir, name, HOME)
    assert not _answers(record.endpoint)  # its API server is not up yet
    not_active = ("InvalidRequestException", 400, f"Cluster '{name}' is not in ACTIVE status")
    role = _service_role(sandbox)
    assert _refused(lambda: eks.create_access_entry(clusterName=name, principalArn=role)) == (
        not_active
    )
    assert _refused(lambda: eks.create_addon(clusterName=name, addonName="vpc-cni")) == not_active
    associate = lambda: eks.create_pod_identity_association(  # noqa: E731
        clusterName=name, namespace="default", serviceAccount="app", roleArn=role
    )
    assert _refused(associate) == not_active
    version = lambda: eks.update_cluster_version(name=name, version="1.20")  # noqa: E731
    assert _refused(version) == not_active
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": 0.2})
    assert time.monotonic() - started >= CREATION - 0.2
    active = eks.describe_cluster(name=name)["cluster"]
    assert active["status"] == "ACTIVE"
    assert active["endpoint"] == record.endpoint
    assert base64.b64decode(active["certificateAuthority"]["data"]).startswith(b"-----BEGIN")
    assert active["identity"]["oidc"]["issuer"]
    _until(lambda: _answers(record.endpoint), 1.0)
    listed = eks.list_access_entries(clusterName=name)["accessEntries"]
    assert listed == [f"arn:aws:iam::{HOME}:user/admin"]  # the creator's, made with it


def test_aws_cli_sees_creating_and_its_waiter_accepts_active(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    key, secret = sandbox.admin_keys[HOME]
    cli = Caller(
        sandbox.endpoint, tmp_path, {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    )
    name = unique("cli")
    made = cli.aws(
        "eks", "create-cluster", "--name", name, "--role-arn", _service_role(sandbox),
        "--resources-vpc-config", "subnetIds=[]",
    )  # fmt: skip
    assert made.ok, str(made)
    assert made.json()["cluster"]["status"] == "CREATING"
    eks = _client(sandbox, "eks")
    # the CLI's waiter polls every 30 s: let boto3 see ACTIVE first, then the CLI's waiter
    # must accept the cluster at its first poll
    _until(lambda: eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE", CREATION)
    waited = cli.aws("eks", "wait", "cluster-active", "--name", name)
    assert waited.ok, str(waited)
    described = cli.aws("eks", "describe-cluster", "--name", name)
    assert described.ok and described.json()["cluster"]["status"] == "ACTIVE"


# --------------------------------------------------------------------------- updates


def test_version_update_runs_one_at_a_time_and_takes_effect_at_its_end(
    sandbox: SandboxServer,
) -> None:
    eks = _client(sandbox, "eks")
    cluster = "world-updates"
    current = eks.describe_cluster(name=cluster)["cluster"]["version"]
    major, minor = current.split(".")
    skipped = f"{major}.{int(minor) + 2}"
    assert _refused(lambda: eks.update_cluster_version(name=cluster, version=skipped)) == (
        "InvalidParameterException",
        400,
        f"Unsupported Kubernetes minor version update from {current} to {skipped}",
    )
    wanted = f"{major}.{int(minor) + 1}"
    update = eks.update_cluster_version(name=cluster, version=wanted)["update"]
    assert update["status"] == "InProgress" and update["type"] == "VersionUpdate"
    assert {"type": "Version", "value": wanted} in update["params"]
    assert update["errors"] == []
    during = eks.describe_cluster(name=cluster)["cluster"]
    assert during["status"] == "UPDATING" and during["version"] == current
    in_use = f"currently has update {update['id']} in progress"
    logging = {"clusterLogging": [{"types": ["api"], "enabled": True}]}
    second = _refused(lambda: eks.update_cluster_config(name=cluster, logging=logging))
    assert second == (
        "ResourceInUseException",
        409,
        f"Cannot LoggingUpdate because cluster {cluster} {in_use}",
    )
    again = _refused(lambda: eks.update_cluster_version(name=cluster, version=wanted))
    assert again == (
        "ResourceInUseException",
        409,
        f"Cannot VersionUpdate because cluster {cluster} {in_use}",
    )
    described = eks.describe_update(name=cluster, updateId=update["id"])["update"]
    assert described["status"] == "InProgress"
    assert eks.list_updates(name=cluster)["updateIds"] == [update["id"]]
    eks.get_waiter("cluster_active").wait(name=cluster, WaiterConfig={"Delay": 0.2})
    done = eks.describe_update(name=cluster, updateId=update["id"])["update"]
    assert done["status"] == "Successful"
    assert eks.describe_cluster(name=cluster)["cluster"]["version"] == wanted
    logged = eks.update_cluster_config(name=cluster, logging=logging)["update"]
    assert logged["type"] == "LoggingUpdate"
    first = eks.list_updates(name=cluster, maxResults=1)
    assert first["updateIds"] == [update["id"]] and first["nextToken"]
    rest = eks.list_updates(name=cluster, maxResults=1, nextToken=first["nextToken"])
    assert rest["updateIds"] == [logged["id"]] and "nextToken" not in rest
    _until(
        lambda: (
            eks.describe_update(name=cluster, updateId=logged["id"])["update"]["status"]
            == "Successful"
        ),
        UPDATE,
    )
    enabled = eks.describe_cluster(name=cluster)["cluster"]["logging"]["clusterLogging"]
    assert {"types": ["api"], "enabled": True} in enabled


def test_authentication_mode_changes_when_its_update_succeeds(sandbox: SandboxServer) -> None:
    eks = _client(sandbox, "eks")
    cluster = "world-mode"
    before = eks.describe_cluster(name=cluster)["cluster"]["accessConfig"]["authenticationMode"]
    assert before == "API_AND_CONFIG_MAP"
    update = eks.update_cluster_config(name=cluster, accessConfig={"authenticationMode": "API"})
    assert update["update"]["status"] == "InProgress"
    assert sandbox.eks.authentication_mode(HOME, REGION, cluster) == "API_AND_CONFIG_MAP"
    role = _service_role(sandbox)
    entry = _refused(lambda: eks.create_access_entry(clusterName=cluster, principalArn=role))
    assert entry[:2] == ("ResourceInUseException", 409)
    assert entry[2].startswith(f"Cannot CreateAccessEntry because cluster {cluster} currently")
    _until(lambda: sandbox.eks.authentication_mode(HOME, REGION, cluster) == "API", UPDATE)
    status = eks.describe_cluster(name=cluster)["cluster"]["status"]
    assert status == "ACTIVE"
    eks.create_access_entry(clusterName=cluster, principalArn=role)


# --------------------------------------------------------------------------- add-ons


def test_addon_is_creating_then_active_through_the_waiter(sandbox: SandboxServer) -> None:
    eks = _client(sandbox, "eks")
    cluster = "world-addons"
    made = eks.create_addon(clusterName=cluster, addonName="eks-pod-identity-agent")["addon"]
    assert made["status"] == "CREATING"
    assert not sandbox.eks.has_addon(HOME, REGION, cluster, "eks-pod-identity-agent")
    eks.get_waiter("addon_active").wait(
        clusterName=cluster, addonName="eks-pod-identity-agent", WaiterConfig={"Delay": 0.2}
    )
    described = eks.describe_addon(clusterName=cluster, addonName="eks-pod-identity-agent")
    assert described["addon"]["status"] == "ACTIVE"
    assert sandbox.eks.has_addon(HOME, REGION, cluster, "eks-pod-identity-agent")


# --------------------------------------------------------------------------- data plane


def test_access_entry_reaches_the_authenticator_after_the_delay(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    eks = _client(sandbox, "eks")
    cluster = "world-entries"
    described = eks.describe_cluster(name=cluster)["cluster"]
    iam = _client(sandbox, "iam")
    name = unique("viewer")
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "*"}
    )
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
    session = _client(sandbox, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="viewer")
    keys = session["Credentials"]
    token = eks_presign.presign_with_keys(
        sandbox.endpoint,
        REGION,
        cluster,
        keys["AccessKeyId"],
        keys["SecretAccessKey"],
        keys["SessionToken"],
    )
    ca_pem = base64.b64decode(described["certificateAuthority"]["data"])
    client = ClusterClient(described["endpoint"], ca_pem, lambda: token)
    pods = "/api/v1/namespaces/default/pods"
    assert client.call("GET", pods)[0] == 401
    eks.create_access_entry(clusterName=cluster, principalArn=role["Arn"])
    eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role["Arn"],
        policyArn=VIEW_POLICY,
        accessScope={"type": "cluster"},
    )
    written = time.monotonic()
    # the API reads its own write at once; the authenticator does not yet
    assert eks.describe_access_entry(clusterName=cluster, principalArn=role["Arn"])
    assert client.call("GET", pods)[0] == 401
    took = _until(lambda: client.call("GET", pods)[0] == 200, PROPAGATION)
    assert time.monotonic() - written >= PROPAGATION - 0.1 and took > 0
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_pem)
    kubectl = Caller(sandbox.endpoint, tmp_path / "home", {})
    done = kubectl.kubectl(
        "--server", described["endpoint"], "--certificate-authority", str(ca_file),
        "--token", token, "get", "pods", "-n", "default", "-o", "name",
    )  # fmt: skip
    assert done.ok, str(done)


def test_association_reaches_eks_auth_after_the_delay(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    cluster = "world-pods"
    eks = _client(sandbox, "eks")
    iam = _client(sandbox, "iam")
    admin = admin_kubectl(sandbox, cluster, tmp_path)

    def kube(*args: str) -> str:
        done = admin.kubectl(*args)
        assert done.ok, str(done)
        return done.stdout.strip()

    kube("create", "serviceaccount", "app")
    pod = unique("pod")
    overrides = json.dumps({"spec": {"serviceAccountName": "app"}})
    kube("run", pod, "--image=busybox", f"--overrides={overrides}")
    pod_token = kube(
        "create", "token", "app", "--audience", POD_AUDIENCE,
        "--bound-object-kind", "Pod", "--bound-object-name", pod,
    )  # fmt: skip
    pod_trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": POD_AUDIENCE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )
    role = iam.create_role(RoleName=unique("pod-role"), AssumeRolePolicyDocument=pod_trust)
    node_name = unique("node")
    node_trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "*"}
    )
    iam.create_role(RoleName=node_name, AssumeRolePolicyDocument=node_trust)
    allow = _doc(
        {"Effect": "Allow", "Action": "eks-auth:AssumeRoleForPodIdentity", "Resource": "*"}
    )
    iam.put_role_policy(RoleName=node_name, PolicyName="node", PolicyDocument=allow)
    node = _client(sandbox, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{HOME}:role/{node_name}", RoleSessionName="i-1"
    )["Credentials"]
    eks_auth = _client(
        sandbox,
        "eks-auth",
        {
            "aws_access_key_id": node["AccessKeyId"],
            "aws_secret_access_key": node["SecretAccessKey"],
            "aws_session_token": node["SessionToken"],
        },
    )

    def assume() -> Any:
        return eks_auth.assume_role_for_pod_identity(clusterName=cluster, token=pod_token)

    eks.create_pod_identity_association(
        clusterName=cluster, namespace="default", serviceAccount="app", roleArn=role["Role"]["Arn"]
    )
    written = time.monotonic()
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"]
    code, status, _ = _refused(assume)
    assert (code, status) == ("ResourceNotFoundException", 404)

    def assumed() -> bool:
        try:
            assume()
        except ClientError:
            return False
        return True

    _until(assumed, PROPAGATION)
    assert time.monotonic() - written >= PROPAGATION - 0.1


# --------------------------------------------------------------------------- IAM at EKS's door

IAM_DELAY = 2.0
SLOW_IAM_HOME = "320000000022"


@pytest.fixture(scope="module")
def slow_iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A sandbox whose IAM changes reach EKS late (and whose EKS is immediate)."""
    world = {
        "region": REGION,
        "realism": realism(iam_propagation_seconds=IAM_DELAY),
        "accounts": [{"id": SLOW_IAM_HOME, "name": "home", "clusters": ["door"]}],
    }
    with private_sandbox(tmp_path_factory.mktemp("realism-eks-iam"), world) as server:
        yield server


def test_eks_refuses_principals_iam_has_not_propagated_yet(slow_iam: SandboxServer) -> None:
    key, secret = slow_iam.admin_keys[SLOW_IAM_HOME]
    keys = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    eks = _client(slow_iam, "eks", keys)
    iam = _client(slow_iam, "iam", keys)
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": POD_AUDIENCE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )
    role = iam.create_role(RoleName=unique("fresh"), AssumeRolePolicyDocument=trust)["Role"]
    made = time.monotonic()
    entry = lambda: eks.create_access_entry(  # noqa: E731
        clusterName="door", principalArn=role["Arn"]
    )
    association = lambda: eks.create_pod_identity_association(  # noqa: E731
        clusterName="door", namespace="default", serviceAccount="app", roleArn=role["Arn"]
    )
    assert _refused(entry) == (
        "InvalidParameterException",
        400,
        "The specified principalArn is invalid: invalid principal.",
    )
    assert _refused(association) == (
        "InvalidParameterException",
        400,
        "Role provided in the request does not exist",
    )

    def accepted() -> bool:
        try:
            entry()
        except ClientError:
            return False
        return True

    _until(accepted, IAM_DELAY)
    assert time.monotonic() - made >= IAM_DELAY - 0.2
    assert association()["association"]["roleArn"] == role["Arn"]
