"""Issue 10, item 7: a session of a deleted role never acts with a new role of the same
name. Sessions carry the role's unique id (``AROA…``); their policies are found by it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .keykit import code, keys_of, new_role

READ_BUCKETS = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]


def _recreate(aws: Any, account: str, role: dict[str, Any], statements: list[Any]) -> Any:
    """Delete ``role`` and create a role of the same name with ``statements``."""
    iam = aws.client("iam", account=account)
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="p")
    iam.delete_role(RoleName=role["RoleName"])
    return new_role(
        aws, account, {"AWS": f"arn:aws:iam::{account}:root"}, statements, name=role["RoleName"]
    )


def _session(aws: Any, account: str, role_arn: str) -> dict[str, str]:
    sts = aws.client("sts", account=account)
    response = sts.assume_role(RoleArn=role_arn, RoleSessionName="before")
    return keys_of(response["Credentials"])


def test_session_of_deleted_role_gets_nothing_from_a_new_role_of_that_name(aws: Any) -> None:
    root = {"AWS": f"arn:aws:iam::{aws.CI}:root"}
    old = new_role(aws, aws.CI, root, READ_BUCKETS)
    session = _session(aws, aws.CI, old["Arn"])
    aws.client("s3", credentials=session).list_buckets()

    new = _recreate(aws, aws.CI, old, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    assert new["RoleId"] != old["RoleId"]
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=session).list_buckets()
    assert code(denied) == "AccessDenied"
    with pytest.raises(ClientError) as denied_iam:
        aws.client("iam", credentials=session).list_roles()
    assert code(denied_iam) == "AccessDenied"

    who = aws.client("sts", credentials=session).get_caller_identity()  # needs no permission
    assert who["UserId"] == f"{old['RoleId']}:before"
    fresh = _session(aws, aws.CI, new["Arn"])  # the new role's own sessions work
    aws.client("iam", credentials=fresh).list_roles()


def test_session_of_deleted_role_cannot_chain_through_the_new_role(aws: Any) -> None:
    """The target trusts the role by ARN; the old session is not that role any more."""
    root = {"AWS": f"arn:aws:iam::{aws.CI}:root"}
    assume_any = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    old = new_role(aws, aws.CI, root, assume_any)
    session = _session(aws, aws.CI, old["Arn"])
    target = new_role(aws, aws.TARGET, {"AWS": old["Arn"]}, READ_BUCKETS)
    chained = aws.client("sts", credentials=session).assume_role(
        RoleArn=target["Arn"], RoleSessionName="ok"
    )
    assert chained["AssumedRoleUser"]["Arn"].endswith("/ok")

    _recreate(aws, aws.CI, old, assume_any)
    with pytest.raises(ClientError) as denied:
        aws.client("sts", credentials=session).assume_role(
            RoleArn=target["Arn"], RoleSessionName="after"
        )
    assert code(denied) == "AccessDenied"


def test_session_policies_follow_the_role_as_it_changes(aws: Any) -> None:
    """Policies change with the role (same id) and stay with it: a policy added to the
    role after the session began applies to the session at once."""
    root = {"AWS": f"arn:aws:iam::{aws.CI}:root"}
    role = new_role(aws, aws.CI, root, [{"Effect": "Deny", "Action": "*", "Resource": "*"}])
    session = _session(aws, aws.CI, role["Arn"])
    with pytest.raises(ClientError):
        aws.client("s3", credentials=session).list_buckets()
    aws.client("iam", account=aws.CI).put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": READ_BUCKETS}),
    )
    aws.client("s3", credentials=session).list_buckets()
