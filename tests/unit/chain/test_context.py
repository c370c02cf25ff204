"""The one request-context assembler: which keys are present, with which values, and how
the engine then decides Denys on them (IAM UG "AWS global condition context keys")."""

from __future__ import annotations

import datetime as dt

import pytest

from kubetrust import policy
from kubetrust.chain import context, graph, links
from kubetrust.chain import sts as hops
from kubetrust.model.iam import Role

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
FACTS = context.RequestFacts(
    now=NOW, secure_transport=False, region="eu-west-1", source_ip="10.1.2.3"
)
SESSION = context.Principal(
    kind=context.ROLE_SESSION,
    arn="arn:aws:iam::111111111111:role/team/app",
    account="111111111111",
    user_id="AROAEXAMPLE123456789:s",
    tags={"team": "red"},
    temporary=True,
    issued_at=NOW - dt.timedelta(minutes=5),
)
USER = context.Principal(
    kind=context.USER,
    arn="arn:aws:iam::111111111111:user/alice",
    account="111111111111",
    user_id="AIDAEXAMPLE123456789",
    username="alice",
)


def test_role_session_keys() -> None:
    keys = context.build(SESSION, FACTS, context.Resource(account="222222222222"), service="eks")
    assert keys["aws:PrincipalArn"] == "arn:aws:iam::111111111111:role/team/app"
    assert keys["aws:PrincipalType"] == "AssumedRole"
    assert keys["aws:PrincipalTag/team"] == "red"
    assert keys["aws:MultiFactorAuthPresent"] is False
    assert keys["aws:TokenIssueTime"] == "2024-05-01T11:55:00Z"
    assert keys["aws:CurrentTime"] == "2024-05-01T12:00:00Z"
    assert keys["aws:EpochTime"] == int(NOW.timestamp())
    assert keys["aws:SecureTransport"] is False
    assert keys["aws:RequestedRegion"] == "eu-west-1"
    assert keys["aws:SourceIp"] == "10.1.2.3"
    assert keys["aws:ResourceAccount"] == "222222222222"
    assert keys["aws:ViaAWSService"] is False
    for absent in ("aws:username", "aws:MultiFactorAuthAge", "aws:CalledVia", "aws:PrincipalOrgID"):
        assert absent not in keys


def test_long_term_keys_have_no_mfa_or_issue_time() -> None:
    keys = context.build(USER, FACTS)
    assert keys["aws:username"] == "alice"
    assert keys["aws:PrincipalType"] == "User"
    assert "aws:MultiFactorAuthPresent" not in keys
    assert "aws:TokenIssueTime" not in keys


def test_iam_is_always_us_east_1_and_unknown_facts_stay_absent() -> None:
    assert context.request_keys(FACTS, "iam")["aws:RequestedRegion"] == "us-east-1"
    keys = context.request_keys(context.RequestFacts(), "s3")
    assert keys == {"aws:ViaAWSService": False}


def test_resource_tags_and_org() -> None:
    resource = context.Resource(
        account="222222222222",
        tags={"env": "prod"},
        tag_prefixes=("aws", "iam"),
        org=context.Org("o-abc1234567", ("o-abc1234567/r-ab12/",)),
    )
    keys = context.resource_keys(resource)
    assert keys["aws:ResourceTag/env"] == keys["iam:ResourceTag/env"] == "prod"
    assert keys["aws:ResourceOrgID"] == "o-abc1234567"
    assert keys["aws:ResourceOrgPaths"] == ["o-abc1234567/r-ab12/"]


def test_mfa_age_only_with_mfa() -> None:
    with_mfa = context.Principal(
        kind=context.ROLE_SESSION,
        arn=SESSION.arn,
        account=SESSION.account,
        temporary=True,
        mfa_at=NOW - dt.timedelta(seconds=90),
    )
    keys = context.principal_keys(with_mfa, NOW)
    assert keys["aws:MultiFactorAuthPresent"] is True
    assert keys["aws:MultiFactorAuthAge"] == 90


def test_session_tags_override_role_tags_ignoring_case() -> None:
    assert context.merged_tags({"Team": "red", "env": "dev"}, {"team": "blue"}) == {
        "env": "dev",
        "team": "blue",
    }


def _deny(condition: dict[str, object]) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition},
        ],
    }


@pytest.mark.parametrize(
    ("condition", "denied"),
    [
        ({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}, True),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/team/*"}}, True),
        ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, True),
        ({"Null": {"aws:CalledVia": "false"}}, False),
    ],
)
def test_denies_apply_through_the_engine(condition: dict[str, object], denied: bool) -> None:
    keys = context.build(SESSION, FACTS, service="eks")
    request = policy.Request(
        "arn:aws:sts::111111111111:assumed-role/app/s", "eks:ListClusters", "*", keys
    )
    decision = policy.authorize(request, policy.policy_set(identity=[_deny(condition)]))
    assert decision.allowed is not denied


def _role(name: str, path: str = "/", tags: dict[str, str] | None = None) -> Role:
    return Role(
        arn=f"arn:aws:iam::111111111111:role{path}{name}",
        name=name,
        account="111111111111",
        path=path,
        role_id="AROAEXAMPLE123456789",
        tags=tags or {},
    )


def test_explain_caller_context_keeps_the_role_path() -> None:
    """Item 13: explain's aws:PrincipalArn is the role ARN with its path, as the sandbox's."""
    keys = graph.caller_context(_role("app", "/team/"), request=FACTS)
    assert keys["aws:PrincipalArn"] == "arn:aws:iam::111111111111:role/team/app"
    assert keys["aws:userid"] == "AROAEXAMPLE123456789:kubetrust"
    assert keys["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"


def test_assume_role_hop_carries_the_target_roles_tags_and_account() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    side = hops.CallerSide(identity=[_deny({"StringEquals": {"aws:ResourceTag/team": "red"}})])
    caller = "arn:aws:sts::111111111111:assumed-role/app/s"
    red = hops.RoleSide("arn:aws:iam::111111111111:role/red", trust, tags={"team": "red"})
    blue = hops.RoleSide("arn:aws:iam::111111111111:role/blue", trust, tags={"team": "blue"})
    assert not hops.assume_role(caller, side, red, session_name="s", request=FACTS).allowed
    assert hops.assume_role(caller, side, blue, session_name="s", request=FACTS).allowed
    (check,) = hops.assume_role(caller, side, blue, session_name="s").checks
    assert check.request.context is not None
    assert check.request.context["aws:ResourceAccount"] == "111111111111"


def test_web_identity_hop_carries_the_federated_provider() -> None:
    issuer = "https://oidc.example.com/id/ABC"
    provider = "arn:aws:iam::111111111111:oidc-provider/oidc.example.com/id/ABC"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"aws:FederatedProvider": provider}},
            }
        ],
    }
    role = hops.RoleSide("arn:aws:iam::111111111111:role/web", trust)
    hop = hops.assume_role_with_web_identity(
        provider, issuer, {"sub": "x", "aud": "sts.amazonaws.com"}, role, session_name="s"
    )
    assert hop.allowed


def test_links_aws_action_region_and_resource_tags() -> None:
    """explain's goal link reads the same keys: a role resource's tags, the region."""
    from kubetrust.model.iam import AccountIam, NamedDocument
    from kubetrust.model.topology import Topology

    deny = policy.parse_policy(
        _deny({"StringEquals": {"iam:ResourceTag/env": "prod"}}), policy.PolicyKind.IDENTITY
    )
    caller = Role(
        arn="arn:aws:iam::111111111111:role/app",
        name="app",
        account="111111111111",
        inline=(NamedDocument("p", deny),),
    )
    prod = _role("prod", tags={"env": "prod"})
    topology = Topology.build([AccountIam("111111111111", {"app": caller, "prod": prod})])
    link = links.aws_action(topology, caller, "iam:GetRole", prod.arn, request=FACTS)
    assert not link.allowed
    other = links.aws_action(topology, caller, "iam:GetRole", "*", request=FACTS)
    assert other.allowed
