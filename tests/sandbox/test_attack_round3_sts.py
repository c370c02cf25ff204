"""Issue 10, round 3 (STS): what a chained session carries into the next hop.

A source identity, once set, persists and cannot change; every later hop needs
``sts:SetSourceIdentity`` for it, in the caller's policies and in the target's trust. An
inherited transitive tag cannot be passed again, and it is set again on every later hop,
which therefore needs ``sts:TagSession``. Session-policy ARNs must name policies of the
role's account. Expired and mismatched session tokens authenticate nothing, and
``GetAccessKeyInfo`` answers a key's account. Driven with boto3 and raw HTTP, as a user
or an attacker would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .keykit import code, keys_of, message

ASSUME_ALL = [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]
READ_BUCKETS = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]


def _document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _role(
    aws: Any,
    account: str,
    principal: dict[str, Any],
    actions: list[str],
    statements: list[dict[str, Any]] | None = None,
    *,
    condition: dict[str, Any] | None = None,
) -> str:
    """A role trusting ``principal`` for ``actions``, allowed ``statements``."""
    iam = aws.client("iam", account=account)
    name = aws.unique("r3")
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": actions}
    if condition:
        trust["Condition"] = condition
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_document([trust]))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=_document(statements or ASSUME_ALL)
    )
    return str(arn)


def _account_root(account: str) -> dict[str, str]:
    return {"AWS": f"arn:aws:iam::{account}:root"}


def _session(aws: Any, credentials: dict[str, str] | None, role_arn: str, **params: Any) -> Any:
    sts = (
        aws.client("sts", account=aws.CI)
        if credentials is None
        else aws.client("sts", credentials=credentials)
    )
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="s3ssn", **params)


def _first_hop(aws: Any, **params: Any) -> dict[str, str]:
    """A CI-account session (from the account's admin) that may call all of STS."""
    first = _role(
        aws,
        aws.CI,
        _account_root(aws.CI),
        ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    )
    return keys_of(_session(aws, None, first, **params)["Credentials"])


# --------------------------------------------------------------------------- source identity
def test_source_identity_cannot_change_in_a_chained_hop(aws: Any) -> None:
    caller = _first_hop(aws, SourceIdentity="alice")
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole", "sts:SetSourceIdentity"])
    with pytest.raises(ClientError) as refused:
        _session(aws, caller, target, SourceIdentity="mallory")
    assert code(refused) == "ValidationError"
    assert "source identity" in message(refused).lower()
    same = _session(aws, caller, target, SourceIdentity="alice")
    assert same["SourceIdentity"] == "alice"
    kept = _session(aws, caller, target)
    assert kept["SourceIdentity"] == "alice"


def test_inherited_source_identity_needs_set_source_identity_in_the_trust(aws: Any) -> None:
    """Role chaining with a source identity needs ``sts:SetSourceIdentity`` on the next
    role (IAM UG "Permissions required to set source identity"): a trust that allows only
    ``sts:AssumeRole`` refuses a session that carries one, and admits one that does not."""
    caller = _first_hop(aws, SourceIdentity="alice")
    plain = _first_hop(aws)
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"])
    with pytest.raises(ClientError) as refused:
        _session(aws, caller, target)
    assert code(refused) == "AccessDenied"
    assert "sts:SetSourceIdentity" in message(refused)
    assert "SourceIdentity" not in _session(aws, plain, target)


def test_inherited_source_identity_is_what_the_trust_conditions_see(aws: Any) -> None:
    """``sts:SourceIdentity`` of a chained hop is the persisting value: a trust that lets
    only ``bob`` set it refuses ``alice``'s session even when she passes nothing."""
    only_bob = {"StringEquals": {"sts:SourceIdentity": "bob"}}
    target = _role(
        aws,
        aws.CI,
        _account_root(aws.CI),
        ["sts:AssumeRole", "sts:SetSourceIdentity"],
        condition=only_bob,
    )
    with pytest.raises(ClientError) as refused:
        _session(aws, _first_hop(aws, SourceIdentity="alice"), target)
    assert code(refused) == "AccessDenied"
    bob = _session(aws, _first_hop(aws, SourceIdentity="bob"), target)
    assert bob["SourceIdentity"] == "bob"


def test_source_identity_may_not_start_with_aws(aws: Any) -> None:
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole", "sts:SetSourceIdentity"])
    with pytest.raises(ClientError) as refused:
        _session(aws, None, target, SourceIdentity="aws:admin")
    assert code(refused) == "ValidationError"


# --------------------------------------------------------------------------- transitive tags
def _tagged_hop(aws: Any) -> dict[str, str]:
    """A session with transitive ``Team=blue`` and plain ``Cost=1``."""
    return _first_hop(
        aws,
        Tags=[{"Key": "Team", "Value": "blue"}, {"Key": "Cost", "Value": "1"}],
        TransitiveTagKeys=["Team"],
    )


def test_inherited_transitive_tag_cannot_be_passed_again(aws: Any) -> None:
    caller = _tagged_hop(aws)
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole", "sts:TagSession"])
    for key in ("Team", "team"):
        with pytest.raises(ClientError) as refused:
            _session(aws, caller, target, Tags=[{"Key": key, "Value": "red"}])
        assert code(refused) == "ValidationError"
    other = _session(aws, caller, target, Tags=[{"Key": "Cost", "Value": "2"}])
    assert other["AssumedRoleUser"]["Arn"].endswith("/s3ssn")


def test_transitive_tags_persist_and_need_tag_session_on_every_hop(aws: Any) -> None:
    """The chained hop sets the transitive tag again: without ``sts:TagSession`` in the
    next trust it is refused; with it, the tag (and only it) reaches the third hop."""
    caller = _tagged_hop(aws)
    no_tags = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"])
    with pytest.raises(ClientError) as refused:
        _session(aws, caller, no_tags)
    assert code(refused) == "AccessDenied"
    assert "sts:TagSession" in message(refused)
    only_blue = {"StringEquals": {"aws:PrincipalTag/Team": "blue"}}
    third = _role(
        aws,
        aws.CI,
        _account_root(aws.CI),
        ["sts:AssumeRole", "sts:TagSession"],
        condition={"Null": {"aws:PrincipalTag/Cost": "true"}, **only_blue},
    )
    second = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole", "sts:TagSession"])
    hop2 = keys_of(_session(aws, caller, second)["Credentials"])
    assert _session(aws, hop2, third)["AssumedRoleUser"]["Arn"].endswith("/s3ssn")


def test_tag_session_conditions_see_the_inherited_tags(aws: Any) -> None:
    """A trust that lets only ``Team=green`` be set refuses the inherited ``Team=blue``."""
    green = {"StringEquals": {"aws:RequestTag/Team": "green"}}
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("r3")
    trust = [
        {"Effect": "Allow", "Principal": _account_root(aws.CI), "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": _account_root(aws.CI),
            "Action": "sts:TagSession",
            "Condition": green,
        },
    ]
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_document(trust))["Role"]["Arn"]
    with pytest.raises(ClientError) as refused:
        _session(aws, _tagged_hop(aws), arn)
    assert code(refused) == "AccessDenied"


def test_duplicate_tag_keys_ignoring_case_are_refused(aws: Any) -> None:
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole", "sts:TagSession"])
    with pytest.raises(ClientError) as refused:
        _session(
            aws, None, target, Tags=[{"Key": "Team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}]
        )
    assert code(refused) == "ValidationError"
    assert "case insensitive" in message(refused)


# --------------------------------------------------------------------------- parameters
def test_policy_arns_of_another_account_or_missing_are_refused(aws: Any) -> None:
    other = aws.client("iam", account=aws.TARGET).create_policy(
        PolicyName=aws.unique("p"), PolicyDocument=_document(READ_BUCKETS)
    )["Policy"]["Arn"]
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"])
    missing = f"arn:aws:iam::{aws.CI}:policy/{aws.unique('none')}"
    for arn in (other, missing):
        with pytest.raises(ClientError) as refused:
            _session(aws, None, target, PolicyArns=[{"arn": arn}])
        assert code(refused) == "ValidationError", arn
    eleven = [{"arn": missing + str(n)} for n in range(11)]
    with pytest.raises(ClientError) as too_many:
        _session(aws, None, target, PolicyArns=eleven)
    assert "less than or equal to 10" in message(too_many)


def test_chained_hop_longer_than_an_hour_is_refused(aws: Any) -> None:
    caller = _first_hop(aws)
    iam = aws.client("iam", account=aws.CI)
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"])
    iam.update_role(RoleName=target.rsplit("/", 1)[1], MaxSessionDuration=7200)
    with pytest.raises(ClientError) as refused:
        _session(aws, caller, target, DurationSeconds=3601)
    assert "1 hour session limit" in message(refused)
    assert _session(aws, None, target, DurationSeconds=7200)["Credentials"]


# --------------------------------------------------------------------------- session keys
def test_session_token_of_another_session_is_invalid(aws: Any) -> None:
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"], READ_BUCKETS)
    one = keys_of(_session(aws, None, target)["Credentials"])
    two = keys_of(_session(aws, None, target)["Credentials"])
    crossed = {**one, "aws_session_token": two["aws_session_token"]}
    for keys in (crossed, {k: v for k, v in one.items() if k != "aws_session_token"}):
        with pytest.raises(ClientError) as refused:
            aws.client("sts", credentials=keys).get_caller_identity()
        assert code(refused) == "InvalidClientTokenId"
    assert aws.client("sts", credentials=one).get_caller_identity()["Arn"].endswith("/s3ssn")


def test_expired_session_keys_authenticate_nothing(aws: Any, sandbox: Any) -> None:
    target = _role(aws, aws.CI, _account_root(aws.CI), ["sts:AssumeRole"], READ_BUCKETS)
    issued = _session(aws, None, target)["Credentials"]
    held = sandbox.store.get(issued["AccessKeyId"])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    sandbox.store.add(dataclasses.replace(held, expires_at=past))
    for service, call in (("sts", "get_caller_identity"), ("iam", "list_roles")):
        with pytest.raises(ClientError) as refused:
            getattr(aws.client(service, credentials=keys_of(issued)), call)()
        assert code(refused) == "ExpiredToken", service
