"""Global condition keys reach every decision the sandbox makes (issue 10, item 6).

Each test puts an explicit Deny on one key AWS sets (or does not set) into a role's
identity policy, then calls the sandbox as a client would (boto3 with the role's
session): the Deny must apply exactly where AWS applies it, and a Deny whose condition
does not hold must not. The keys' presence and values follow the IAM User Guide's
"AWS global condition context keys" (see ``kubetrust.chain.context``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _deny(action: str, condition: dict[str, Any], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, "Condition": condition}


def _role(
    aws: Any,
    statements: list[dict[str, Any]],
    *,
    path: str = "/",
    tags: dict[str, str] | None = None,
    account: str | None = None,
) -> str:
    """A role the account's admin may assume, with ``statements`` as its permissions."""
    account = account or aws.CI
    name = aws.unique("gck")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = aws.client("iam", account=account)
    extra = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
    created = iam.create_role(
        RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), **extra
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return str(created["Role"]["Arn"])


def _session(aws: Any, role_arn: str, account: str | None = None) -> dict[str, str]:
    sts = aws.client("sts", account=account or aws.CI)
    return aws.session_credentials(  # type: ignore[no-any-return]
        sts.assume_role(RoleArn=role_arn, RoleSessionName="gck")
    )


def _as(aws: Any, statements: list[dict[str, Any]], **role: Any) -> Any:
    """An EKS client signed by a session of a new role with ``statements``."""
    return lambda service: aws.client(
        service, credentials=_session(aws, _role(aws, statements, **role))
    )


def _denied(call: Any) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    assert _code(refused) in ("AccessDenied", "AccessDeniedException")


# ---------------------------------------------------------------------- request keys


def test_requested_region_guard_applies_to_the_signed_region(aws: Any) -> None:
    outside = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}})]
    )
    _denied(lambda: outside("eks").list_clusters())
    inside = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"StringNotEquals": {"aws:RequestedRegion": aws.REGION}})]
    )
    assert "clusters" in inside("eks").list_clusters()


def test_secure_transport_is_false_on_the_plain_http_endpoint(aws: Any) -> None:
    plain = _as(aws, [ALLOW_ALL, _deny("s3:*", {"Bool": {"aws:SecureTransport": "false"}})])
    _denied(lambda: plain("s3").list_buckets())
    tls = _as(aws, [ALLOW_ALL, _deny("s3:*", {"Bool": {"aws:SecureTransport": "true"}})])
    assert "Buckets" in tls("s3").list_buckets()


def test_current_and_epoch_time_windows_use_the_sandbox_clock(aws: Any) -> None:
    expired = _as(
        aws,
        [
            ALLOW_ALL,
            _deny("eks:*", {"DateGreaterThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}),
        ],
    )
    _denied(lambda: expired("eks").list_clusters())
    epoch = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"NumericGreaterThan": {"aws:EpochTime": "978307200"}})]
    )
    _denied(lambda: epoch("eks").list_clusters())
    future = _as(
        aws,
        [ALLOW_ALL, _deny("eks:*", {"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}})],
    )
    assert "clusters" in future("eks").list_clusters()


def test_source_ip_is_the_peer_address(aws: Any) -> None:
    loopback = _as(aws, [ALLOW_ALL, _deny("eks:*", {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})])
    _denied(lambda: loopback("eks").list_clusters())
    elsewhere = _as(aws, [ALLOW_ALL, _deny("eks:*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})])
    assert "clusters" in elsewhere("eks").list_clusters()


def test_direct_calls_are_not_via_a_service(aws: Any) -> None:
    direct = _as(aws, [ALLOW_ALL, _deny("eks:*", {"Bool": {"aws:ViaAWSService": "false"}})])
    _denied(lambda: direct("eks").list_clusters())
    absent = _as(aws, [ALLOW_ALL, _deny("eks:*", {"Null": {"aws:CalledVia": "true"}})])
    _denied(lambda: absent("eks").list_clusters())  # absent on a direct call: Null is true


# ---------------------------------------------------------------------- principal keys


def test_principal_arn_is_the_role_arn_with_its_path(aws: Any) -> None:
    pattern = f"arn:aws:iam::{aws.CI}:role/team/*"
    pathed = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"ArnLike": {"aws:PrincipalArn": pattern}})], path="/team/"
    )
    _denied(lambda: pathed("eks").list_clusters())
    flat = _as(aws, [ALLOW_ALL, _deny("eks:*", {"ArnLike": {"aws:PrincipalArn": pattern}})])
    assert "clusters" in flat("eks").list_clusters()


def test_principal_tags_of_a_session_include_the_roles_own_tags(aws: Any) -> None:
    condition = {"StringEquals": {"aws:PrincipalTag/team": "red"}}
    red = _as(aws, [ALLOW_ALL, _deny("eks:*", condition)], tags={"team": "red"})
    _denied(lambda: red("eks").list_clusters())
    blue = _as(aws, [ALLOW_ALL, _deny("eks:*", condition)], tags={"team": "blue"})
    assert "clusters" in blue("eks").list_clusters()


def test_session_keys_type_account_and_mfa(aws: Any) -> None:
    typed = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"StringEquals": {"aws:PrincipalType": "AssumedRole"}})]
    )
    _denied(lambda: typed("eks").list_clusters())
    account = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"StringEquals": {"aws:PrincipalAccount": aws.CI}})]
    )
    _denied(lambda: account("eks").list_clusters())
    no_mfa = _as(
        aws, [ALLOW_ALL, _deny("eks:*", {"Bool": {"aws:MultiFactorAuthPresent": "false"}})]
    )
    _denied(lambda: no_mfa("eks").list_clusters())  # a session without MFA: present, false
    age = _as(aws, [ALLOW_ALL, _deny("eks:*", {"Null": {"aws:MultiFactorAuthAge": "false"}})])
    assert "clusters" in age("eks").list_clusters()  # no MFA: no age


@contextmanager
def _admin_policy(aws: Any, statement: dict[str, Any]) -> Iterator[None]:
    """A Deny on the CI admin user for one rarely used action, removed afterwards."""
    iam = aws.client("iam", account=aws.CI)
    document = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName="admin", PolicyName="gck", PolicyDocument=json.dumps(document))
    try:
        yield
    finally:
        iam.delete_user_policy(UserName="admin", PolicyName="gck")


def test_long_term_keys_carry_no_mfa_key_but_a_username(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    # AWS's documented quirk: Bool false does not match an absent key; BoolIfExists does.
    with _admin_policy(
        aws, _deny("iam:ListAccountAliases", {"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    ):
        assert "AccountAliases" in iam.list_account_aliases()
    with _admin_policy(
        aws,
        _deny("iam:ListAccountAliases", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
    ):
        _denied(iam.list_account_aliases)
    with _admin_policy(
        aws, _deny("iam:ListAccountAliases", {"StringEquals": {"aws:username": "admin"}})
    ):
        _denied(iam.list_account_aliases)
    with _admin_policy(
        aws, _deny("iam:ListAccountAliases", {"Null": {"aws:TokenIssueTime": "false"}})
    ):
        assert "AccountAliases" in iam.list_account_aliases()


# ---------------------------------------------------------------------- resource keys


def test_role_tags_are_aws_and_iam_resource_tags(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    red = aws.unique("tagged")
    blue = aws.unique("tagged")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    for name, team in ((red, "red"), (blue, "blue")):
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": team}]
        )
    for key in ("aws:ResourceTag/team", "iam:ResourceTag/team"):
        guarded = _as(aws, [ALLOW_ALL, _deny("iam:GetRole", {"StringEquals": {key: "red"}})])
        client = guarded("iam")
        _denied(lambda client=client: client.get_role(RoleName=red))
        assert client.get_role(RoleName=blue)["Role"]["RoleName"] == blue


def test_resource_account_is_the_bucket_owner(aws: Any) -> None:
    bucket = aws.unique("gck-owner")
    owner = aws.client("s3", account=aws.TARGET)
    owner.create_bucket(Bucket=bucket)
    owner.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                        "Action": "s3:ListBucket",
                        "Resource": f"arn:aws:s3:::{bucket}",
                    }
                ],
            }
        ),
    )
    condition = {"StringEquals": {"aws:ResourceAccount": aws.TARGET}}
    foreign = _as(aws, [ALLOW_ALL, _deny("s3:*", condition)])
    _denied(lambda: foreign("s3").list_objects_v2(Bucket=bucket))
    theirs = _as(aws, [ALLOW_ALL, _deny("s3:*", {"StringEquals": {"aws:ResourceAccount": aws.CI}})])
    assert theirs("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_anonymous_requests_carry_the_request_keys(aws: Any) -> None:
    bucket = aws.unique("gck-public")
    s3 = aws.client("s3", account=aws.CI)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="readme", Body=b"hello")
    read = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    tls_only = {**read, "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [read]})
    )
    anonymous = aws.client("s3", unsigned=True)
    assert anonymous.get_object(Bucket=bucket, Key="readme")["Body"].read() == b"hello"
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [read, tls_only]})
    )
    _denied(lambda: anonymous.get_object(Bucket=bucket, Key="readme"))


# ---------------------------------------------------------------------- STS hops


def test_assume_role_sees_the_callers_path_and_the_targets_account(aws: Any) -> None:
    target = _role(aws, [ALLOW_ALL])
    deny_arn = _deny(
        "sts:AssumeRole", {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{aws.CI}:role/hop/*"}}
    )
    pathed = _session(aws, _role(aws, [ALLOW_ALL, deny_arn], path="/hop/"))
    _denied(
        lambda: aws.client("sts", credentials=pathed).assume_role(
            RoleArn=target, RoleSessionName="hop"
        )
    )
    deny_account = _deny("sts:AssumeRole", {"StringEquals": {"aws:ResourceAccount": aws.CI}})
    caller = _session(aws, _role(aws, [ALLOW_ALL, deny_account]))
    _denied(
        lambda: aws.client("sts", credentials=caller).assume_role(
            RoleArn=target, RoleSessionName="hop"
        )
    )
