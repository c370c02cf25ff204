"""Two sandboxes in one process, each enforcing its own world.

moto's backends are process-global and keyed by account, so two sandboxes share a process
only with disjoint accounts (the server's module doc): each claims its accounts at start,
and a third whose accounts overlap a running one's fails before it writes anything. Both
worlds below hold a role ``app`` and a cluster ``shared`` under the same names, so any state
one sandbox read from the other would show. Clients are the real ones: boto3, the aws CLI
and kubectl, each in a private HOME.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kubetrust.sandbox.aws import state
from kubetrust.sandbox.runtime.server import CA_FILE, SandboxServer
from kubetrust.sandbox.world import Account, RoleSpec, World

from .kubekit import UNAUTHORIZED, Caller, admin_env, unique

REGION = "us-east-1"
A_ACCOUNTS = ("333333333333", "444444444444")
B_ACCOUNTS = ("555555555555", "666666666666")
CLUSTER = "shared"
ROLE = "app"


def _world(accounts: tuple[str, str]) -> World:
    home, other = accounts
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{home}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return World(
        region=REGION,
        accounts=(
            Account(home, "home", roles=(RoleSpec(ROLE, trust),), clusters=(CLUSTER,)),
            Account(other, "other"),
        ),
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, SandboxServer]]:
    first = SandboxServer(tmp_path_factory.mktemp("sandbox-a"), _world(A_ACCOUNTS))
    second = SandboxServer(tmp_path_factory.mktemp("sandbox-b"), _world(B_ACCOUNTS))
    with first, second:
        yield first, second


def _client(sandbox: SandboxServer, service: str, keys: tuple[str, str]) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=sandbox.endpoint,
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        config=Config(retries={"max_attempts": 1}, region_name=REGION),
    )


def _admin(sandbox: SandboxServer, service: str, account: str) -> Any:
    return _client(sandbox, service, sandbox.admin_keys[account])


def _code(refused: pytest.ExceptionInfo[ClientError]) -> str:
    return str(refused.value.response["Error"]["Code"])


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------- AWS side


def test_each_sandbox_knows_only_its_own_keys(pair: tuple[SandboxServer, SandboxServer]) -> None:
    first, second = pair
    for sandbox, own in ((first, A_ACCOUNTS[0]), (second, B_ACCOUNTS[0])):
        found = _admin(sandbox, "sts", own).get_caller_identity()
        assert found["Account"] == own
    for sandbox, foreign in (
        (first, second.admin_keys[B_ACCOUNTS[0]]),
        (second, first.admin_keys[A_ACCOUNTS[0]]),
    ):
        with pytest.raises(ClientError) as refused:
            _client(sandbox, "sts", foreign).get_caller_identity()
        assert _code(refused) == "InvalidClientTokenId"


def test_a_role_of_one_is_neither_seen_nor_assumed_from_the_other(
    pair: tuple[SandboxServer, SandboxServer],
) -> None:
    first, second = pair
    a_role = _admin(first, "iam", A_ACCOUNTS[0]).get_role(RoleName=ROLE)["Role"]
    b_role = _admin(second, "iam", B_ACCOUNTS[0]).get_role(RoleName=ROLE)["Role"]
    assert a_role["Arn"] == f"arn:aws:iam::{A_ACCOUNTS[0]}:role/{ROLE}"
    assert b_role["Arn"] == f"arn:aws:iam::{B_ACCOUNTS[0]}:role/{ROLE}"
    assert a_role["RoleId"] != b_role["RoleId"]
    made = unique("only-in-a")
    _admin(first, "iam", A_ACCOUNTS[0]).create_role(
        RoleName=made, AssumeRolePolicyDocument=json.dumps(_trust_of(A_ACCOUNTS[0]))
    )
    with pytest.raises(ClientError) as unseen:
        _admin(second, "iam", B_ACCOUNTS[0]).get_role(RoleName=made)
    assert _code(unseen) == "NoSuchEntity"
    assumed = _admin(first, "sts", A_ACCOUNTS[0]).assume_role(
        RoleArn=a_role["Arn"], RoleSessionName="home"
    )
    assert assumed["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{A_ACCOUNTS[0]}:")
    with pytest.raises(ClientError) as denied:
        _admin(second, "sts", B_ACCOUNTS[0]).assume_role(
            RoleArn=a_role["Arn"], RoleSessionName="stranger"
        )
    assert _code(denied) == "AccessDenied"
    session = assumed["Credentials"]
    with pytest.raises(ClientError) as unknown:  # A's session keys mean nothing to B
        boto3.session.Session().client(
            "sts",
            endpoint_url=second.endpoint,
            aws_access_key_id=session["AccessKeyId"],
            aws_secret_access_key=session["SecretAccessKey"],
            aws_session_token=session["SessionToken"],
            config=Config(retries={"max_attempts": 1}, region_name=REGION),
        ).get_caller_identity()
    assert _code(unknown) == "InvalidClientTokenId"


def _trust_of(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


# --------------------------------------------------------------------------- EKS side


def test_clusters_of_one_name_are_two_clusters_each_served_by_its_sandbox(
    pair: tuple[SandboxServer, SandboxServer],
) -> None:
    first, second = pair
    a = _admin(first, "eks", A_ACCOUNTS[0]).describe_cluster(name=CLUSTER)["cluster"]
    b = _admin(second, "eks", B_ACCOUNTS[0]).describe_cluster(name=CLUSTER)["cluster"]
    assert a["arn"].split(":")[4] == A_ACCOUNTS[0] and b["arn"].split(":")[4] == B_ACCOUNTS[0]
    assert a["endpoint"] != b["endpoint"]
    assert a["identity"]["oidc"]["issuer"].startswith(first.issuer_base + "/id/")
    assert b["identity"]["oidc"]["issuer"].startswith(second.issuer_base + "/id/")
    assert first.kube is not None and second.kube is not None
    assert first.kube.get(A_ACCOUNTS[0], CLUSTER) is not None
    assert first.kube.get(B_ACCOUNTS[0], CLUSTER) is None
    assert second.kube.get(A_ACCOUNTS[0], CLUSTER) is None
    with pytest.raises(ClientError) as unseen:  # B's other account has no such cluster
        _admin(second, "eks", B_ACCOUNTS[1]).describe_cluster(name=CLUSTER)
    assert _code(unseen) == "ResourceNotFoundException"


def test_a_cluster_created_through_the_api_belongs_to_its_sandbox(
    pair: tuple[SandboxServer, SandboxServer],
) -> None:
    first, second = pair
    eks = _admin(second, "eks", B_ACCOUNTS[1])
    iam = _admin(second, "iam", B_ACCOUNTS[1])
    service = iam.create_role(
        RoleName=unique("eks-svc"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "eks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    name = unique("made")
    made = eks.create_cluster(
        name=name,
        roleArn=service,
        resourcesVpcConfig={"subnetIds": []},
        accessConfig={"authenticationMode": "API"},
    )["cluster"]
    served = second.kube.get(B_ACCOUNTS[1], name) if second.kube else None
    assert served is not None and made["endpoint"] == served.endpoint
    assert made["identity"]["oidc"]["issuer"].startswith(second.issuer_base + "/id/")
    assert made["accessConfig"]["authenticationMode"] == "API"
    admin = f"arn:aws:iam::{B_ACCOUNTS[1]}:user/admin"
    assert eks.list_access_entries(clusterName=name)["accessEntries"] == [admin]
    assert first.kube is not None and first.kube.get(B_ACCOUNTS[1], name) is None


def test_an_access_entry_in_one_is_not_in_the_other(
    pair: tuple[SandboxServer, SandboxServer],
) -> None:
    first, second = pair
    role = f"arn:aws:iam::{A_ACCOUNTS[0]}:role/{ROLE}"
    _admin(first, "eks", A_ACCOUNTS[0]).create_access_entry(clusterName=CLUSTER, principalArn=role)
    a_entries = _admin(first, "eks", A_ACCOUNTS[0]).list_access_entries(clusterName=CLUSTER)
    b_entries = _admin(second, "eks", B_ACCOUNTS[0]).list_access_entries(clusterName=CLUSTER)
    assert role in a_entries["accessEntries"]
    assert b_entries["accessEntries"] == [f"arn:aws:iam::{B_ACCOUNTS[0]}:user/admin"]
    found = first.eks.resolve(A_ACCOUNTS[0], REGION, CLUSTER, role, _role_id(first))
    assert found is not None
    assert second.eks.resolve(A_ACCOUNTS[0], REGION, CLUSTER, role, _role_id(first)) is None


def _role_id(sandbox: SandboxServer) -> str:
    found = _admin(sandbox, "iam", A_ACCOUNTS[0]).get_role(RoleName=ROLE)
    return str(found["Role"]["RoleId"])


def _token(sandbox: SandboxServer, keys: dict[str, str], home: Path) -> str:
    """``aws eks get-token`` for cluster ``shared`` against ``sandbox``'s STS endpoint."""
    done = Caller(sandbox.endpoint, home, keys).aws("eks", "get-token", "--cluster-name", CLUSTER)
    assert done.ok, str(done)
    return str(json.loads(done.stdout)["status"]["token"])


def _namespaces(sandbox: SandboxServer, account: str, token: str, home: Path) -> Any:
    """kubectl with a static token against ``sandbox``'s cluster ``shared``."""
    assert sandbox.kube is not None
    served = sandbox.kube.get(account, CLUSTER)
    assert served is not None
    caller = Caller(sandbox.endpoint, home, {})
    return caller.kubectl(
        f"--server={served.endpoint}",
        f"--certificate-authority={sandbox.state_dir / CA_FILE}",
        f"--token={token}",
        "get",
        "namespaces",
        "-o",
        "name",
    )


def test_eks_tokens_of_one_are_refused_by_the_others_cluster(
    pair: tuple[SandboxServer, SandboxServer], tmp_path: Path
) -> None:
    first, second = pair
    a_keys = admin_env(first, A_ACCOUNTS[0])
    b_keys = admin_env(second, B_ACCOUNTS[0])
    own = _namespaces(
        second, B_ACCOUNTS[0], _token(second, b_keys, tmp_path / "b"), tmp_path / "k1"
    )
    assert own.ok and "namespace/kube-system" in own.stdout, str(own)
    for token in (
        _token(first, a_keys, tmp_path / "a"),  # A's token, for A's STS endpoint
        _token(second, a_keys, tmp_path / "a2"),  # A's keys, presigned for B's endpoint
    ):
        refused = _namespaces(second, B_ACCOUNTS[0], token, tmp_path / unique("k"))
        assert not refused.ok and UNAUTHORIZED in refused.stderr, str(refused)
    own_a = _namespaces(
        first, A_ACCOUNTS[0], _token(first, a_keys, tmp_path / "a3"), tmp_path / "k2"
    )
    assert own_a.ok and "namespace/kube-system" in own_a.stdout, str(own_a)


# --------------------------------------------------------------------------- accounts


def test_a_sandbox_whose_accounts_overlap_a_running_one_does_not_start(
    pair: tuple[SandboxServer, SandboxServer], tmp_path: Path
) -> None:
    first, _ = pair
    fresh = "777777777777"
    overlapping = World(
        region=REGION,
        accounts=(Account(fresh, "fresh"), Account(A_ACCOUNTS[1], "taken", clusters=("x",))),
    )
    third = SandboxServer(tmp_path / "third", overlapping)
    with pytest.raises(state.AccountsInUse, match=A_ACCOUNTS[1]):
        third.start()
    assert state.user_arn(fresh, state.ADMIN_USER) is None  # it wrote nothing to moto
    assert (
        not third.issuers.by_id
        and third.kube is not None
        and third.kube.get(A_ACCOUNTS[1], "x") is None
    )
    found = _admin(first, "sts", A_ACCOUNTS[1]).get_caller_identity()  # A is untouched
    assert found["Account"] == A_ACCOUNTS[1]
    with pytest.raises(ClientError) as unseen:
        _admin(first, "eks", A_ACCOUNTS[1]).describe_cluster(name="x")
    assert _code(unseen) == "ResourceNotFoundException"


def test_both_stop_cleanly_and_give_their_accounts_back(
    pair: tuple[SandboxServer, SandboxServer], tmp_path: Path
) -> None:
    """Runs last in this module: it stops the module's sandboxes."""
    ports = []
    for sandbox, account in zip(pair, (A_ACCOUNTS[0], B_ACCOUNTS[0]), strict=True):
        assert sandbox.kube is not None
        served = sandbox.kube.get(account, CLUSTER)
        assert served is not None
        ports += [
            int(sandbox.endpoint.rpartition(":")[2]),
            int(sandbox.issuer_base.rpartition(":")[2]),
            int(served.endpoint.rpartition(":")[2]),
        ]
    assert all(_answers(port) for port in ports)
    for sandbox in pair:
        sandbox.stop()
    assert not any(_answers(port) for port in ports)
    again = SandboxServer(
        tmp_path / "again", World(region=REGION, accounts=(Account(A_ACCOUNTS[1], "again"),))
    )
    with again:
        found = _admin(again, "sts", A_ACCOUNTS[1]).get_caller_identity()
        assert found["Account"] == A_ACCOUNTS[1]
