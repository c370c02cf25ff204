"""Enforcement beyond STS: identity policies on ordinary calls, bucket policies across
accounts, anonymous access, expired sessions, session policies and ExternalId."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _role(
    aws: Any,
    account: str,
    trust_principal: dict[str, Any],
    permissions: list[dict[str, Any]],
    *,
    condition: dict[str, Any] | None = None,
) -> str:
    name = aws.unique("role")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": trust_principal,
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    iam = aws.client("iam", account=account)
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": permissions}),
    )
    return f"arn:aws:iam::{account}:role/{name}"


def _assume(aws: Any, account: str, role_arn: str, **extra: Any) -> dict[str, str]:
    sts = aws.client("sts", account=account)
    return aws.session_credentials(  # type: ignore[no-any-return]
        sts.assume_role(RoleArn=role_arn, RoleSessionName="test-session", **extra)
    )


def test_bucket_policy_grants_another_account_only_with_both_sides(aws: Any) -> None:
    bucket = aws.unique("shared-bucket")
    owner_s3 = aws.client("s3", account=aws.TARGET)
    owner_s3.create_bucket(Bucket=bucket)
    owner_s3.put_object(Bucket=bucket, Key="report.txt", Body=b"quarterly")
    owner_s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CiReads",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    reader = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    )
    stranger = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    )
    body = (
        aws.client("s3", credentials=_assume(aws, aws.CI, reader))
        .get_object(Bucket=bucket, Key="report.txt")["Body"]
        .read()
    )
    assert body == b"quarterly"
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=_assume(aws, aws.CI, stranger)).get_object(
            Bucket=bucket, Key="report.txt"
        )
    assert _code(denied) == "AccessDenied"


def test_anonymous_read_only_where_the_bucket_policy_says(aws: Any) -> None:
    bucket = aws.unique("public-bucket")
    s3 = aws.client("s3", account=aws.CI)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/readme", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="private/secret", Body=b"no")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/public/*",
                    }
                ],
            }
        ),
    )
    anonymous = aws.client("s3", unsigned=True)
    assert anonymous.get_object(Bucket=bucket, Key="public/readme")["Body"].read() == b"hello"
    with pytest.raises(ClientError) as denied:
        anonymous.get_object(Bucket=bucket, Key="private/secret")
    assert _code(denied) == "AccessDenied"


def test_identity_policy_limits_iam_calls(aws: Any) -> None:
    reader = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
    )
    iam = aws.client("iam", credentials=_assume(aws, aws.CI, reader))
    assert iam.get_role(RoleName=reader.rsplit("/", 1)[1])["Role"]["Arn"] == reader
    with pytest.raises(ClientError) as denied:
        iam.create_role(RoleName=aws.unique("nope"), AssumeRolePolicyDocument="{}")
    assert _code(denied) == "AccessDenied"
    assert "iam:CreateRole" in str(denied.value)


def test_session_policy_narrows_the_session(aws: Any) -> None:
    role = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoles"], "Resource": "*"}],
    )
    narrowed = _assume(
        aws,
        aws.CI,
        role,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
            }
        ),
    )
    iam = aws.client("iam", credentials=narrowed)
    iam.get_role(RoleName=role.rsplit("/", 1)[1])
    with pytest.raises(ClientError) as denied:
        iam.list_roles()
    assert _code(denied) == "AccessDenied"
    with pytest.raises(ClientError) as malformed:
        _assume(aws, aws.CI, role, Policy='{"Version": "2012-10-17", "Statement": [{}]}')
    assert _code(malformed) == "MalformedPolicyDocument"


def test_external_id_is_required_by_the_trust_condition(aws: Any) -> None:
    role = _role(
        aws,
        aws.TARGET,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
        condition={"StringEquals": {"sts:ExternalId": "partner-42"}},
    )
    caller = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}],
    )
    sts = aws.client("sts", credentials=_assume(aws, aws.CI, caller))
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=role, RoleSessionName="partner")
    assert _code(denied) == "AccessDenied"
    granted = sts.assume_role(RoleArn=role, RoleSessionName="partner", ExternalId="partner-42")
    assert granted["AssumedRoleUser"]["Arn"].endswith("/partner")


def test_nonexistent_role_is_access_denied_not_not_found(aws: Any) -> None:
    missing = f"arn:aws:iam::{aws.TARGET}:role/does-not-exist"
    with pytest.raises(ClientError) as denied:
        aws.client("sts", account=aws.CI).assume_role(RoleArn=missing, RoleSessionName="x1")
    assert _code(denied) == "AccessDenied"
    assert f"sts:AssumeRole on resource: {missing}" in str(denied.value)


def test_expired_session_is_refused(aws: Any) -> None:
    role = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
    )
    creds = _assume(aws, aws.CI, role, DurationSeconds=900)
    store = aws.sandbox.store
    issued = store.get(creds["aws_access_key_id"])
    assert issued is not None and issued.expires_at is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    store.add(dataclasses.replace(issued, expires_at=past))
    with pytest.raises(ClientError) as expired:
        aws.client("sts", credentials=creds).get_caller_identity()
    assert _code(expired) == "ExpiredToken"


def test_get_caller_identity_works_under_an_explicit_deny(aws: Any) -> None:
    role = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
    )
    who = aws.client("sts", credentials=_assume(aws, aws.CI, role)).get_caller_identity()
    assert who["UserId"].startswith("AROA") and who["UserId"].endswith(":test-session")


def test_policy_writes_are_checked_as_iam_and_s3_check_them(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    ghost = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{aws.TARGET}:role/no-such-role"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    with pytest.raises(ClientError) as invalid:
        iam.create_role(RoleName=aws.unique("ghost"), AssumeRolePolicyDocument=json.dumps(ghost))
    assert _code(invalid) == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in str(invalid.value)
    role = _role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
    )
    with pytest.raises(ClientError) as missing_effect:
        iam.put_role_policy(
            RoleName=role.rsplit("/", 1)[1],
            PolicyName="bad",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]}
            ),
        )
    assert _code(missing_effect) == "MalformedPolicyDocument"
    assert "Missing required field Effect" in str(missing_effect.value)
    s3 = aws.client("s3", account=aws.CI)
    bucket = aws.unique("policy-bucket")
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as not_json:
        s3.put_bucket_policy(Bucket=bucket, Policy="{not json")
    assert _code(not_json) == "MalformedPolicy"


def test_recreated_role_no_longer_matches_a_trust_saved_before(aws: Any) -> None:
    """IAM binds a principal ARN to the role's unique id when the trust is saved (A.8)."""
    ci_iam = aws.client("iam", account=aws.CI)
    caller_name = aws.unique("deployer")
    caller_arn = f"arn:aws:iam::{aws.CI}:role/{caller_name}"
    trust_admin = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )

    def make_caller() -> None:
        ci_iam.create_role(RoleName=caller_name, AssumeRolePolicyDocument=trust_admin)
        ci_iam.put_role_policy(
            RoleName=caller_name,
            PolicyName="p",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
                }
            ),
        )

    make_caller()
    target = _role(
        aws,
        aws.TARGET,
        {"AWS": caller_arn},
        [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
    )

    def hop() -> dict[str, Any]:
        sts = aws.client("sts", credentials=_assume(aws, aws.CI, caller_arn))
        return sts.assume_role(RoleArn=target, RoleSessionName="hop")  # type: ignore[no-any-return]

    assert hop()["AssumedRoleUser"]["Arn"].endswith("/hop")
    ci_iam.delete_role_policy(RoleName=caller_name, PolicyName="p")
    ci_iam.delete_role(RoleName=caller_name)
    make_caller()
    with pytest.raises(ClientError) as stale:
        hop()
    assert _code(stale) == "AccessDenied"
    # Saving the trust again binds the new role: the chain works again.
    aws.client("iam", account=aws.TARGET).update_assume_role_policy(
        RoleName=target.rsplit("/", 1)[1],
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": caller_arn},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    assert hop()["AssumedRoleUser"]["Arn"].endswith("/hop")


def test_unsigned_calls_are_refused_in_each_services_format(aws: Any) -> None:
    with pytest.raises(ClientError) as eks:
        aws.client("eks", unsigned=True).list_clusters()
    assert _code(eks) == "MissingAuthenticationTokenException"
    with pytest.raises(ClientError) as iam:
        aws.client("iam", unsigned=True).list_roles()
    assert _code(iam) == "MissingAuthenticationToken"
