"""STS decisions see the full request context (issue 10, items 6 and 7, for STS's own calls).

``AssumeRole``, ``AssumeRoleWithWebIdentity`` and ``GetFederationToken`` are decided with
the same context every other call gets (:mod:`kubetrust.chain.context`): the request's
time, transport, region and peer, the target role's tags and account, and the caller's
keys — its session's issue time and MFA. A Deny on any of them must apply where AWS
applies it: in the caller's identity policy, and in the role's trust policy (the trust is
evaluated against the same request). Each Deny has a sibling whose condition does not
hold, and which must not refuse. GetSessionToken is the documented exception: no policy
is evaluated for it (IAM UG, "Permissions for GetSessionToken").

The principal's tags and MFA come from what the key is bound to, by unique id: a session
of a deleted role must not carry the tags of a later role of the same name.

All calls go through boto3 against the running sandbox, as a client would make them.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust.chain import context
from kubetrust.sandbox.aws import identity, state
from kubetrust.sandbox.aws.services.sts import params

from .keykit import code, document, keys_of, new_user

ASSUME_ANY = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
PAST = "2001-01-01T00:00:00Z"
FUTURE = "2100-01-01T00:00:00Z"

# A condition that holds for every sandbox request, and its sibling that never does.
GUARDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "requested-region": (
        {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
        {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    ),
    "current-time": (
        {"DateGreaterThan": {"aws:CurrentTime": PAST}},
        {"DateLessThan": {"aws:CurrentTime": PAST}},
    ),
    "epoch-time": (
        {"NumericGreaterThan": {"aws:EpochTime": "978307200"}},
        {"NumericLessThan": {"aws:EpochTime": "978307200"}},
    ),
    "source-ip": (
        {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    ),
    "secure-transport": (
        {"Bool": {"aws:SecureTransport": "false"}},
        {"Bool": {"aws:SecureTransport": "true"}},
    ),
    "resource-account": (
        {"StringEquals": {"aws:ResourceAccount": "222222222222"}},
        {"StringEquals": {"aws:ResourceAccount": "999999999999"}},
    ),
}


def _deny(action: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", "Condition": condition}


def _trust_deny(action: str, condition: dict[str, Any]) -> dict[str, Any]:
    """A trust policy's Deny for everyone (trusts name a Principal, never a Resource)."""
    return {"Effect": "Deny", "Principal": "*", "Action": action, "Condition": condition}


def _target(
    aws: Any,
    trusted: str,
    *trust_extra: dict[str, Any],
    tags: dict[str, str] | None = None,
    account: str | None = None,
) -> str:
    """A role (in TARGET unless told) whose trust allows ``trusted`` to assume it, plus
    ``trust_extra`` statements; tagged ``tags``."""
    iam = aws.client("iam", account=account or aws.TARGET)
    trust = [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"},
        *trust_extra,
    ]
    extra = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
    created = iam.create_role(
        RoleName=aws.unique("ctx"), AssumeRolePolicyDocument=document(trust), **extra
    )
    return str(created["Role"]["Arn"])


def _assume(aws: Any, keys: dict[str, str], role_arn: str, **extra: Any) -> dict[str, Any]:
    sts = aws.client("sts", credentials=keys)
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="ctx", **extra)  # type: ignore[no-any-return]


def _refused(aws: Any, keys: dict[str, str], role_arn: str, **extra: Any) -> None:
    with pytest.raises(ClientError) as refused:
        _assume(aws, keys, role_arn, **extra)
    assert code(refused) == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _role_session(aws: Any, statements: list[dict[str, Any]]) -> dict[str, str]:
    """Keys of a session of a new CI role with ``statements`` (assumed by the CI admin)."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("caller")
    trust = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"}, "Action": "*"}
    ]
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document(statements))
    return keys_of(_assume(aws, _admin(aws), role["Arn"])["Credentials"])


def _admin(aws: Any) -> dict[str, str]:
    key, secret = aws.sandbox.admin_keys[aws.CI]
    return {"aws_access_key_id": key, "aws_secret_access_key": secret}


# ---------------------------------------------------------------------- AssumeRole, caller side


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_a_deny_in_the_callers_policy_applies_to_assume_role(aws: Any, guard: str) -> None:
    holds, fails = GUARDS[guard]
    user, denied = new_user(aws, aws.CI, [ASSUME_ANY, _deny("sts:AssumeRole", holds)])
    _refused(aws, denied, _target(aws, user["Arn"]))
    user, allowed = new_user(aws, aws.CI, [ASSUME_ANY, _deny("sts:AssumeRole", fails)])
    assert _assume(aws, allowed, _target(aws, user["Arn"]))["Credentials"]["AccessKeyId"]


def test_the_target_roles_tags_are_its_resource_tags(aws: Any) -> None:
    condition = {"StringEquals": {"aws:ResourceTag/env": "prod"}}
    user, keys = new_user(aws, aws.CI, [ASSUME_ANY, _deny("sts:AssumeRole", condition)])
    _refused(aws, keys, _target(aws, user["Arn"], tags={"env": "prod"}))
    assert _assume(aws, keys, _target(aws, user["Arn"], tags={"env": "dev"}))
    assert _assume(aws, keys, _target(aws, user["Arn"]))  # untagged: the key is absent


def test_token_issue_time_is_the_calling_sessions_and_absent_for_access_keys(aws: Any) -> None:
    issued_before = _deny("sts:AssumeRole", {"DateLessThan": {"aws:TokenIssueTime": FUTURE}})
    session = _role_session(aws, [ASSUME_ANY, issued_before])
    _refused(aws, session, _target(aws, f"arn:aws:iam::{aws.CI}:root"))
    # the sibling: a window the session was not issued in
    older = _deny("sts:AssumeRole", {"DateLessThan": {"aws:TokenIssueTime": PAST}})
    fresh = _role_session(aws, [ASSUME_ANY, older])
    assert _assume(aws, fresh, _target(aws, f"arn:aws:iam::{aws.CI}:root"))
    # long-term keys carry no issue time: the same Deny does not match an absent key
    user, keys = new_user(aws, aws.CI, [ASSUME_ANY, issued_before])
    assert _assume(aws, keys, _target(aws, user["Arn"]))


# ---------------------------------------------------------------------- AssumeRole, trust side


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_a_deny_in_the_trust_policy_applies_to_assume_role(aws: Any, guard: str) -> None:
    holds, fails = GUARDS[guard]
    user, keys = new_user(aws, aws.CI, [ASSUME_ANY])
    denying = _target(aws, user["Arn"], _trust_deny("sts:AssumeRole", holds))
    _refused(aws, keys, denying)
    sibling = _target(aws, user["Arn"], _trust_deny("sts:AssumeRole", fails))
    assert _assume(aws, keys, sibling)


def test_a_trust_allowing_only_one_region_and_only_its_own_tags(aws: Any) -> None:
    user, keys = new_user(aws, aws.CI, [ASSUME_ANY])

    def conditional(condition: dict[str, Any], tags: dict[str, str] | None = None) -> str:
        iam = aws.client("iam", account=aws.TARGET)
        trust = [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["Arn"]},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
        extra = {"Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
        name = aws.unique("cond")
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust), **extra)
        return str(role["Role"]["Arn"])

    assert _assume(aws, keys, conditional({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    _refused(aws, keys, conditional({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    tagged = {"StringEquals": {"aws:ResourceTag/open": "yes"}}
    assert _assume(aws, keys, conditional(tagged, {"open": "yes"}))
    _refused(aws, keys, conditional(tagged, {"open": "no"}))


def test_a_trust_deny_on_session_callers_by_token_issue_time(aws: Any) -> None:
    """The trust sees the caller's keys too: a Deny on sessions (``aws:TokenIssueTime``
    present) refuses a role session and admits a user's access keys."""
    sessions_only = _trust_deny("sts:AssumeRole", {"Null": {"aws:TokenIssueTime": "false"}})
    session = _role_session(aws, [ASSUME_ANY])
    _refused(
        aws,
        session,
        _target(aws, f"arn:aws:iam::{aws.CI}:root", sessions_only),
    )
    user, keys = new_user(aws, aws.CI, [ASSUME_ANY])
    assert _assume(aws, keys, _target(aws, user["Arn"], sessions_only))


# ---------------------------------------------------------------------- MFA


def _mfa_user(
    aws: Any, statements: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, str], str, str]:
    """A user with a virtual MFA device enabled: (user, keys, serial, a valid code now)."""
    user, keys = new_user(aws, aws.CI, statements)
    iam = aws.client("iam", account=aws.CI)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=aws.unique("mfa"))
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=user["UserName"], SerialNumber=serial, AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )  # fmt: skip
    seed = state.mfa_seed(aws.CI, user["UserName"], serial)  # what the user's phone holds
    assert seed is not None
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    return user, keys, serial, params.totp(key, int(time.time()) // 30)


REQUIRE_MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _mfa_trust(aws: Any, trusted: str) -> str:
    iam = aws.client("iam", account=aws.TARGET)
    trust = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": trusted},
            "Action": "sts:AssumeRole",
            "Condition": REQUIRE_MFA,
        }
    ]
    role = iam.create_role(RoleName=aws.unique("mfa"), AssumeRolePolicyDocument=document(trust))
    return str(role["Role"]["Arn"])


def test_assume_role_with_an_mfa_code_meets_a_trust_requiring_mfa(aws: Any) -> None:
    """The documented cross-account MFA pattern: a user's access keys plus SerialNumber
    and TokenCode on the AssumeRole call itself."""
    user, keys, serial, good = _mfa_user(aws, [ASSUME_ANY])
    role = _mfa_trust(aws, user["Arn"])
    _refused(aws, keys, role)  # no code: the key is absent, the Allow does not apply
    session = _assume(aws, keys, role, SerialNumber=serial, TokenCode=good)
    assert session["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_get_session_token_with_mfa_carries_mfa_and_its_age(aws: Any) -> None:
    statements = [
        ALLOW_ALL,
        _deny("s3:ListAllMyBuckets", {"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
        _deny("eks:ListClusters", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
        _deny("eks:DescribeCluster", {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}),
    ]
    _, keys, serial, good = _mfa_user(aws, statements)
    sts = aws.client("sts", credentials=keys)
    with_mfa = keys_of(sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"])
    assert "Buckets" in aws.client("s3", credentials=with_mfa).list_buckets()
    eks = aws.client("eks", credentials=with_mfa)
    with pytest.raises(ClientError) as young:  # MFA seconds ago: the age is present, small
        eks.list_clusters()
    assert code(young) == "AccessDeniedException"
    with pytest.raises(ClientError) as missing:  # the sibling: not older than an hour
        eks.describe_cluster(name="none")
    assert code(missing) == "ResourceNotFoundException"
    without = keys_of(sts.get_session_token()["Credentials"])
    with pytest.raises(ClientError) as no_mfa:
        aws.client("s3", credentials=without).list_buckets()
    assert code(no_mfa) == "AccessDenied"
    assert "clusters" in aws.client("eks", credentials=without).list_clusters()  # no age


def test_an_mfa_session_token_meets_a_trust_requiring_mfa(aws: Any) -> None:
    """GetSessionToken with MFA, then AssumeRole of a role whose trust requires MFA: the
    AssumeRole call carries the session's MFA (how the CLI tools chain them)."""
    user, keys, serial, good = _mfa_user(aws, [ASSUME_ANY])
    role = _mfa_trust(aws, user["Arn"])
    sts = aws.client("sts", credentials=keys)
    without = keys_of(sts.get_session_token()["Credentials"])
    _refused(aws, without, role)
    with_mfa = keys_of(sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"])
    assert _assume(aws, with_mfa, role)["Credentials"]["AccessKeyId"].startswith("ASIA")


# ---------------------------------------------------------------------- other STS calls


@pytest.mark.parametrize("guard", ["source-ip", "current-time", "requested-region"])
def test_get_federation_token_is_decided_with_the_full_context(aws: Any, guard: str) -> None:
    holds, fails = GUARDS[guard]
    federate = {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}
    _, denied = new_user(aws, aws.CI, [federate, _deny("sts:GetFederationToken", holds)])
    with pytest.raises(ClientError) as refused:
        aws.client("sts", credentials=denied).get_federation_token(Name="fed")
    assert code(refused) == "AccessDenied"
    _, allowed = new_user(aws, aws.CI, [federate, _deny("sts:GetFederationToken", fails)])
    got = aws.client("sts", credentials=allowed).get_federation_token(Name="fed")
    assert got["FederatedUser"]["Arn"].endswith(":federated-user/fed")


def test_get_federation_tokens_tag_session_sees_the_request_tags(aws: Any) -> None:
    """Sibling: the TagSession check of GetFederationToken carries the tags passed
    (``aws:RequestTag/<k>``, ``aws:TagKeys``), as AssumeRole's does."""
    allow = {
        "Effect": "Allow",
        "Action": ["sts:GetFederationToken", "sts:TagSession"],
        "Resource": "*",
    }
    guard = _deny("sts:TagSession", {"StringEquals": {"aws:RequestTag/team": "admins"}})
    _, keys = new_user(aws, aws.CI, [allow, guard])
    sts = aws.client("sts", credentials=keys)
    with pytest.raises(ClientError) as refused:
        sts.get_federation_token(Name="fed", Tags=[{"Key": "team", "Value": "admins"}])
    assert code(refused) == "AccessDenied"
    got = sts.get_federation_token(Name="fed", Tags=[{"Key": "team", "Value": "dev"}])
    assert got["FederatedUser"]["Arn"].endswith(":federated-user/fed")


def test_get_session_token_evaluates_no_policy(aws: Any) -> None:
    """ "You can include the GetSessionToken action in your policies, but it has no effect
    on a user's ability to perform the GetSessionToken operation" (IAM UG)."""
    holds, _ = GUARDS["source-ip"]
    _, keys = new_user(aws, aws.CI, [_deny("sts:GetSessionToken", holds)])
    got = aws.client("sts", credentials=keys).get_session_token()
    assert got["Credentials"]["AccessKeyId"].startswith("ASIA")


# ---------------------------------------------------------------------- web identity


def _web_role(
    aws: Any, *trust_extra: dict[str, Any], tags: dict[str, str] | None = None
) -> tuple[str, str]:
    """A CI role trusting a fresh cluster issuer's service account; (role ARN, token)."""
    _, issuer = aws.new_issuer()
    iam = aws.client("iam", account=aws.CI)
    provider = iam.create_open_id_connect_provider(
        Url=issuer.issuer_url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    trust = [
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
        },
        *trust_extra,
    ]
    extra = {"Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
    role = iam.create_role(
        RoleName=aws.unique("web"), AssumeRolePolicyDocument=document(trust), **extra
    )["Role"]
    token = issuer.mint_service_account_token(
        namespace="ns",
        service_account="sa",
        service_account_uid="uid-1",
        audiences=["sts.amazonaws.com"],
        expiration_seconds=3600,
        now=int(time.time()),
    )
    return str(role["Arn"]), token


def _web_identity(aws: Any, role_arn: str, token: str) -> dict[str, Any]:
    sts = aws.client("sts", unsigned=True)
    return sts.assume_role_with_web_identity(  # type: ignore[no-any-return]
        RoleArn=role_arn, RoleSessionName="web", WebIdentityToken=token
    )


@pytest.mark.parametrize("guard", ["source-ip", "secure-transport", "current-time"])
def test_a_trust_deny_applies_to_assume_role_with_web_identity(aws: Any, guard: str) -> None:
    holds, fails = GUARDS[guard]
    deny = _trust_deny("sts:AssumeRoleWithWebIdentity", holds)
    with pytest.raises(ClientError) as refused:
        _web_identity(aws, *_web_role(aws, deny))
    assert code(refused) == "AccessDenied"
    sibling = _trust_deny("sts:AssumeRoleWithWebIdentity", fails)
    assert _web_identity(aws, *_web_role(aws, sibling))["Credentials"]["AccessKeyId"]


def test_web_identity_sees_the_roles_tags(aws: Any) -> None:
    deny = _trust_deny(
        "sts:AssumeRoleWithWebIdentity",
        {"StringEquals": {"aws:ResourceTag/locked": "true"}},
    )
    with pytest.raises(ClientError) as refused:
        _web_identity(aws, *_web_role(aws, deny, tags={"locked": "true"}))
    assert code(refused) == "AccessDenied"
    assert _web_identity(aws, *_web_role(aws, deny, tags={"locked": "false"}))


# ---------------------------------------------------------------------- principal, by unique id


def _delete_role(aws: Any, name: str) -> None:
    iam = aws.client("iam", account=aws.CI)
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


def test_a_deleted_roles_session_does_not_carry_its_successors_tags(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("gone")
    trust = [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"}, "Action": "*"}
    ]
    first = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))["Role"]
    old = _assume(aws, _admin(aws), first["Arn"])["Credentials"]
    _delete_role(aws, name)
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=document(trust),
        Tags=[{"Key": "team", "Value": "red"}],
    )
    new = _assume(aws, _admin(aws), first["Arn"])["Credentials"]
    store = aws.sandbox.store
    stale = store.get(old["AccessKeyId"])
    current = store.get(new["AccessKeyId"])
    assert stale is not None and current is not None
    assert "team" not in identity.principal(stale, aws.sandbox.world).tags
    assert "aws:PrincipalTag/team" not in identity.caller_context(stale, None, aws.sandbox.world)
    current_tags = identity.principal(current, aws.sandbox.world).tags
    assert current_tags.get("team") == "red"  # the positive sibling


def test_a_deleted_users_session_does_not_carry_its_successors_tags(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    user, keys = new_user(aws, aws.CI, [ALLOW_ALL])
    name = user["UserName"]
    session = aws.client("sts", credentials=keys).get_session_token()["Credentials"]
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_user(UserName=name)
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    stale = aws.sandbox.store.get(session["AccessKeyId"])
    assert stale is not None
    assert "aws:PrincipalTag/team" not in identity.caller_context(stale, None, aws.sandbox.world)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document([ALLOW_ALL]))
    with pytest.raises(ClientError) as refused:  # and it acts with nothing of the successor's
        aws.client("s3", credentials=keys_of(session)).list_buckets()
    assert code(refused) == "AccessDenied"


def test_mfa_keys_of_the_principal_follow_the_session(aws: Any) -> None:
    """identity.principal reads MFA from the key: present and aged for an MFA session,
    false for a session without, absent for long-term keys."""
    _, keys, serial, good = _mfa_user(aws, [ALLOW_ALL])
    sts = aws.client("sts", credentials=keys)
    store = aws.sandbox.store
    mfa = store.get(
        sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"]["AccessKeyId"]
    )
    plain = store.get(sts.get_session_token()["Credentials"]["AccessKeyId"])
    long_term = store.get(keys["aws_access_key_id"])
    assert mfa is not None and plain is not None and long_term is not None
    now = dt.datetime.now(dt.UTC)
    facts = context.RequestFacts(now=now + dt.timedelta(seconds=90))
    with_mfa = identity.caller_context(mfa, facts, aws.sandbox.world)
    assert with_mfa["aws:MultiFactorAuthPresent"] is True
    assert 85 <= int(str(with_mfa["aws:MultiFactorAuthAge"])) <= 120
    without = identity.caller_context(plain, facts, aws.sandbox.world)
    assert without["aws:MultiFactorAuthPresent"] is False
    assert "aws:MultiFactorAuthAge" not in without
    long_term_keys = identity.caller_context(long_term, facts, aws.sandbox.world)
    assert "aws:MultiFactorAuthPresent" not in long_term_keys
