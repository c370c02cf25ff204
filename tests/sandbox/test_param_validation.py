"""AWS's model validation of IAM and EKS parameters, at the gate (``aws/params``).

boto3 validates on the client; a client that does not (``parameter_validation=False``,
any other SDK, raw HTTP) reached moto with an empty ``RoleName`` (a role was created), an
empty ``UserName`` (a user was read) or a NUL in a name (an error body no client could
parse). AWS refuses each with ``ValidationError`` listing every violated constraint, before
it authorizes; EKS with ``InvalidParameterException``.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .keykit import code, message, new_user

ROLE_PATTERN = r"[\w+=,.@-]+"


def _loose(aws: Any, service: str, credentials: dict[str, str] | None = None) -> Any:
    """A boto3 client that sends what it is given (no client-side validation)."""
    if credentials is None:
        key, secret = aws.sandbox.admin_keys[aws.CI]
        credentials = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    config = Config(retries={"max_attempts": 1}, region_name=aws.REGION, parameter_validation=False)
    return boto3.session.Session().client(
        service, endpoint_url=aws.sandbox.endpoint, config=config, **credentials
    )


def _refusal(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as error:
        call(**params)
    status = error.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return code(error), message(error), status


def _trust(aws: Any) -> str:
    principal = {"AWS": f"arn:aws:iam::{aws.CI}:root"}
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_empty_role_name_is_refused_and_creates_nothing(aws: Any) -> None:
    iam = _loose(aws, "iam")
    before = {
        r["RoleName"] for r in aws.listed(aws.client("iam", account=aws.CI), "list_roles", "Roles")
    }
    found = _refusal(iam.create_role, RoleName="", AssumeRolePolicyDocument=_trust(aws))
    assert found == (
        "ValidationError",
        "2 validation errors detected: Value '' at 'roleName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value '' at 'roleName' failed "
        f"to satisfy constraint: Member must satisfy regular expression pattern: {ROLE_PATTERN}",
        400,
    )
    after = {
        r["RoleName"] for r in aws.listed(aws.client("iam", account=aws.CI), "list_roles", "Roles")
    }
    assert after == before


def test_empty_user_name_is_not_the_caller(aws: Any) -> None:
    found = _refusal(_loose(aws, "iam").get_user, UserName="")
    assert found[0] == "ValidationError" and "at 'userName'" in found[1]


def test_nul_in_a_name_is_a_parseable_validation_error(aws: Any) -> None:
    found = _refusal(_loose(aws, "iam").get_role, RoleName="a\x00b")
    assert found[0] == "ValidationError" and found[2] == 400
    assert f"Member must satisfy regular expression pattern: {ROLE_PATTERN}" in found[1]


def test_length_range_enum_and_required(aws: Any) -> None:
    iam = _loose(aws, "iam")
    long_name = _refusal(iam.get_role, RoleName="a" * 65)
    assert long_name[1] == (
        f"1 validation error detected: Value '{'a' * 65}' at 'roleName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64"
    )
    zero = _refusal(iam.list_roles, MaxItems=0)
    assert zero[1].endswith(
        "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value "
        "greater than or equal to 1"
    )
    status = _refusal(iam.update_access_key, AccessKeyId="AKIAAAAAAAAAAAAAAAAA", Status="On")
    assert "Member must satisfy enum value set: [Active, Inactive, Expired]" in status[1]
    missing = _refusal(iam.create_role, RoleName="no-trust")
    assert missing[1] == (
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to "
        "satisfy constraint: Member must not be null"
    )


def test_list_members_are_checked_item_by_item(aws: Any) -> None:
    iam = _loose(aws, "iam")
    role = aws.unique("tagged")
    aws.client("iam", account=aws.CI).create_role(
        RoleName=role, AssumeRolePolicyDocument=_trust(aws)
    )
    no_value = _refusal(iam.tag_role, RoleName=role, Tags=[{"Key": "k"}])
    assert "Value null at 'tags.1.member.value'" in no_value[1]
    bad_key = _refusal(iam.tag_role, RoleName=role, Tags=[{"Key": "a;b", "Value": "v"}])
    assert "at 'tags.1.member.key' failed to satisfy constraint" in bad_key[1]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    too_many = _refusal(iam.tag_role, RoleName=role, Tags=many)
    assert (
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        in too_many[1]
    )
    # Unicode letters are tag characters (Java's \p{L}): accepted
    iam.tag_role(RoleName=role, Tags=[{"Key": "ключ", "Value": "é ok"}])
    tags = aws.client("iam", account=aws.CI).list_role_tags(RoleName=role)["Tags"]
    assert {"Key": "ключ", "Value": "é ok"} in tags


def test_validation_comes_before_authorization(aws: Any) -> None:
    """A caller with no IAM permission gets the ValidationError, as from AWS."""
    _, keys = new_user(aws, aws.CI)
    found = _refusal(_loose(aws, "iam", keys).get_role, RoleName="")
    assert found[0] == "ValidationError"
    denied = _refusal(_loose(aws, "iam", keys).get_role, RoleName="valid-name")
    assert denied[0] == "AccessDenied"


def test_eks_parameters(aws: Any) -> None:
    eks = _loose(aws, "eks")
    too_many = _refusal(eks.list_clusters, maxResults=1000)
    assert too_many == (
        "InvalidParameterException",
        "1 validation error detected: Value '1000' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100",
        400,
    )
    missing = _refusal(eks.create_cluster, name="c")
    assert missing[0] == "InvalidParameterException"
    assert "Value null at 'roleArn'" in missing[1]
    assert "Value null at 'resourcesVpcConfig'" in missing[1]
    long_name = _refusal(
        eks.create_cluster,
        name="x" * 101,
        roleArn=f"arn:aws:iam::{aws.CI}:role/none",
        resourcesVpcConfig={},
    )
    assert (
        "at 'name' failed to satisfy constraint: Member must have length less than or equal to 100"
        in long_name[1]
    )
    assert _loose(aws, "eks").list_clusters(maxResults=100)["clusters"] is not None


def test_raw_duplicate_and_valid_requests_still_work(aws: Any) -> None:
    """Valid calls pass untouched (botocore's own clients, with validation on)."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("valid")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(aws), Path="/a/b/")
    assert iam.get_role(RoleName=name)["Role"]["Path"] == "/a/b/"
