"""The requests an assume call must pass, and the keys STS puts in their context."""

from __future__ import annotations

import pytest

from kubetrust import errors, policy
from kubetrust.policy import sts

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PREFIX = ISSUER.removeprefix("https://")
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{PREFIX}"
CI_ROLE = "arn:aws:iam::111111111111:role/ci-account-iam-role"
SA = "system:serviceaccount:ci-namespace:ci-serviceaccount"


def _trust(*extra_actions: str, condition: dict[str, object] | None = None) -> dict[str, object]:
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": ["sts:AssumeRoleWithWebIdentity", *extra_actions],
    }
    statement["Condition"] = condition or {
        "StringEquals": {f"{PREFIX}:sub": SA, f"{PREFIX}:aud": "sts.amazonaws.com"}
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def _outcomes(requests: list[policy.Request], trust: dict[str, object]) -> list[str]:
    policies = policy.PolicySet(resource=trust)
    return [policy.authorize(r, policies).outcome.value for r in requests]


def test_provider_arn_and_key_prefix_strip_the_scheme() -> None:
    assert sts.provider_arn("111111111111", ISSUER) == PROVIDER
    assert sts.issuer_key_prefix(ISSUER + "/") == PREFIX
    with pytest.raises(errors.InputError):
        sts.issuer_key_prefix("http://insecure.example.com")


def test_web_identity_context_has_sub_aud_and_multivalued_amr() -> None:
    context = sts.web_identity_context(
        ISSUER, {"sub": SA, "aud": "sts.amazonaws.com", "amr": ["pwd"], "iat": 1}
    )
    assert context == {
        f"{PREFIX}:sub": SA,
        f"{PREFIX}:aud": "sts.amazonaws.com",
        f"{PREFIX}:amr": ["pwd"],
    }


def test_seed_service_account_is_allowed_and_another_is_not() -> None:
    good = sts.web_identity_requests(
        PROVIDER, CI_ROLE, ISSUER, {"sub": SA, "aud": "sts.amazonaws.com"}, session_name="s"
    )
    bad = sts.web_identity_requests(
        PROVIDER,
        CI_ROLE,
        ISSUER,
        {"sub": "system:serviceaccount:ci-namespace:other", "aud": "sts.amazonaws.com"},
        session_name="s",
    )
    assert [r.action for r in good] == ["sts:AssumeRoleWithWebIdentity"]
    assert _outcomes(good, _trust()) == ["Allow"]
    assert _outcomes(bad, _trust()) == ["ImplicitDeny"]


def test_wrong_audience_is_denied_by_the_aud_condition() -> None:
    requests = sts.web_identity_requests(
        PROVIDER, CI_ROLE, ISSUER, {"sub": SA, "aud": "other"}, session_name="s"
    )
    assert _outcomes(requests, _trust()) == ["ImplicitDeny"]


def test_token_session_tags_need_tag_session_in_the_trust_policy() -> None:
    claims = {
        "sub": SA,
        "aud": "sts.amazonaws.com",
        sts.TAGS_CLAIM: {"principal_tags": {"team": ["ci"]}, "transitive_tag_keys": ["team"]},
    }
    requests = sts.web_identity_requests(PROVIDER, CI_ROLE, ISSUER, claims, session_name="s")
    assert [r.action for r in requests] == ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
    assert requests[1].context is not None
    assert requests[1].context["aws:RequestTag/team"] == "ci"
    assert requests[1].context["aws:TagKeys"] == ["team"]
    assert requests[1].context["sts:TransitiveTagKeys"] == ["team"]
    assert _outcomes(requests, _trust()) == ["Allow", "ImplicitDeny"]
    assert _outcomes(requests, _trust("sts:TagSession")) == ["Allow", "Allow"]


def test_malformed_tag_claim_is_an_input_error() -> None:
    claims = {"sub": SA, sts.TAGS_CLAIM: {"principal_tags": {"team": ["a", "b"]}}}
    with pytest.raises(errors.InputError, match="exactly one"):
        sts.web_identity_requests(PROVIDER, CI_ROLE, ISSUER, claims, session_name="s")


def test_assume_role_external_id_condition() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "s3cr3t-id"}},
            }
        ],
    }
    identity = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    policies = policy.PolicySet(identity=[identity], resource=trust)
    caller = "arn:aws:sts::111111111111:assumed-role/ci-account-iam-role/s"
    target = "arn:aws:iam::222222222222:role/target-account-iam-role"
    right = sts.assume_role_requests(caller, target, session_name="s2", external_id="s3cr3t-id")
    wrong = sts.assume_role_requests(caller, target, session_name="s2", external_id="guess")
    missing = sts.assume_role_requests(caller, target, session_name="s2")
    assert right[0].context is not None
    assert right[0].context["sts:RoleSessionName"] == "s2"
    assert policy.authorize(right[0], policies).allowed
    assert not policy.authorize(wrong[0], policies).allowed
    assert not policy.authorize(missing[0], policies).allowed


def test_source_identity_adds_set_source_identity_request() -> None:
    caller = "arn:aws:sts::111111111111:assumed-role/ci/s"
    requests = sts.assume_role_requests(caller, CI_ROLE, session_name="s", source_identity="alice")
    assert [r.action for r in requests] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert requests[1].context is not None
    assert requests[1].context["sts:SourceIdentity"] == "alice"
