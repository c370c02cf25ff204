"""Issue 10, item 5: long-term access keys follow IAM, both ways, at once.

A key made with ``aws iam create-access-key`` authenticates as its user with that user's
policies; set ``Inactive`` it is refused as an unknown key (``InvalidClientTokenId``,
S3's ``InvalidAccessKeyId``) until set ``Active`` again; deleted, or its user deleted, it
never authenticates again. The admin keys are real IAM keys of the admin user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust.sandbox.aws import credentials, state

from .keykit import cli, code, keys_of, new_user
from .seedkit import CLI_ERROR

READ_BUCKETS = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]


def _who(aws: Any, keys: dict[str, str]) -> dict[str, Any]:
    return dict(aws.client("sts", credentials=keys).get_caller_identity())


def _refused(aws: Any, keys: dict[str, str]) -> None:
    """Refused as an unknown key by STS, IAM and S3 (each in its own words)."""
    with pytest.raises(ClientError) as sts:
        _who(aws, keys)
    assert code(sts) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as iam:
        aws.client("iam", credentials=keys).list_users()
    assert code(iam) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as s3:
        aws.client("s3", credentials=keys).list_buckets()
    assert code(s3) == "InvalidAccessKeyId"


def test_key_made_with_the_cli_authenticates_with_its_users_policies(
    aws: Any, sandbox: Any, tmp_path: Path
) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("cli-user")
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="buckets",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    admin = {
        "aws_access_key_id": sandbox.admin_keys[aws.CI][0],
        "aws_secret_access_key": sandbox.admin_keys[aws.CI][1],
    }
    made = cli(sandbox, tmp_path, admin, "iam", "create-access-key", "--user-name", name)
    assert made.returncode == 0, str(made)
    key = made.json()["AccessKey"]
    keys = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }

    who = cli(sandbox, tmp_path, keys, "sts", "get-caller-identity")
    assert who.returncode == 0, str(who)
    assert who.json()["Arn"] == f"arn:aws:iam::{aws.CI}:user/{name}"
    assert who.json()["UserId"] == iam.get_user(UserName=name)["User"]["UserId"]
    listed = cli(sandbox, tmp_path, keys, "s3api", "list-buckets")
    assert listed.returncode == 0, str(listed)
    denied = cli(sandbox, tmp_path, keys, "iam", "list-users")
    assert denied.returncode == CLI_ERROR and denied.error_code == "AccessDenied", str(denied)


def test_inactive_key_is_refused_at_once_and_works_again_when_active(aws: Any) -> None:
    user, keys = new_user(aws, aws.CI, READ_BUCKETS)
    assert _who(aws, keys)["Arn"] == user["Arn"]
    iam = aws.client("iam", account=aws.CI)
    key_id = keys["aws_access_key_id"]
    iam.update_access_key(UserName=user["UserName"], AccessKeyId=key_id, Status="Inactive")
    _refused(aws, keys)
    iam.update_access_key(UserName=user["UserName"], AccessKeyId=key_id, Status="Active")
    assert _who(aws, keys)["Arn"] == user["Arn"]
    aws.client("s3", credentials=keys).list_buckets()


def test_deleted_key_and_key_of_deleted_user_never_authenticate(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, keys = new_user(aws, aws.CI, READ_BUCKETS)
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=keys["aws_access_key_id"])
    _refused(aws, keys)

    other, other_keys = new_user(aws, aws.CI)
    # IAM refuses to delete a user that holds keys (DeleteConflict): the key goes first
    iam.delete_access_key(UserName=other["UserName"], AccessKeyId=other_keys["aws_access_key_id"])
    iam.delete_user(UserName=other["UserName"])
    _refused(aws, other_keys)
    iam.create_user(UserName=other["UserName"])  # the same name again: another user
    _refused(aws, other_keys)


def test_another_accounts_admin_cannot_touch_the_key(aws: Any) -> None:
    """IAM is per account: the target account's admin names a user that does not exist in
    its own account, and the key stays active."""
    user, keys = new_user(aws, aws.CI, READ_BUCKETS)
    stranger = aws.client("iam", account=aws.TARGET)
    with pytest.raises(ClientError) as refused:
        stranger.update_access_key(
            UserName=user["UserName"], AccessKeyId=keys["aws_access_key_id"], Status="Inactive"
        )
    assert code(refused) in ("NoSuchEntity", "AccessDenied")
    assert _who(aws, keys)["Arn"] == user["Arn"]


def test_group_membership_is_read_on_every_request(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, keys = new_user(aws, aws.CI)
    group = aws.unique("group")
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group,
        PolicyName="buckets",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    iam.add_user_to_group(GroupName=group, UserName=user["UserName"])
    aws.client("s3", credentials=keys).list_buckets()
    iam.remove_user_from_group(GroupName=group, UserName=user["UserName"])
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=keys).list_buckets()
    assert code(denied) == "AccessDenied"


def test_admin_keys_are_iam_keys_of_the_admin_user(aws: Any, sandbox: Any) -> None:
    key_id, _ = sandbox.admin_keys[aws.TARGET]
    listed = aws.client("iam", account=aws.TARGET).list_access_keys(UserName=state.ADMIN_USER)
    assert key_id in [k["AccessKeyId"] for k in listed["AccessKeyMetadata"]]
    assert sandbox.store.get(key_id) is not None
    assert key_id not in [c.access_key_id for c in sandbox.store]  # not a drifting copy


def test_kept_admin_key_is_restored_into_iam() -> None:
    """A restart (moto's state gone) makes the kept key a real IAM key again."""
    account = "310000000001"
    pair = ("AKIAKEPTKEPTKEPT0001", "kept-secret-kept-secret-kept-secret-0001")
    assert state.ensure_admin(account, pair) == pair
    found = credentials.iam_key(pair[0])
    assert found is not None and found.principal_arn == f"arn:aws:iam::{account}:user/admin"
    assert state.ensure_admin(account, pair) == pair  # idempotent


def test_session_from_a_key_outlives_the_key_but_not_its_user(aws: Any) -> None:
    """GetSessionToken keys stay valid when the long-term key is deactivated (AWS: valid
    until they expire); their permissions are the user's, gone with the user, and not
    those of a new user of the same name."""
    iam = aws.client("iam", account=aws.CI)
    user, keys = new_user(aws, aws.CI, READ_BUCKETS)
    session = keys_of(aws.client("sts", credentials=keys).get_session_token()["Credentials"])
    iam.update_access_key(
        UserName=user["UserName"], AccessKeyId=keys["aws_access_key_id"], Status="Inactive"
    )
    aws.client("s3", credentials=session).list_buckets()
    iam.delete_user_policy(UserName=user["UserName"], PolicyName="p")
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=keys["aws_access_key_id"])
    iam.delete_user(UserName=user["UserName"])
    iam.create_user(UserName=user["UserName"])
    iam.put_user_policy(
        UserName=user["UserName"],
        PolicyName="p",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    )
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=session).list_buckets()
    assert code(denied) == "AccessDenied"
    assert _who(aws, session)["UserId"] == user["UserId"]  # still the old user's id
