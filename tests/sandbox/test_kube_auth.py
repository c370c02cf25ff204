"""EKS authentication and authorization of the sandbox's clusters, with real kubectl and aws.

The negative matrix of the issue: each case is a real ``aws eks update-kubeconfig`` (as the
caller, through the sandbox's EKS API) and real kubectl, whose exec plugin runs the real
``aws eks get-token``; the cluster verifies the token as aws-iam-authenticator does, maps the
caller by its authentication mode, and RBAC (or EKS access policies) decides.

Callers are role sessions in the target account: a role trusting the account, assumed by the
account's administrator, so that each case names its own role.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kubetrust import eks_presign, eks_token
from kubetrust.sandbox.eks import clusters as cluster_records
from kubetrust.sandbox.host import pki

from .kubekit import UNAUTHORIZED, Caller, admin_kubectl, aws_auth, session_env, unique

VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


# ---------------------------------------------------------------------------- world


class World:
    """Target-account clusters in each authentication mode, and a way to make callers."""

    def __init__(self, sandbox: Any, aws: Any, base: Path) -> None:
        self.sandbox = sandbox
        self.aws = aws
        self.base = base
        self.account = aws.TARGET
        self.iam = aws.client("iam", account=self.account)
        self.sts = aws.client("sts", account=self.account)
        self.eks = aws.client("eks", account=self.account)
        self.service_role = self._service_role()
        self.config_map = self.cluster("CONFIG_MAP")
        self.both = self.cluster("API_AND_CONFIG_MAP")
        self.api = self.cluster("API")
        self.admins: dict[str, Caller] = {}

    def _service_role(self) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        name = unique("eks-service")
        role = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        return str(role["Role"]["Arn"])

    def cluster(self, mode: str) -> str:
        name = unique(f"kube-{mode.lower().replace('_', '-')}")
        self.eks.create_cluster(
            name=name,
            roleArn=self.service_role,
            resourcesVpcConfig={"subnetIds": []},
            accessConfig={"authenticationMode": mode},
        )
        return name

    def admin(self, cluster: str) -> Caller:
        if cluster not in self.admins:
            self.admins[cluster] = admin_kubectl(self.sandbox, cluster, self.base / unique("adm"))
        return self.admins[cluster]

    def role(self, path: str = "/") -> dict[str, Any]:
        """A role the account's administrator may assume."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        created = self.iam.create_role(
            RoleName=unique("dev"), Path=path, AssumeRolePolicyDocument=json.dumps(trust)
        )
        self.allow_describe(created["Role"]["RoleName"])
        return dict(created["Role"])

    def allow_describe(self, role_name: str) -> None:
        """What ``aws eks update-kubeconfig`` needs (E.5); Kubernetes calls need nothing."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}],
        }
        self.iam.put_role_policy(
            RoleName=role_name, PolicyName="describe", PolicyDocument=json.dumps(policy)
        )

    def session(self, role: dict[str, Any]) -> dict[str, Any]:
        return dict(self.sts.assume_role(RoleArn=role["Arn"], RoleSessionName="dev-session"))

    def caller(self, role: dict[str, Any], cluster: str) -> Caller:
        """kubectl as a session of ``role``, configured by ``aws eks update-kubeconfig``."""
        session = self.session(role)
        caller = Caller(
            self.sandbox.endpoint, self.base / unique("home"), session_env(session["Credentials"])
        )
        caller.update_kubeconfig(cluster)
        return caller

    def map_roles(self, cluster: str, *entries: dict[str, Any]) -> None:
        applied = self.admin(cluster).kubectl("apply", "-f", "-", stdin=aws_auth(list(entries)))
        assert applied.ok, str(applied)


@pytest.fixture(scope="module")
def world(sandbox: Any, aws: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(sandbox, aws, tmp_path_factory.mktemp("kube-auth"))


def forbidden(done: Any, verb: str, resource: str, where: str) -> None:
    assert done.returncode == 1, str(done)
    assert " is forbidden: User " in done.stderr, str(done)
    assert f'cannot {verb} resource "{resource}"' in done.stderr and where in done.stderr, str(done)


# ---------------------------------------------------------------------------- the admin


def test_admin_kubeconfig_is_the_creator(world: World) -> None:
    """CONFIG_MAP: the creator's invisible system:masters (D.3); API modes: its access entry
    with AmazonEKSClusterAdminPolicy, whose username is its ARN (E.1, E.2)."""
    who = world.admin(world.config_map).kubectl("auth", "whoami", "-o", "json")
    assert who.ok, str(who)
    info = who.json()["status"]["userInfo"]
    assert info["username"] == "kubernetes-admin"
    assert "system:masters" in info["groups"]
    for cluster in (world.both, world.api):
        who = world.admin(cluster).kubectl("auth", "whoami", "-o", "json")
        assert who.ok, str(who)
        info = who.json()["status"]["userInfo"]
        assert info["username"] == f"arn:aws:iam::{world.account}:user/admin"
        assert "system:masters" not in info["groups"]
        created = world.admin(cluster).kubectl("create", "namespace", unique("ns"))
        assert created.ok, str(created)


# ---------------------------------------------------------------------------- aws-auth


def test_role_not_mapped_is_unauthorized(world: World) -> None:
    role = world.role()
    caller = world.caller(role, world.config_map)
    done = caller.kubectl("get", "namespaces")
    assert done.returncode == 1 and UNAUTHORIZED in done.stderr, str(done)


def test_mapped_to_system_masters(world: World) -> None:
    role = world.role()
    world.map_roles(
        world.config_map,
        {"rolearn": role["Arn"], "username": "test-user", "groups": ["system:masters"]},
    )
    caller = world.caller(role, world.config_map)
    namespaces = caller.kubectl("get", "namespaces")
    assert namespaces.ok, str(namespaces)
    assert "kube-system" in namespaces.stdout
    who = caller.kubectl("auth", "whoami", "-o", "json").json()["status"]["userInfo"]
    assert who["username"] == "test-user"
    assert who["uid"] == f"aws-iam-authenticator:{world.account}:{role['RoleId']}"
    assert who["extra"]["canonicalArn"] == [role["Arn"]]


def test_view_only_group_can_read_not_create(world: World) -> None:
    role = world.role()
    group = unique("viewers")
    admin = world.admin(world.config_map)
    bound = admin.kubectl(
        "create", "clusterrolebinding", unique("view"), "--clusterrole=view", f"--group={group}"
    )
    assert bound.ok, str(bound)
    world.map_roles(
        world.config_map,
        {"rolearn": role["Arn"], "username": "viewer:{{SessionName}}", "groups": [group]},
    )
    caller = world.caller(role, world.config_map)
    listed = caller.kubectl("get", "pods", "-n", "kube-system")
    assert listed.ok, str(listed)
    created = caller.kubectl("create", "configmap", unique("cm"), "-n", "default")
    forbidden(created, "create", "configmaps", 'in the namespace "default"')
    assert 'User "viewer:dev-session"' in created.stderr
    secrets = caller.kubectl("get", "secrets", "-n", "default")
    forbidden(secrets, "list", "secrets", 'in the namespace "default"')


def test_role_arn_with_a_path_never_matches(world: World) -> None:
    """The canonical ARN of a session has no path, so a mapRoles ARN with one never
    matches (D.3); the same role mapped without its path works."""
    role = world.role(path="/team/ci/")
    assert role["Arn"].endswith(f":role/team/ci/{role['RoleName']}")
    world.map_roles(
        world.config_map,
        {"rolearn": role["Arn"], "username": "pathy", "groups": ["system:masters"]},
    )
    caller = world.caller(role, world.config_map)
    denied = caller.kubectl("get", "namespaces")
    assert denied.returncode == 1 and UNAUTHORIZED in denied.stderr, str(denied)
    pathless = f"arn:aws:iam::{world.account}:role/{role['RoleName']}"
    world.map_roles(
        world.config_map, {"rolearn": pathless, "username": "pathy", "groups": ["system:masters"]}
    )
    allowed = caller.kubectl("get", "namespaces")
    assert allowed.ok, str(allowed)


def test_assumed_role_arn_in_map_roles_never_matches(world: World) -> None:
    role = world.role()
    session_arn = f"arn:aws:sts::{world.account}:assumed-role/{role['RoleName']}/dev-session"
    world.map_roles(
        world.config_map,
        {"rolearn": session_arn, "username": "session", "groups": ["system:masters"]},
    )
    caller = world.caller(role, world.config_map)
    done = caller.kubectl("get", "namespaces")
    assert done.returncode == 1 and UNAUTHORIZED in done.stderr, str(done)


# ---------------------------------------------------------------------------- access entries


def test_access_entry_overrides_aws_auth(world: World) -> None:
    """API_AND_CONFIG_MAP: aws-auth says system:masters, the access entry says view; the
    entry wins (E.1), so reads work and writes are forbidden."""
    role = world.role()
    world.map_roles(
        world.both, {"rolearn": role["Arn"], "username": "masters", "groups": ["system:masters"]}
    )
    world.eks.create_access_entry(clusterName=world.both, principalArn=role["Arn"])
    world.eks.associate_access_policy(
        clusterName=world.both,
        principalArn=role["Arn"],
        policyArn=VIEW,
        accessScope={"type": "cluster"},
    )
    caller = world.caller(role, world.both)
    who = caller.kubectl("auth", "whoami", "-o", "json").json()["status"]["userInfo"]
    session_arn = f"arn:aws:sts::{world.account}:assumed-role/{role['RoleName']}/dev-session"
    assert who["username"] == session_arn
    assert caller.kubectl("get", "namespaces").ok
    created = caller.kubectl("create", "namespace", unique("ns"))
    forbidden(created, "create", "namespaces", "at the cluster scope")


def test_access_policy_namespace_scope(world: World) -> None:
    role = world.role()
    admin = world.admin(world.api)
    inside, outside = unique("dev"), unique("prod")
    for namespace in (inside, outside):
        assert admin.kubectl("create", "namespace", namespace).ok
    world.eks.create_access_entry(clusterName=world.api, principalArn=role["Arn"])
    world.eks.associate_access_policy(
        clusterName=world.api,
        principalArn=role["Arn"],
        policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
        accessScope={"type": "namespace", "namespaces": ["dev-*"]},
    )
    caller = world.caller(role, world.api)
    assert caller.kubectl("create", "configmap", "x", "-n", inside).ok
    forbidden(
        caller.kubectl("create", "configmap", "x", "-n", outside),
        "create",
        "configmaps",
        f'in the namespace "{outside}"',
    )
    forbidden(caller.kubectl("get", "namespaces"), "list", "namespaces", "at the cluster scope")


def test_api_mode_ignores_aws_auth(world: World) -> None:
    role = world.role()
    world.map_roles(
        world.api, {"rolearn": role["Arn"], "username": "masters", "groups": ["system:masters"]}
    )
    caller = world.caller(role, world.api)
    done = caller.kubectl("get", "namespaces")
    assert done.returncode == 1 and UNAUTHORIZED in done.stderr, str(done)


def test_recreated_role_loses_its_access_entry(world: World) -> None:
    """E.3: the entry is bound to the role's unique id; aws-auth (by ARN) is not."""
    role = world.role()
    world.eks.create_access_entry(
        clusterName=world.api, principalArn=role["Arn"], kubernetesGroups=["readers"]
    )
    world.eks.associate_access_policy(
        clusterName=world.api,
        principalArn=role["Arn"],
        policyArn=VIEW,
        accessScope={"type": "cluster"},
    )
    assert world.caller(role, world.api).kubectl("get", "namespaces").ok
    world.iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="describe")
    world.iam.delete_role(RoleName=role["RoleName"])
    again = world.iam.create_role(
        RoleName=role["RoleName"], AssumeRolePolicyDocument=role_trust(world.account)
    )["Role"]
    assert again["RoleId"] != role["RoleId"]
    world.allow_describe(again["RoleName"])
    done = world.caller(again, world.api).kubectl("get", "namespaces")
    assert done.returncode == 1 and UNAUTHORIZED in done.stderr, str(done)


def role_trust(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


# ---------------------------------------------------------------------------- tokens


class Api:
    """Raw HTTPS to a cluster's API server with a bearer token (what kubectl sends)."""

    def __init__(self, sandbox: Any, account: str, cluster: str) -> None:
        record = cluster_records.find(sandbox.state_dir, cluster, account)
        self.endpoint = record.endpoint
        assert sandbox.ca is not None
        self.context = pki.client_ssl_context(sandbox.ca.certificate_pem)

    def get(self, path: str, token: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.endpoint + path)
        request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def masters_session(world: World) -> dict[str, Any]:
    role = world.role()
    world.map_roles(
        world.config_map,
        {"rolearn": role["Arn"], "username": "tokens", "groups": ["system:masters"]},
    )
    return dict(world.session(role)["Credentials"])


def token_for(sandbox: Any, cluster: str, credentials: dict[str, Any]) -> str:
    return eks_presign.presign_with_keys(
        sandbox.endpoint,
        "us-east-1",
        cluster,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def test_good_token_then_tampered_other_cluster_expired(
    sandbox: Any, world: World, masters_session: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Api(sandbox, world.account, world.config_map)
    good = token_for(sandbox, world.config_map, masters_session)
    code, body = api.get("/api/v1/namespaces", good)
    assert code == 200, body
    # another cluster's token: the signed x-k8s-aws-id differs from this cluster's name
    other = token_for(sandbox, world.both, masters_session)
    code, body = api.get("/api/v1/namespaces", other)
    assert code == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized", body
    # tampered: one character of the signature changed
    url = eks_token.decode(good)
    signature = url.rsplit("X-Amz-Signature=", 1)[1][:64]
    flipped = ("0" if signature[10] != "0" else "1").join((signature[:10], signature[11:]))
    tampered = eks_token.encode(url.replace(signature, flipped))
    assert api.get("/api/v1/namespaces", tampered)[0] == 401
    # expired: signed 16 minutes ago (the presigned URL lives 15 minutes, D.2)
    import botocore.auth

    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: past)
    expired = token_for(sandbox, world.config_map, masters_session)
    monkeypatch.undo()
    assert api.get("/api/v1/namespaces", expired)[0] == 401
    assert api.get("/api/v1/namespaces", "k8s-aws-v1.bm90IGEgdXJs")[0] == 401
    assert api.get("/api/v1/namespaces", good)[0] == 200


def test_unknown_keys_and_no_token(sandbox: Any, world: World) -> None:
    api = Api(sandbox, world.account, world.config_map)
    fake = {"AccessKeyId": "ASIAFAKEFAKEFAKEFAKE", "SecretAccessKey": "x" * 40, "SessionToken": "t"}
    assert api.get("/api/v1/namespaces", token_for(sandbox, world.config_map, fake))[0] == 401
    assert api.get("/api/v1/namespaces", "")[0] == 401


def test_deleted_cluster_stops_serving(sandbox: Any, world: World) -> None:
    """``aws eks delete-cluster`` takes the cluster's API server and record with it."""
    name = world.cluster("CONFIG_MAP")
    record = cluster_records.find(sandbox.state_dir, name, world.account)
    assert sandbox.ca is not None
    context = pki.client_ssl_context(sandbox.ca.certificate_pem)
    with urllib.request.urlopen(record.endpoint + "/version", context=context, timeout=10) as up:
        assert up.status == 200
    world.eks.delete_cluster(name=name)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(record.endpoint + "/version", context=context, timeout=5)
    with pytest.raises(Exception, match="no sandbox cluster named"):
        cluster_records.find(sandbox.state_dir, name, world.account)
