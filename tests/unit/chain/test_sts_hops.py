"""Two-sided STS hops: the seed's chain and the ways it breaks."""

from __future__ import annotations

import pytest

from kubetrust.chain import sts
from kubetrust.policy import sts as sts_requests

CI = "111111111111"
TARGET = "222222222222"
CI_ROLE = f"arn:aws:iam::{CI}:role/ci-account-iam-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-account-iam-role"
SESSION = f"arn:aws:sts::{CI}:assumed-role/ci-account-iam-role/botocore-session-1"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PREFIX = ISSUER.removeprefix("https://")
PROVIDER = f"arn:aws:iam::{CI}:oidc-provider/{PREFIX}"
SA = "system:serviceaccount:ci-namespace:ci-serviceaccount"


def _doc(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


CI_IDENTITY = _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": TARGET_ROLE})
TARGET_TRUST = _doc({"Effect": "Allow", "Principal": {"AWS": CI_ROLE}, "Action": "sts:AssumeRole"})
CI_TRUST = _doc(
    {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{PREFIX}:sub": SA, f"{PREFIX}:aud": "sts.amazonaws.com"}},
    }
)


def _hop2(identity: list[object], trust: dict[str, object], **kwargs: object) -> sts.HopResult:
    return sts.assume_role(
        SESSION,
        sts.CallerSide(identity=identity),  # type: ignore[arg-type]
        sts.RoleSide(arn=TARGET_ROLE, trust=trust),
        session_name="target",
        **kwargs,  # type: ignore[arg-type]
    )


def test_seed_hop2_allows_with_both_sides() -> None:
    hop = _hop2([CI_IDENTITY], TARGET_TRUST)
    assert hop.allowed and hop.failed is None
    (check,) = hop.checks
    assert check.caller_side is not None and check.caller_side.allowed
    assert check.trust_side.allowed


def test_missing_caller_side_fails_cross_account_and_says_which_side() -> None:
    hop = _hop2([], TARGET_TRUST)
    assert not hop.allowed
    failed = hop.failed
    assert failed is not None and failed.action == "sts:AssumeRole"
    assert failed.caller_side is not None and not failed.caller_side.allowed
    assert failed.trust_side.allowed


def test_trust_not_naming_the_ci_role_fails_on_the_trust_side() -> None:
    other = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CI}:role/someone-else"},
            "Action": "sts:AssumeRole",
        }
    )
    hop = _hop2([CI_IDENTITY], other)
    failed = hop.failed
    assert failed is not None
    assert failed.caller_side is not None and failed.caller_side.allowed
    assert not failed.trust_side.allowed


def test_session_tags_need_tag_session_on_both_sides() -> None:
    tags = sts_requests.SessionTags({"team": "ci"})
    hop = _hop2([CI_IDENTITY], TARGET_TRUST, tags=tags)
    assert [c.action for c in hop.checks] == ["sts:AssumeRole", "sts:TagSession"]
    assert not hop.allowed
    identity = _doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": TARGET_ROLE}
    )
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": CI_ROLE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )
    assert _hop2([identity], trust, tags=tags).allowed


def test_web_identity_hop_has_no_caller_side() -> None:
    role = sts.RoleSide(arn=CI_ROLE, trust=CI_TRUST)
    good = sts.assume_role_with_web_identity(
        PROVIDER, ISSUER, {"sub": SA, "aud": "sts.amazonaws.com"}, role, session_name="s"
    )
    assert good.allowed
    assert good.checks[0].caller_side is None
    wrong_sa = sts.assume_role_with_web_identity(
        PROVIDER,
        ISSUER,
        {"sub": "system:serviceaccount:ci-namespace:other", "aud": "sts.amazonaws.com"},
        role,
        session_name="s",
    )
    assert not wrong_sa.allowed


def test_wildcard_sub_under_string_equals_never_matches() -> None:
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{PREFIX}:sub": "system:serviceaccount:ci-namespace:*"}
            },
        }
    )
    hop = sts.assume_role_with_web_identity(
        PROVIDER, ISSUER, {"sub": SA}, sts.RoleSide(arn=CI_ROLE, trust=trust), session_name="s"
    )
    assert not hop.allowed


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a", "greater than or equal to 2"),
        ("x" * 65, "less than or equal to 64"),
        ("has space", "regular expression pattern"),
        ("ok-name_1=+,.@", None),
    ],
)
def test_session_name_rules(name: str, fragment: str | None) -> None:
    message = sts.check_session_name(name)
    if fragment is None:
        assert message is None
    else:
        assert message is not None and fragment in message


@pytest.mark.parametrize(
    ("requested", "maximum", "chained", "granted", "fragment"),
    [
        (None, 3600, False, 3600, None),
        (None, 43200, True, 3600, None),
        (7200, 43200, False, 7200, None),
        (7200, 43200, True, 7200, "1 hour session limit for roles assumed by role chaining"),
        (7200, 3600, False, 7200, "exceeds the MaxSessionDuration"),
        (899, 3600, False, 899, "greater than or equal to 900"),
        (43201, 43200, False, 43201, "less than or equal to 43200"),
        (3600, 3600, True, 3600, None),
    ],
)
def test_duration_rules(
    requested: int | None, maximum: int, chained: bool, granted: int, fragment: str | None
) -> None:
    duration, message = sts.check_duration(requested, max_session_duration=maximum, chained=chained)
    assert duration == granted
    if fragment is None:
        assert message is None
    else:
        assert message is not None and fragment in message


# ---------------------------------------------------------------------- chaining (B.1, B.6)


def test_chained_source_identity_persists_and_cannot_change() -> None:
    """Once set, the source identity is every later hop's; another value is refused."""
    assert sts.chained_source_identity(None, "alice") == "alice"
    assert sts.chained_source_identity("alice", None) == "alice"
    assert sts.chained_source_identity("alice", "alice") == "alice"
    with pytest.raises(sts.ChainRefused, match="cannot replace the source identity alice"):
        sts.chained_source_identity("alice", "bob")


def test_chained_tags_inherit_only_transitive_keys() -> None:
    """Transitive tags are set again (with their keys kept transitive), plain ones drop;
    an inherited key cannot be passed again, whatever its case."""
    carried = sts.Carried(None, {"team": "red", "cost": "1"}, ("team",))
    tags = sts.chained_tags(carried, sts_requests.SessionTags({"env": "dev"}))
    assert tags is not None
    assert dict(tags.tags) == {"team": "red", "env": "dev"}
    assert tuple(tags.transitive) == ("team",)
    assert sts.chained_tags(sts.Carried(None, {"cost": "1"}), None) is None
    with pytest.raises(sts.ChainRefused, match="transitive tag"):
        sts.chained_tags(carried, sts_requests.SessionTags({"Team": "blue"}))
