"""The seed's chain through real boto3 and real HTTP: web identity → CI role → target role.

Each test builds its own roles (unique names) in the session's sandbox, then walks the
chain exactly as the pod would, asserting AWS's answers and AWS's error codes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

SA_SUB = "system:serviceaccount:ci-namespace:ci-serviceaccount"
TARGET_PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:ListAllMyBuckets", "eks:DescribeCluster", "eks:ListClusters"],
            "Resource": "*",
        }
    ],
}


@dataclass
class Chain:
    issuer: Any
    issuer_url: str
    provider_arn: str
    ci_role: str
    target_role: str


def _build(
    aws: Any,
    *,
    sub: str = SA_SUB,
    operator: str = "StringEquals",
    target_trusts: str | None = None,
    ci_may_assume: bool = True,
) -> Chain:
    _, issuer = aws.new_issuer()
    url = issuer.issuer_url
    host_path = url.removeprefix("https://")
    iam_ci = aws.client("iam", account=aws.CI)
    iam_target = aws.client("iam", account=aws.TARGET)
    provider = iam_ci.create_open_id_connect_provider(
        Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    ci_name, target_name = aws.unique("ci-account-iam-role"), aws.unique("target-account-iam-role")
    ci_arn = f"arn:aws:iam::{aws.CI}:role/{ci_name}"
    target_arn = f"arn:aws:iam::{aws.TARGET}:role/{target_name}"
    ci_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {operator: {f"{host_path}:sub": sub}},
            }
        ],
    }
    iam_ci.create_role(RoleName=ci_name, AssumeRolePolicyDocument=json.dumps(ci_trust))
    if ci_may_assume:
        iam_ci.put_role_policy(
            RoleName=ci_name,
            PolicyName="chain",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target_arn}
                    ],
                }
            ),
        )
    target_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": target_trusts or ci_arn},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam_target.create_role(RoleName=target_name, AssumeRolePolicyDocument=json.dumps(target_trust))
    iam_target.put_role_policy(
        RoleName=target_name, PolicyName="seed", PolicyDocument=json.dumps(TARGET_PERMISSIONS)
    )
    return Chain(issuer, url, provider, ci_arn, target_arn)


def _token(
    chain: Chain,
    *,
    sub_sa: str = "ci-serviceaccount",
    audience: str = "sts.amazonaws.com",
    expiration: int = 3600,
    now: int | None = None,
) -> str:
    now = int(time.time()) if now is None else now
    return chain.issuer.mint_service_account_token(
        namespace="ci-namespace",
        service_account=sub_sa,
        service_account_uid="uid-1",
        audiences=[audience],
        expiration_seconds=expiration,
        now=now,
    )


def _web_identity(aws: Any, chain: Chain, token: str, **extra: Any) -> dict[str, Any]:
    sts = aws.client("sts", unsigned=True)
    return sts.assume_role_with_web_identity(  # type: ignore[no-any-return]
        RoleArn=chain.ci_role,
        RoleSessionName="botocore-session-1",
        WebIdentityToken=token,
        **extra,
    )


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_seed_chain_end_to_end(aws: Any) -> None:
    chain = _build(aws)
    first = _web_identity(aws, chain, _token(chain))
    assert first["SubjectFromWebIdentityToken"] == SA_SUB
    assert first["Audience"] == "sts.amazonaws.com"
    assert first["Provider"] == chain.provider_arn
    assert first["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    ci = aws.session_credentials(first)
    me = aws.client("sts", credentials=ci).get_caller_identity()
    assert (
        me["Arn"]
        == chain.ci_role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
        + "/botocore-session-1"
    )
    assert me["Account"] == aws.CI
    second = aws.client("sts", credentials=ci).assume_role(
        RoleArn=chain.target_role, RoleSessionName="target-session"
    )
    target = aws.session_credentials(second)
    who = aws.client("sts", credentials=target).get_caller_identity()
    assert who["Account"] == aws.TARGET
    assert ":assumed-role/" in who["Arn"] and who["Arn"].endswith("/target-session")
    assert "clusters" in aws.client("eks", credentials=target).list_clusters()
    assert "Buckets" in aws.client("s3", credentials=target).list_buckets()
    with pytest.raises(ClientError) as denied:
        aws.client("iam", credentials=target).list_roles()
    assert _code(denied) == "AccessDenied"
    assert "is not authorized to perform: iam:ListRoles" in str(denied.value)


def test_another_service_account_is_denied(aws: Any) -> None:
    chain = _build(aws)
    with pytest.raises(ClientError) as denied:
        _web_identity(aws, chain, _token(chain, sub_sa="other-serviceaccount"))
    assert _code(denied) == "AccessDenied"
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in str(denied.value)


def test_wildcard_sub_under_string_equals_is_denied_and_string_like_works(aws: Any) -> None:
    literal = _build(aws, sub="system:serviceaccount:ci-namespace:*")
    with pytest.raises(ClientError) as denied:
        _web_identity(aws, literal, _token(literal))
    assert _code(denied) == "AccessDenied"
    like = _build(aws, sub="system:serviceaccount:ci-namespace:*", operator="StringLike")
    assert _web_identity(aws, like, _token(like))["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_wrong_audience_and_expired_token(aws: Any) -> None:
    chain = _build(aws)
    with pytest.raises(ClientError) as wrong:
        _web_identity(aws, chain, _token(chain, audience="not-sts"))
    assert _code(wrong) == "InvalidIdentityToken"
    assert "Incorrect token audience" in str(wrong.value)
    with pytest.raises(ClientError) as expired:
        _web_identity(aws, chain, _token(chain, expiration=600, now=int(time.time()) - 7200))
    assert _code(expired) == "ExpiredTokenException"


def test_token_signed_by_another_clusters_key(aws: Any) -> None:
    chain = _build(aws)
    _, stranger = aws.new_issuer()
    forged = stranger.mint_service_account_token(
        namespace="ci-namespace",
        service_account="ci-serviceaccount",
        service_account_uid="uid-1",
        audiences=["sts.amazonaws.com"],
        expiration_seconds=3600,
        now=int(time.time()),
    )
    # The stranger's token names the stranger's issuer: no provider for it in the CI account.
    with pytest.raises(ClientError) as no_provider:
        _web_identity(aws, chain, forged)
    assert _code(no_provider) == "InvalidIdentityToken"
    assert "No OpenIDConnect provider found" in str(no_provider.value)


def test_target_trust_not_naming_ci_role_and_missing_caller_side(aws: Any) -> None:
    someone_else = aws.unique("someone-else")
    aws.client("iam", account=aws.CI).create_role(
        RoleName=someone_else,
        AssumeRolePolicyDocument=json.dumps(
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
        ),
    )
    untrusting = _build(aws, target_trusts=f"arn:aws:iam::{aws.CI}:role/{someone_else}")
    ci = aws.session_credentials(_web_identity(aws, untrusting, _token(untrusting)))
    with pytest.raises(ClientError) as denied:
        aws.client("sts", credentials=ci).assume_role(
            RoleArn=untrusting.target_role, RoleSessionName="target"
        )
    assert _code(denied) == "AccessDenied"
    assert (
        f"not authorized to perform: sts:AssumeRole on resource: {untrusting.target_role}"
        in str(denied.value)
    )
    no_permission = _build(aws, ci_may_assume=False)
    ci = aws.session_credentials(_web_identity(aws, no_permission, _token(no_permission)))
    with pytest.raises(ClientError) as denied_caller:
        aws.client("sts", credentials=ci).assume_role(
            RoleArn=no_permission.target_role, RoleSessionName="target"
        )
    assert _code(denied_caller) == "AccessDenied"


def test_chained_duration_above_one_hour_is_a_validation_error(aws: Any) -> None:
    chain = _build(aws)
    ci = aws.session_credentials(_web_identity(aws, chain, _token(chain)))
    with pytest.raises(ClientError) as invalid:
        aws.client("sts", credentials=ci).assume_role(
            RoleArn=chain.target_role, RoleSessionName="target", DurationSeconds=7200
        )
    assert _code(invalid) == "ValidationError"
    assert "1 hour session limit for roles assumed by role chaining" in str(invalid.value)


def test_unknown_and_forged_keys(aws: Any) -> None:
    unknown = aws.client(
        "sts",
        credentials={
            "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "x" * 40,
        },
    )
    with pytest.raises(ClientError) as invalid:
        unknown.get_caller_identity()
    assert _code(invalid) == "InvalidClientTokenId"
    key, _ = aws.sandbox.admin_keys[aws.CI]
    forged = aws.client(
        "sts", credentials={"aws_access_key_id": key, "aws_secret_access_key": "y" * 40}
    )
    with pytest.raises(ClientError) as mismatch:
        forged.get_caller_identity()
    assert _code(mismatch) == "SignatureDoesNotMatch"
