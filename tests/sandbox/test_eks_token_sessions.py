"""EKS tokens made from an IAM user's temporary credentials, mapped as EKS maps them.

``aws sts get-session-token`` keys are the user itself: GetCallerIdentity answers the user's
ARN and ``AIDA…`` id, so the user's ``mapUsers`` entry or user access entry applies.
``aws sts get-federation-token`` keys are ``arn:aws:sts::ACCT:federated-user/NAME`` with
``UserId`` ``ACCT:NAME``: the authenticator's ``Canonicalize`` leaves that ARN as it is and
keeps the whole ``UserId`` (D.2 steps 15 and 16), so only ``mapAccounts`` (username = the
ARN, no groups) or a ``mapUsers`` entry naming exactly that ARN maps it; the user's own
entry does not. EKS access entries take IAM user and role ARNs only (E.2), so an entry for a
federated user is refused.

Every case is what a user types: the real aws CLI (``get-session-token`` /
``get-federation-token`` with the user's keys, ``eks update-kubeconfig`` with the temporary
keys, whose exec plugin runs ``aws eks get-token``) and real kubectl, each in a private HOME.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from .keykit import cli, code, message, new_user
from .kubekit import UNAUTHORIZED, Caller, admin_kubectl, session_env, unique

DESCRIBE = [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}]
FEDERATE = [*DESCRIBE, {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}]
SESSION_POLICY = json.dumps({"Version": "2012-10-17", "Statement": DESCRIBE})


class World:
    """One user of the target account, and target-account clusters to map it in."""

    def __init__(self, sandbox: Any, aws: Any, base: Path) -> None:
        self.sandbox = sandbox
        self.aws = aws
        self.base = base
        self.account = aws.TARGET
        self.eks = aws.client("eks", account=self.account)
        self.user, self.keys = new_user(aws, self.account, FEDERATE)
        self.service_role = self._service_role()

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
        iam = self.aws.client("iam", account=self.account)
        role = iam.create_role(
            RoleName=unique("eks-svc"), AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(role["Role"]["Arn"])

    def cluster(self, mode: str = "CONFIG_MAP", **data: list[Any]) -> str:
        """A new cluster whose aws-auth holds ``data`` (mapUsers=[...], mapAccounts=[...])."""
        name = unique("tmpkeys")
        self.eks.create_cluster(
            name=name,
            roleArn=self.service_role,
            resourcesVpcConfig={"subnetIds": []},
            accessConfig={"authenticationMode": mode},
        )
        if data and mode != "API":
            manifest = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {key: yaml.safe_dump(value) for key, value in data.items()},
            }
            admin = admin_kubectl(self.sandbox, name, self.base / unique("admin"))
            applied = admin.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
            assert applied.ok, str(applied)
        return name

    def temporary(self, *args: str) -> dict[str, Any]:
        """``aws sts <args>`` with the user's long-term keys; the whole answer."""
        got = cli(self.sandbox, self.base, self.keys, "sts", *args)
        assert got.returncode == 0, str(got)
        return dict(got.json())

    def kubectl_as(self, credentials: dict[str, Any], cluster: str) -> Caller:
        """kubectl with these temporary keys, configured by ``aws eks update-kubeconfig``."""
        caller = Caller(self.sandbox.endpoint, self.base / unique("home"), session_env(credentials))
        caller.update_kubeconfig(cluster)
        return caller


@pytest.fixture(scope="module")
def world(sandbox: Any, aws: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(sandbox, aws, tmp_path_factory.mktemp("eks-token-sessions"))


@pytest.fixture(scope="module")
def session_keys(world: World) -> dict[str, Any]:
    return dict(world.temporary("get-session-token")["Credentials"])


@pytest.fixture(scope="module")
def federated(world: World) -> dict[str, Any]:
    """``get-federation-token --name fed-bob`` whose session policy allows DescribeCluster."""
    return world.temporary("get-federation-token", "--name", "fed-bob", "--policy", SESSION_POLICY)


def whoami(caller: Caller) -> dict[str, Any]:
    done = caller.kubectl("auth", "whoami", "-o", "json")
    assert done.ok, str(done)
    return dict(done.json()["status"]["userInfo"])


def unauthorized(caller: Caller) -> None:
    done = caller.kubectl("auth", "whoami", "-o", "json")
    assert done.returncode == 1 and UNAUTHORIZED in done.stderr, str(done)


# ---------------------------------------------------------------------------- GetSessionToken


def test_session_token_keys_take_the_users_map_users_entry(
    world: World, session_keys: dict[str, Any]
) -> None:
    """The token's GetCallerIdentity is the user itself: its ``mapUsers`` entry applies,
    the UID carries its ``AIDA…`` id and ``accessKeyId`` the temporary ``ASIA…`` key."""
    user = world.user
    cluster = world.cluster(
        mapUsers=[{"userarn": user["Arn"], "username": "alice", "groups": ["dev"]}]
    )
    info = whoami(world.kubectl_as(session_keys, cluster))
    assert info["username"] == "alice"
    assert info["groups"] == ["dev", "system:authenticated"]
    assert info["uid"] == f"aws-iam-authenticator:{world.account}:{user['UserId']}"
    assert info["extra"]["arn"] == [user["Arn"]]
    assert info["extra"]["canonicalArn"] == [user["Arn"]]
    assert info["extra"]["principalId"] == [user["UserId"]]
    assert info["extra"]["accessKeyId"] == [session_keys["AccessKeyId"]]
    assert session_keys["AccessKeyId"].startswith("ASIA")


def test_session_token_keys_not_mapped_are_unauthorized(
    world: World, session_keys: dict[str, Any]
) -> None:
    """A mapping for another user, and another account in ``mapAccounts``, map nobody:
    401, as the authenticator answers ``ErrNotMapped``."""
    user = world.user
    cluster = world.cluster(
        mapUsers=[{"userarn": user["Arn"] + "-other", "username": "x", "groups": ["dev"]}],
        mapAccounts=["111111111111"],
    )
    unauthorized(world.kubectl_as(session_keys, cluster))


def test_session_token_keys_take_the_users_access_entry(
    world: World, session_keys: dict[str, Any]
) -> None:
    """API mode: the user's access entry (bound to its ``AIDA…`` id, E.3) maps its
    GetSessionToken keys, with the entry's username and the entry's access policy."""
    user = world.user
    cluster = world.cluster("API")
    world.eks.create_access_entry(
        clusterName=cluster, principalArn=user["Arn"], username="entry-alice"
    )
    world.eks.associate_access_policy(
        clusterName=cluster,
        principalArn=user["Arn"],
        policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        accessScope={"type": "cluster"},
    )
    caller = world.kubectl_as(session_keys, cluster)
    info = whoami(caller)
    assert info["username"] == "entry-alice"
    assert info["uid"] == f"aws-iam-authenticator:{world.account}:{user['UserId']}"
    listed = caller.kubectl("get", "namespaces")
    assert listed.ok and "kube-system" in listed.stdout, str(listed)
    created = caller.kubectl("create", "namespace", unique("ns"))
    assert created.returncode == 1 and "forbidden" in created.stderr, str(created)


# ---------------------------------------------------------------------------- GetFederationToken


def test_federated_user_is_not_its_users_mapping(world: World, federated: dict[str, Any]) -> None:
    """The user's own ``mapUsers`` entry does not map its federated user: the ARN is
    ``sts … federated-user/NAME``, which ``Canonicalize`` leaves as it is (D.2)."""
    assert federated["FederatedUser"]["Arn"] == (
        f"arn:aws:sts::{world.account}:federated-user/fed-bob"
    )
    cluster = world.cluster(
        mapUsers=[{"userarn": world.user["Arn"], "username": "alice", "groups": ["dev"]}],
        mapRoles=[{"rolearn": world.user["Arn"], "username": "alice", "groups": ["dev"]}],
    )
    unauthorized(world.kubectl_as(federated["Credentials"], cluster))


def test_federated_user_mapped_by_map_accounts(world: World, federated: dict[str, Any]) -> None:
    """``mapAccounts``: the username is the (canonical = raw) federated-user ARN, no groups
    but ``system:authenticated``; the UID keeps the whole ``UserId`` ``ACCT:NAME`` (the
    authenticator keeps it whole for federated users: otherwise it would be the account
    alone, the root user's id)."""
    arn = federated["FederatedUser"]["Arn"]
    cluster = world.cluster(mapAccounts=[world.account])
    info = whoami(world.kubectl_as(federated["Credentials"], cluster))
    assert info["username"] == arn
    assert info["groups"] == ["system:authenticated"]
    assert info["uid"] == f"aws-iam-authenticator:{world.account}:{world.account}:fed-bob"
    assert info["extra"]["arn"] == [arn]
    assert info["extra"]["canonicalArn"] == [arn]
    assert info["extra"]["principalId"] == [f"{world.account}:fed-bob"]


def test_federated_user_mapped_by_its_exact_arn_in_map_users(
    world: World, federated: dict[str, Any]
) -> None:
    """A ``mapUsers`` entry naming the federated-user ARN (compared ignoring case) maps it;
    ``{{SessionName}}`` renders empty (a federated user has no session name)."""
    arn = federated["FederatedUser"]["Arn"]
    cluster = world.cluster(
        mapUsers=[{"userarn": arn.upper().replace("ARN:AWS:STS", "arn:aws:sts"),
                   "username": "fed:{{AccountID}}:{{SessionName}}", "groups": ["feds"]}],
    )  # fmt: skip
    info = whoami(world.kubectl_as(federated["Credentials"], cluster))
    assert info["username"] == f"fed:{world.account}:"
    assert info["groups"] == ["feds", "system:authenticated"]


def test_federated_user_in_another_account_is_not_mapped_by_this_accounts_listing(
    world: World, federated: dict[str, Any]
) -> None:
    cluster = world.cluster(mapAccounts=["111111111111"])
    unauthorized(world.kubectl_as(federated["Credentials"], cluster))


def test_federated_user_is_not_mapped_by_the_users_access_entry(
    world: World, federated: dict[str, Any]
) -> None:
    """API mode: the user's access entry names ``iam … user/NAME``; the federated caller's
    canonical ARN is its ``sts`` ARN, so no entry is its entry."""
    cluster = world.cluster("API")
    world.eks.create_access_entry(clusterName=cluster, principalArn=world.user["Arn"])
    unauthorized(world.kubectl_as(federated["Credentials"], cluster))


@pytest.mark.parametrize("mode", ["API", "API_AND_CONFIG_MAP"])
def test_access_entry_for_a_federated_user_is_refused(
    world: World, federated: dict[str, Any], mode: str
) -> None:
    """E.2: access entries take IAM user and role ARNs; a federated-user ARN is not one, in
    any case spelling, and no entry is stored."""
    arn = federated["FederatedUser"]["Arn"]
    cluster = world.cluster(mode)
    for principal in (arn, arn.replace("federated-user", "Federated-User")):
        with pytest.raises(ClientError) as refused:
            world.eks.create_access_entry(clusterName=cluster, principalArn=principal)
        assert code(refused) == "InvalidParameterException"
        assert message(refused) == "The specified principalArn is invalid: invalid principal."
    listed = world.eks.list_access_entries(clusterName=cluster)["accessEntries"]
    assert all("federated-user" not in entry.lower() for entry in listed)


# ---------------------------------------------------------------------------- siblings


def test_creators_session_token_keys_keep_the_creators_masters(world: World) -> None:
    """CONFIG_MAP: the creator's invisible ``system:masters`` follows its ARN and unique
    id, which GetSessionToken keys keep; its federated users are other principals."""
    admin_keys = dict(zip(("aws_access_key_id", "aws_secret_access_key"),
                          world.sandbox.admin_keys[world.account], strict=True))  # fmt: skip
    cluster = world.cluster()
    got = cli(world.sandbox, world.base, admin_keys, "sts", "get-session-token")
    assert got.returncode == 0, str(got)
    info = whoami(world.kubectl_as(got.json()["Credentials"], cluster))
    assert info["username"] == "kubernetes-admin"
    assert "system:masters" in info["groups"]


def test_session_token_keys_of_a_user_with_a_path(world: World) -> None:
    """A user's ARN keeps its path in GetCallerIdentity and in canonicalization (only role
    ARNs lose theirs, D.2): ``mapUsers`` must name it with the path, and the user's access
    entry (whose generated username is the ARN with its path, E.2) maps it."""
    iam = world.aws.client("iam", account=world.account)
    name = unique("pathuser")
    user = iam.create_user(UserName=name, Path="/team/")["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    keys = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    iam.put_user_policy(
        UserName=name,
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": DESCRIBE}),
    )
    got = cli(world.sandbox, world.base, keys, "sts", "get-session-token")
    assert got.returncode == 0, str(got)
    session = got.json()["Credentials"]
    pathless = user["Arn"].replace(":user/team/", ":user/")
    without = world.cluster(mapUsers=[{"userarn": pathless, "username": "u", "groups": ["g"]}])
    unauthorized(world.kubectl_as(session, without))
    with_path = world.cluster(mapUsers=[{"userarn": user["Arn"], "username": "u", "groups": ["g"]}])
    assert whoami(world.kubectl_as(session, with_path))["username"] == "u"
    api = world.cluster("API")
    world.eks.create_access_entry(clusterName=api, principalArn=user["Arn"])
    info = whoami(world.kubectl_as(session, api))
    assert info["username"] == user["Arn"]
    assert info["extra"]["canonicalArn"] == [user["Arn"]]
