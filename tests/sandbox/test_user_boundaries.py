"""IAM users' permissions boundaries bind them in the sandbox as in AWS.

moto ignored ``CreateUser``'s ``PermissionsBoundary`` and has no
``PutUserPermissionsBoundary``/``DeleteUserPermissionsBoundary``: a user created with a
boundary acted with none, allowed where AWS denies (a fail-open), and explain, which
applies the boundary a snapshot shows, disagreed with the sandbox. Here: the boundary
limits the user's own calls and its GetSessionToken/GetFederationToken sessions, put and
delete toggle it, ``GetUser`` shows it and ``ListUsers`` does not, IAM's refusals of a bad
boundary, ``DeletePolicy`` of a boundary, and explain's verdicts on a bounded user equal
the sandbox's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust import policy
from kubetrust.adapters.snapshot import SnapshotOptions, take_snapshot
from kubetrust.chain.graph import EdgeJudge
from kubetrust.chain.topology_parties import TopologyDirectory
from kubetrust.explain import bundle
from kubetrust.sandbox.aws import identity

from .explainkit import Builder
from .keykit import ALLOW_ALL, cli, code, document, keys_of, message

INSIDE = "s3:ListAllMyBuckets"  # what every boundary here allows
OUTSIDE = "eks:ListClusters"  # what the users' identity policies allow and no boundary does
BOUNDARY = [
    {
        "Effect": "Allow",
        "Action": [INSIDE, "sts:GetSessionToken", "sts:GetFederationToken"],
        "Resource": "*",
    }
]


def _boundary(aws: Any, account: str, statements: list[dict[str, Any]] = BOUNDARY) -> str:
    iam = aws.client("iam", account=account)
    made = iam.create_policy(PolicyName=aws.unique("boundary"), PolicyDocument=document(statements))
    return str(made["Policy"]["Arn"])


def _user(
    aws: Any, account: str, boundary: str | None = None, statements: list[Any] = ALLOW_ALL
) -> tuple[dict[str, Any], dict[str, str]]:
    """A user allowed ``statements`` by an inline policy, created with ``boundary``, and
    one access key."""
    iam = aws.client("iam", account=account)
    name = aws.unique("bounded")
    extra = {"PermissionsBoundary": boundary} if boundary else {}
    user = iam.create_user(UserName=name, **extra)["User"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _calls(aws: Any, keys: dict[str, str]) -> dict[str, str]:
    """``ok`` or the error code of one call inside the boundaries and one outside."""
    found = {}
    for action, call in (
        (INSIDE, lambda: aws.client("s3", credentials=keys).list_buckets()),
        (OUTSIDE, lambda: aws.client("eks", credentials=keys).list_clusters()),
    ):
        try:
            call()
            found[action] = "ok"
        except ClientError as error:
            found[action] = str(error.response["Error"]["Code"])
    return found


BOUNDED = {INSIDE: "ok", OUTSIDE: "AccessDeniedException"}  # EKS's code
UNBOUNDED = {INSIDE: "ok", OUTSIDE: "ok"}


# ---------------------------------------------------------------------- enforcement


def test_a_boundary_set_at_creation_limits_the_users_calls(aws: Any) -> None:
    """The identity policy allows everything; the boundary does not allow OUTSIDE."""
    boundary = _boundary(aws, aws.CI)
    _, keys = _user(aws, aws.CI, boundary)
    assert _calls(aws, keys) == BOUNDED
    with pytest.raises(ClientError) as denied:
        aws.client("eks", credentials=keys).list_clusters()
    assert "permissions boundary" in message(denied)


def test_put_and_delete_toggle_the_boundary(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    boundary = _boundary(aws, aws.CI)
    user, keys = _user(aws, aws.CI)
    assert _calls(aws, keys) == UNBOUNDED
    assert "PermissionsBoundary" not in iam.get_user(UserName=user["UserName"])["User"]
    iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=boundary)
    assert _calls(aws, keys) == BOUNDED
    assert iam.get_user(UserName=user["UserName"])["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    iam.delete_user_permissions_boundary(UserName=user["UserName"])
    assert _calls(aws, keys) == UNBOUNDED
    assert "PermissionsBoundary" not in iam.get_user(UserName=user["UserName"])["User"]
    iam.delete_user_permissions_boundary(UserName=user["UserName"])  # none: still succeeds


def test_a_boundary_can_be_replaced_and_an_aws_managed_policy_is_one(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, keys = _user(aws, aws.CI, _boundary(aws, aws.CI))
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"  # allows eks:List*, s3:List*
    iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=read_only)
    assert _calls(aws, keys) == UNBOUNDED
    with pytest.raises(ClientError) as denied:  # outside ReadOnlyAccess
        aws.client("iam", credentials=keys).create_user(UserName=aws.unique("nope"))
    assert code(denied) == "AccessDenied"


def test_the_users_sessions_are_bound_by_its_boundary(aws: Any) -> None:
    """GetSessionToken and GetFederationToken sessions of the user: the user's boundary
    applies (a federated user's permissions are its user's, intersected with its session
    policy, which allows everything here)."""
    _, keys = _user(aws, aws.CI, _boundary(aws, aws.CI))
    sts = aws.client("sts", credentials=keys)
    session = keys_of(sts.get_session_token()["Credentials"])
    assert _calls(aws, session) == BOUNDED
    federated = sts.get_federation_token(Name="fed", Policy=document(ALLOW_ALL))
    assert _calls(aws, keys_of(federated["Credentials"])) == BOUNDED


def test_a_boundary_change_applies_to_existing_sessions(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, keys = _user(aws, aws.CI)
    session = keys_of(aws.client("sts", credentials=keys).get_session_token()["Credentials"])
    assert _calls(aws, session) == UNBOUNDED
    boundary = _boundary(aws, aws.CI)
    iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=boundary)
    assert _calls(aws, session) == BOUNDED


def test_the_aws_cli_creates_a_bounded_user(aws: Any, sandbox: Any, tmp_path: Path) -> None:
    admin_key, admin_secret = sandbox.admin_keys[aws.CI]
    admin = {"aws_access_key_id": admin_key, "aws_secret_access_key": admin_secret}
    boundary = _boundary(aws, aws.CI)
    name = aws.unique("cli-bounded")
    made = cli(
        sandbox, tmp_path, admin, "iam", "create-user", "--user-name", name,
        "--permissions-boundary", boundary,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        boundary
    )
    shown = cli(sandbox, tmp_path, admin, "iam", "get-user", "--user-name", name)
    assert json.loads(shown.stdout)["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    iam = aws.client("iam", account=aws.CI)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(ALLOW_ALL))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    assert cli(sandbox, tmp_path, user, "s3api", "list-buckets").returncode == 0
    denied = cli(sandbox, tmp_path, user, "eks", "list-clusters")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr, denied.stderr
    removed = cli(
        sandbox, tmp_path, admin, "iam", "delete-user-permissions-boundary", "--user-name", name
    )
    assert removed.returncode == 0, removed.stderr
    assert cli(sandbox, tmp_path, user, "eks", "list-clusters").returncode == 0


# ---------------------------------------------------------------------- what IAM shows


def test_list_users_does_not_show_the_boundary(aws: Any) -> None:
    """ListUsers API reference: it does not return PermissionsBoundary; GetUser does, and
    so does GetAccountAuthorizationDetails (what a snapshot reads)."""
    iam = aws.client("iam", account=aws.CI)
    boundary = _boundary(aws, aws.CI)
    user, _ = _user(aws, aws.CI, boundary)
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary  # CreateUser
    listed = aws.listed(iam, "list_users", "Users")
    assert "PermissionsBoundary" not in next(u for u in listed if u["UserId"] == user["UserId"])
    details = aws.listed(
        iam, "get_account_authorization_details", "UserDetailList", Filter=["User"]
    )
    detail = next(u for u in details if u["UserId"] == user["UserId"])
    assert detail["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert detail["UserPolicyList"][0]["PolicyName"] == "p"  # the rest as moto wrote it


# ---------------------------------------------------------------------- IAM's refusals


def test_a_boundary_naming_no_policy_is_refused_and_nothing_is_created(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("nobound")
    missing = f"arn:aws:iam::{aws.CI}:policy/{aws.unique('missing')}"
    with pytest.raises(ClientError) as refused:
        iam.create_user(UserName=name, PermissionsBoundary=missing)
    assert code(refused) == "NoSuchEntity"
    assert message(refused) == f"Scope ARN: {missing} does not exist or is not attachable."
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName=name)
    assert code(gone) == "NoSuchEntity"


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:iam::{account}:role/not-a-policy",
        "arn:aws:s3:::not-an-iam-policy-at-all",
        "not an ARN but long enough",
    ],
)
def test_a_boundary_that_is_not_a_managed_policy_is_invalid_input(aws: Any, bad: str) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, _ = _user(aws, aws.CI)
    value = bad.format(account=aws.CI)
    with pytest.raises(ClientError) as refused:
        iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=value)
    assert code(refused) == "InvalidInput"
    assert message(refused) == f"ARN {value} is not valid."
    assert "PermissionsBoundary" not in iam.get_user(UserName=user["UserName"])["User"]


def test_another_accounts_policy_is_no_boundary(aws: Any) -> None:
    foreign = _boundary(aws, aws.TARGET)
    iam = aws.client("iam", account=aws.CI)
    with pytest.raises(ClientError) as refused:
        iam.create_user(UserName=aws.unique("foreign"), PermissionsBoundary=foreign)
    assert code(refused) == "NoSuchEntity"


def test_boundary_calls_on_a_missing_user_are_no_such_entity(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("ghost")
    boundary = _boundary(aws, aws.CI)
    for call in (
        lambda: iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary),
        lambda: iam.delete_user_permissions_boundary(UserName=name),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "NoSuchEntity"
        assert message(refused) == f"The user with name {name} cannot be found."


def test_a_role_boundary_naming_no_policy_is_refused(aws: Any) -> None:
    """The same rule for roles (moto checked the ARN's pattern only)."""
    iam = aws.client("iam", account=aws.CI)
    missing = f"arn:aws:iam::{aws.CI}:policy/{aws.unique('missing')}"
    trust = document(
        [{"Effect": "Allow", "Principal": {"AWS": aws.CI}, "Action": "sts:AssumeRole"}]
    )
    with pytest.raises(ClientError) as refused:
        iam.create_role(
            RoleName=aws.unique("r"), AssumeRolePolicyDocument=trust, PermissionsBoundary=missing
        )
    assert code(refused) == "NoSuchEntity"


def test_the_policy_of_a_boundary_cannot_be_deleted(aws: Any) -> None:
    """IAM answers DeleteConflict while a user or a role has the policy as its boundary
    (moto counted attachments only: the boundary's users and roles went unbounded)."""
    iam = aws.client("iam", account=aws.CI)
    boundary = _boundary(aws, aws.CI)
    user, _ = _user(aws, aws.CI, boundary)
    trust = document(
        [{"Effect": "Allow", "Principal": {"AWS": aws.CI}, "Action": "sts:AssumeRole"}]
    )
    role = aws.unique("bounded-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
    for release in (
        lambda: iam.delete_user_permissions_boundary(UserName=user["UserName"]),
        lambda: iam.delete_role_permissions_boundary(RoleName=role),
    ):
        with pytest.raises(ClientError) as refused:
            iam.delete_policy(PolicyArn=boundary)
        assert code(refused) == "DeleteConflict"
        assert message(refused) == "Cannot delete a policy attached to entities."
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        release()
    iam.delete_policy(PolicyArn=boundary)


def test_deleting_the_user_drops_its_boundary(aws: Any) -> None:
    """The user's boundary goes with it: its policy can be deleted, and a user created
    again under the same name has none."""
    iam = aws.client("iam", account=aws.CI)
    boundary = _boundary(aws, aws.CI)
    name = aws.unique("gone")
    iam.create_user(UserName=name, PermissionsBoundary=boundary)
    iam.delete_user(UserName=name)
    again = iam.create_user(UserName=name)["User"]
    assert "PermissionsBoundary" not in again
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    iam.delete_policy(PolicyArn=boundary)


def test_a_renamed_user_keeps_its_boundary(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    boundary = _boundary(aws, aws.CI)
    user, keys = _user(aws, aws.CI, boundary)
    renamed = aws.unique("renamed")
    iam.update_user(UserName=user["UserName"], NewUserName=renamed)
    assert iam.get_user(UserName=renamed)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert _calls(aws, keys) == BOUNDED


# ---------------------------------------------------------------------- explain agrees

ASSUME = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
ALLOW_STS = [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]
DENY_ASSUME = [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"},
]
AGREEMENT = {
    # case → (the user's boundary statements or None, whom the role's trust names: the
    # account or the user itself, AssumeRole allowed?). A trust naming the IAM user grants
    # it in its own account whatever its boundary leaves implicitly denied (reference A.1
    # step 5); one naming the account leaves the decision to the user's side.
    "account-trust-boundary-allows": (ALLOW_STS, "account", True),
    "account-trust-boundary-without-assume-role": (BOUNDARY, "account", False),
    "account-trust-boundary-denies": (DENY_ASSUME, "account", False),
    "account-trust-no-boundary": (None, "account", True),
    "user-trust-boundary-without-assume-role": (BOUNDARY, "user", True),
    "user-trust-boundary-denies": (DENY_ASSUME, "user", False),
}


def test_explain_and_the_sandbox_agree_on_bounded_users(
    aws: Any, sandbox: Any, tmp_path: Path
) -> None:
    """Each case's user (identity policy: sts:AssumeRole anywhere) assumes a role whose
    trust names it or its account, for real; explain judges the same edge (its access
    graph's :class:`EdgeJudge`) on a bundle snapshotted from the sandbox. Both directories
    hold the same policies and boundary for the user."""
    iam = aws.client("iam", account=aws.CI)
    built = {}
    for case, (statements, trusted, _) in AGREEMENT.items():
        boundary = _boundary(aws, aws.CI, statements) if statements else None
        user, keys = _user(aws, aws.CI, boundary, ASSUME)
        principal = user["Arn"] if trusted == "user" else f"arn:aws:iam::{aws.CI}:root"
        trust = [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]
        role = iam.create_role(
            RoleName=aws.unique("trusts-user"), AssumeRolePolicyDocument=document(trust)
        )["Role"]
        built[case] = (user, keys, role)
    out = tmp_path / "bundle"
    result = take_snapshot(
        [Builder(sandbox).access(aws.CI)], out, SnapshotOptions(kubernetes=False)
    )
    assert not result.warnings, result.warnings
    topology = bundle.load_bundle([out])
    judge = EdgeJudge(topology)
    live = identity.SandboxDirectory(sandbox.world, sandbox.user_boundaries)
    for case, (user, keys, role) in built.items():
        try:
            aws.client("sts", credentials=keys).assume_role(
                RoleArn=role["Arn"], RoleSessionName="agree"
            )
            real = True
        except ClientError as error:
            assert str(error.response["Error"]["Code"]) == "AccessDenied", error
            real = False
        exported_user, exported_role = topology.user(user["Arn"]), topology.role(role["Arn"])
        assert exported_user is not None and exported_role is not None, case
        explained = judge.judge(exported_user, exported_role).allowed
        assert (real, explained) == (AGREEMENT[case][2],) * 2, case
        held = live.holder_policies(identity.Holder(identity.USER, aws.CI, user["UserId"]))
        exported = TopologyDirectory(topology).holder_policies(exported_user)
        assert held is not None
        for kind in ("identity", "boundaries"):
            assert _statements(getattr(held, kind)) == _statements(getattr(exported, kind)), (
                case,
                kind,
            )


def _statements(documents: Any) -> list[str]:
    parsed = [
        d
        if isinstance(d, policy.PolicyDocument)
        else policy.parse_policy(d, policy.PolicyKind.IDENTITY)
        for d in documents
    ]
    return sorted(repr(d.statements) for d in parsed)
