"""IAM refuses to delete an entity that still holds something: ``DeleteConflict``, 409.

moto let ``DeleteUser`` through with access keys, a password, MFA devices, SSH keys or
group memberships (a deleted user's key then lingered in moto's index), and let
``DeleteGroup`` and ``DeletePolicy`` through with anything attached. Each dependency is
checked by its own case: refused with IAM's text and status, the entity still there, and
the same call succeeding once the dependency is gone (the negative half).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .keykit import cli, document, new_role, new_user

ENTITY = "Cannot delete entity, must "
READ = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]
SSH_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDcrUQn0UJxd2tI7RPc1lZ0uf9TqZbCQ0fnjgNxQr4hxZ1v"
    "5HRu5XpXv2ZxUqxBXwrdnOdLo4zN4E5U3BC0Ih3n7rn2yIqSGDzlXh2z3KzM7WhMzmQXd9cXc8T5VtD1hD"
    "Ib6m8Jk5uOdKxIA1pmRr3jFc0y1c2cV1NwHkBLn1d0dHvXu2DN0A9aGvT4P5gYf9H1N0v1z0s4FQ2Q== t"
)


def _refused(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    return (
        error["Error"]["Code"],
        error["Error"]["Message"],
        error["ResponseMetadata"]["HTTPStatusCode"],
    )


def _policy(aws: Any, account: str) -> str:
    iam = aws.client("iam", account=account)
    made = iam.create_policy(PolicyName=aws.unique("pol"), PolicyDocument=document(READ))
    return str(made["Policy"]["Arn"])


# ---------------------------------------------------------------------- DeleteUser

# (what the user holds, how to give it, how to take it away, IAM's message)
Setup = Callable[[Any, Any, str], Callable[[], Any]]


def _login_profile(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    iam.create_login_profile(UserName=name, Password="Sandbox-Password-1!")
    return lambda: iam.delete_login_profile(UserName=name)


def _access_key(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    return lambda: iam.delete_access_key(UserName=name, AccessKeyId=key)


def _ssh_key(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    found = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=SSH_KEY)
    key_id = found["SSHPublicKey"]["SSHPublicKeyId"]
    return lambda: iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=key_id)


def _mfa_device(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=aws.unique("mfa"))
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return lambda: iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)


def _inline_policy(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(READ))
    return lambda: iam.delete_user_policy(UserName=name, PolicyName="p")


def _attached_policy(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    policy_arn = _policy(aws, aws.TARGET)
    iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
    return lambda: iam.detach_user_policy(UserName=name, PolicyArn=policy_arn)


def _group(aws: Any, iam: Any, name: str) -> Callable[[], Any]:
    group = aws.unique("group")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    return lambda: iam.remove_user_from_group(GroupName=group, UserName=name)


USER_HOLDINGS: list[tuple[str, Setup, str]] = [
    ("login-profile", _login_profile, ENTITY + "delete login profile first."),
    ("access-key", _access_key, ENTITY + "delete access keys first."),
    ("ssh-key", _ssh_key, ENTITY + "remove referenced objects first."),
    ("mfa-device", _mfa_device, ENTITY + "delete MFA device first."),
    ("inline-policy", _inline_policy, ENTITY + "delete policies first."),
    ("attached-policy", _attached_policy, ENTITY + "detach all policies first."),
    ("group", _group, ENTITY + "remove users from group first."),
]


@pytest.mark.parametrize(
    ("holding", "give", "message"), USER_HOLDINGS, ids=[h[0] for h in USER_HOLDINGS]
)
def test_delete_user_refused_while_it_holds(
    aws: Any, holding: str, give: Setup, message: str
) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("holder")
    iam.create_user(UserName=name)
    take_away = give(aws, iam, name)
    assert _refused(lambda: iam.delete_user(UserName=name)) == ("DeleteConflict", message, 409)
    iam.get_user(UserName=name)  # still there, with what it holds
    take_away()
    iam.delete_user(UserName=name)
    assert _refused(lambda: iam.get_user(UserName=name))[0] == "NoSuchEntity"


def test_a_users_key_authenticates_until_the_user_can_be_deleted(aws: Any) -> None:
    """The fail-open this closes: moto deleted the user and kept its key's index entry."""
    iam = aws.client("iam", account=aws.CI)
    user, keys = new_user(aws, aws.CI, READ)
    # in the order of DeleteUser's API reference: keys before policies ([uncertain] order)
    refused = _refused(lambda: iam.delete_user(UserName=user["UserName"]))
    assert refused == ("DeleteConflict", ENTITY + "delete access keys first.", 409)
    me = aws.client("sts", credentials=keys).get_caller_identity()
    assert me["Arn"] == user["Arn"]  # the user and its key are intact
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=keys["aws_access_key_id"])
    refused = _refused(lambda: iam.delete_user(UserName=user["UserName"]))
    assert refused == ("DeleteConflict", ENTITY + "delete policies first.", 409)
    iam.delete_user_policy(UserName=user["UserName"], PolicyName="p")
    iam.delete_user(UserName=user["UserName"])


def test_delete_user_refused_by_the_real_aws_cli(aws: Any, tmp_path: Path) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("cli-holder")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    key, secret = aws.sandbox.admin_keys[aws.TARGET]
    admin = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    run = cli(aws.sandbox, tmp_path, admin, "iam", "delete-user", "--user-name", name)
    assert run.returncode in (254, 255), run  # the CLI's exit code for a service error
    assert "(DeleteConflict)" in run.stderr and "must delete access keys first." in run.stderr


def test_delete_of_missing_or_empty_user(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    assert _refused(lambda: iam.delete_user(UserName=aws.unique("nobody")))[0] == "NoSuchEntity"
    name = aws.unique("empty")
    iam.create_user(UserName=name)
    iam.delete_user(UserName=name)


# ---------------------------------------------------------------------- DeleteGroup


def test_delete_group_refused_while_it_has_members_or_policies(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    group, user = aws.unique("group"), aws.unique("member")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=document(READ))
    policy_arn = _policy(aws, aws.TARGET)
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    steps = [
        (
            ENTITY + "remove users from group first.",
            lambda: iam.remove_user_from_group(GroupName=group, UserName=user),
        ),
        (
            ENTITY + "delete policies first.",
            lambda: iam.delete_group_policy(GroupName=group, PolicyName="p"),
        ),
        (
            ENTITY + "detach all policies first.",
            lambda: iam.detach_group_policy(GroupName=group, PolicyArn=policy_arn),
        ),
    ]
    for message, take_away in steps:
        refused = _refused(lambda: iam.delete_group(GroupName=group))
        assert refused == ("DeleteConflict", message, 409)
        iam.get_group(GroupName=group)
        take_away()
    iam.delete_group(GroupName=group)


# ---------------------------------------------------------------------- DeletePolicy


def test_delete_policy_refused_while_attached_or_versioned(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    policy_arn = _policy(aws, aws.TARGET)
    role = new_role(aws, aws.TARGET, {"AWS": f"arn:aws:iam::{aws.TARGET}:root"}, READ)
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy_arn)
    iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=document(READ), SetAsDefault=True
    )
    refused = _refused(lambda: iam.delete_policy(PolicyArn=policy_arn))
    assert refused == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy_arn)
    code, message, status = _refused(lambda: iam.delete_policy(PolicyArn=policy_arn))
    assert (code, status) == ("DeleteConflict", 409)
    assert message.startswith("This policy has more than one version. Before you delete")
    iam.get_policy(PolicyArn=policy_arn)
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v1")
    iam.delete_policy(PolicyArn=policy_arn)
    assert _refused(lambda: iam.get_policy(PolicyArn=policy_arn))[0] == "NoSuchEntity"


# ---------------------------------------------------------------------- DeleteRole


def test_delete_role_refused_while_in_an_instance_profile(aws: Any) -> None:
    """moto checked this one already, with IAM's text; the status is IAM's 409 now."""
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("profiled")
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{**trust, "Action": "sts:AssumeRole"}]}
        ),
    )
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    refused = _refused(lambda: iam.delete_role(RoleName=name))
    message = ENTITY + "remove roles from instance profile first."
    assert refused == ("DeleteConflict", message, 409)
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=name)
    iam.delete_role(RoleName=name)
