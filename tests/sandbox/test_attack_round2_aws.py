"""Second-round attacks on the sandbox's AWS endpoint (issue 10, round 2).

IAM names are unique whatever their case ("names are not distinguished by case", IAM UG):
moto compared them exactly, so ``PROTECTED`` next to ``Protected`` was a second role —
one a Deny naming ``role/team/Protected`` does not name — and a managed policy's name
was taken only under its own path. The gate refuses both as IAM does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .keykit import code, message

DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
)


def _trust(aws: Any) -> str:
    principal = {"AWS": f"arn:aws:iam::{aws.CI}:root"}
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _taken(call: Any, text: str, **params: Any) -> None:
    with pytest.raises(ClientError) as error:
        call(**params)
    assert code(error) == "EntityAlreadyExists"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert message(error) == text


def test_role_name_in_another_case_is_taken(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("Protected")
    iam.create_role(RoleName=name, Path="/team/", AssumeRolePolicyDocument=_trust(aws))
    upper = name.upper()
    _taken(
        iam.create_role,
        f"Role with name {upper} already exists.",
        RoleName=upper,
        AssumeRolePolicyDocument=_trust(aws),
    )
    pages = iam.get_paginator("list_roles").paginate()
    names = [r["RoleName"] for page in pages for r in page["Roles"]]
    assert name in names and upper not in names


def test_users_groups_profiles_in_another_case(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, other = aws.unique("bob"), aws.unique("carol")
    iam.create_user(UserName=user)
    iam.create_user(UserName=other)
    _taken(iam.create_user, f"User {user.upper()} already exists", UserName=user.upper())
    _taken(
        iam.update_user,
        f"User {user.title()} already exists",
        UserName=other,
        NewUserName=user.title(),
    )
    iam.update_user(UserName=other, NewUserName=other.upper())  # its own name, recased
    group = aws.unique("grp")
    iam.create_group(GroupName=group)
    _taken(iam.create_group, f"Group {group.upper()} already exists", GroupName=group.upper())
    profile = aws.unique("ip")
    iam.create_instance_profile(InstanceProfileName=profile)
    _taken(
        iam.create_instance_profile,
        f"Instance Profile {profile.upper()} already exists.",
        InstanceProfileName=profile.upper(),
    )


def test_policy_name_is_taken_under_any_path_and_case(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("pol")
    iam.create_policy(PolicyName=name, PolicyDocument=DOCUMENT)
    text = "A policy called {} already exists. Duplicate names are not allowed."
    _taken(
        iam.create_policy, text.format(name), PolicyName=name, Path="/x/", PolicyDocument=DOCUMENT
    )
    _taken(
        iam.create_policy,
        text.format(name.upper()),
        PolicyName=name.upper(),
        PolicyDocument=DOCUMENT,
    )


def test_aws_managed_policy_names_are_not_taken(aws: Any) -> None:
    """AWS managed policies live in the ``aws`` account: their names are free."""
    iam = aws.client("iam", account=aws.TARGET)
    made = iam.create_policy(PolicyName="ReadOnlyAccess", PolicyDocument=DOCUMENT)["Policy"]
    assert made["Arn"] == f"arn:aws:iam::{aws.TARGET}:policy/ReadOnlyAccess"
    iam.delete_policy(PolicyArn=made["Arn"])


def test_same_name_in_another_account_is_free(aws: Any) -> None:
    name = aws.unique("shared")
    aws.client("iam", account=aws.CI).create_role(
        RoleName=name, AssumeRolePolicyDocument=_trust(aws)
    )
    other = aws.client("iam", account=aws.TARGET)
    assert other.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=_trust(aws))["Role"]
