"""Principal forms IAM stores or accepts: unique ids, account ids, roots, ``*``, services,
identity providers — read by the grammar, matched by the engine (reference A.8, A.9).

A trust read back from IAM shows a deleted role's or user's unique id (``AROA…``/``AIDA…``)
in place of its ARN. Such an entry names only the entity that held the id: a role re-created
with the same name gets a new id and must not match (the fail-open this file guards).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust import errors, policy
from kubetrust.policy import PolicyKind

A = "111122223333"
B = "444455556666"
OLD_ROLE_ID = "AROAOLDROLE0000000001"
NEW_ROLE_ID = "AROANEWROLE0000000002"
USER_ID = "AIDAALICE00000000001"
SESSION = f"arn:aws:sts::{A}:assumed-role/ci/s1"
ROLE = f"arn:aws:iam::{A}:role/ci"
USER = f"arn:aws:iam::{A}:user/alice"
TARGET = f"arn:aws:iam::{B}:role/target"
BUCKET = "arn:aws:s3:::bucket/key"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume(principal: object, effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}


ALLOW_ALL = trust({"Effect": "Allow", "Action": "*", "Resource": "*"})


def assume_role(document: dict[str, Any], principal: str, userid: str | None) -> bool:
    """``principal`` (with ``aws:userid`` = ``userid``) calls sts:AssumeRole on TARGET in
    another account: its identity allows; the trust decides."""
    context = {"aws:userid": userid} if userid is not None else None
    request = policy.Request(principal, "sts:AssumeRole", TARGET, context)
    policies = policy.PolicySet(identity=[ALLOW_ALL], resource=document, resource_kind="trust")
    return policy.authorize(request, policies).allowed


# ------------------------------------------------------------------ unique ids match by id


def test_role_unique_id_matches_the_session_of_the_role_holding_it() -> None:
    document = trust(assume({"AWS": OLD_ROLE_ID}))
    assert assume_role(document, SESSION, f"{OLD_ROLE_ID}:s1")


def test_role_unique_id_does_not_match_a_recreated_role_of_the_same_name() -> None:
    document = trust(assume({"AWS": OLD_ROLE_ID}))
    assert not assume_role(document, SESSION, f"{NEW_ROLE_ID}:s1")


def test_role_unique_id_does_not_match_without_a_known_id() -> None:
    document = trust(assume({"AWS": OLD_ROLE_ID}))
    assert not assume_role(document, SESSION, None)


def test_user_unique_id_matches_the_user_only() -> None:
    document = trust(assume({"AWS": USER_ID}))
    assert assume_role(document, USER, USER_ID)
    assert not assume_role(document, USER, "AIDAOTHER00000000009")
    # A role session cannot borrow a user's id, nor a user a role's (kinds must agree).
    assert not assume_role(document, SESSION, f"{USER_ID}:s1")
    assert not assume_role(trust(assume({"AWS": OLD_ROLE_ID})), USER, OLD_ROLE_ID)


def test_a_user_id_with_a_session_suffix_is_not_that_user() -> None:
    document = trust(assume({"AWS": USER_ID}))
    assert not assume_role(document, USER, f"{USER_ID}:extra")


def test_deny_naming_the_unique_id_applies_to_its_holder_only() -> None:
    document = trust(assume({"AWS": A}), assume({"AWS": OLD_ROLE_ID}, effect="Deny"))
    assert not assume_role(document, SESSION, f"{OLD_ROLE_ID}:s1")
    assert assume_role(document, SESSION, f"{NEW_ROLE_ID}:s1")


def test_notprincipal_unique_id_excludes_the_role_level_only_for_its_holder() -> None:
    """Resource policy: Deny everyone except account, role (by id) and session (A.4: every
    level must be listed)."""
    statement = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [f"arn:aws:iam::{A}:root", OLD_ROLE_ID, SESSION]},
        "Action": "s3:GetObject",
        "Resource": BUCKET,
    }
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": BUCKET}
    document = trust(allow, statement)

    def get(userid: str) -> bool:
        request = policy.Request(SESSION, "s3:GetObject", BUCKET, {"aws:userid": userid})
        policies = policy.PolicySet(
            identity=[ALLOW_ALL], resource=document, resource_account=A, resource_kind="resource"
        )
        return policy.authorize(request, policies).allowed

    assert get(f"{OLD_ROLE_ID}:s1")
    assert not get(f"{NEW_ROLE_ID}:s1")


def test_the_arn_form_still_matches_by_name() -> None:
    document = trust(assume({"AWS": ROLE}))
    assert assume_role(document, SESSION, f"{NEW_ROLE_ID}:s1")


# ------------------------------------------------------------------ other accepted forms


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        ({"AWS": A}, True),
        ({"AWS": f"arn:aws:iam::{A}:root"}, True),
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": [OLD_ROLE_ID, A], "Service": "ec2.amazonaws.com"}, True),
        ({"AWS": B}, False),
        ({"Service": "pods.eks.amazonaws.com"}, False),
        ({"Federated": "accounts.google.com"}, False),
        ({"Federated": "cognito-identity.amazonaws.com"}, False),
        ({"Federated": f"arn:aws:iam::{B}:saml-provider/corp"}, False),
    ],
)
def test_principal_forms_against_a_cross_account_session(principal: object, allowed: bool) -> None:
    assert assume_role(trust(assume(principal)), SESSION, f"{NEW_ROLE_ID}:s1") is allowed


def test_service_principal_matches_the_service() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    request = policy.Request("pods.eks.amazonaws.com", "sts:TagSession", TARGET)
    policies = policy.PolicySet(resource=trust(statement), resource_kind="trust")
    assert policy.authorize(request, policies).allowed


# ------------------------------------------------------------------ the grammar


def parse(principal: object, key: str = "Principal", effect: str = "Allow") -> None:
    statement = {"Effect": effect, key: principal, "Action": "sts:AssumeRole"}
    policy.parse_policy(trust(statement), PolicyKind.TRUST)


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": OLD_ROLE_ID},
        {"AWS": USER_ID},
        {"AWS": "AROA" + "A" * 124},
        {"AWS": A},
        {"AWS": f"arn:aws:iam::{A}:root"},
        {"AWS": f"arn:aws-cn:iam::{A}:role/path/to/ci"},
        {"AWS": f"arn:aws:sts::{A}:assumed-role/ci/user@example.com"},
        {"AWS": f"arn:aws:sts::{A}:federated-user/bob"},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        {"Federated": f"arn:aws:iam::{A}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},
        {"Federated": f"arn:aws:iam::{A}:saml-provider/corp"},
        {"Federated": "www.amazon.com"},
    ],
)
def test_forms_iam_stores_or_accepts_parse(principal: object) -> None:
    parse(principal)


@pytest.mark.parametrize(
    ("principal", "reason"),
    [
        ({"AWS": "AGPAOLDGROUP00000001"}, "is the unique id of a group"),
        ({"AWS": "AKIAOLDKEY0000000001"}, "is the unique id of an access key"),
        ({"AWS": "AROA0SHORT"}, "is not an account id, a role or user unique id"),
        ({"AWS": "aroaoldrole0000000001"}, "is not an account id, a role or user unique id"),
        ({"AWS": "12345678901"}, "an account id has exactly 12 digits"),
        ({"AWS": f"arn:aws:iam:us-east-1:{A}:role/ci"}, "IAM and STS ARNs have no region"),
        ({"AWS": "arn:aws:iam:::role/ci"}, "the account must be 12 digits"),
        ({"AWS": "arn:aws:iam::aws:role/ci"}, "the account must be 12 digits"),
        ({"AWS": f"arn:aws:iam::{A}:root/x"}, "the account principal is exactly `:root`"),
        ({"AWS": f"arn:aws:iam::{A}:role/"}, "is not a valid role name"),
        ({"AWS": f"arn:aws:iam::{A}:role/a b"}, "is not a valid role name"),
        ({"AWS": f"arn:aws:iam::{A}:user"}, "`user/` must be followed by a name"),
        ({"AWS": f"arn:aws:iam::{A}:role:ci"}, "`role/` must be followed by a name"),
        ({"AWS": f"arn:aws:sts::{A}:assumed-role/ci"}, "assumed-role/ROLE-NAME/SESSION-NAME"),
        ({"Federated": f"arn:aws:iam::{A}:role/ci"}, "is not an IAM OIDC or SAML provider ARN"),
        ({"Federated": "arn:nope"}, "six fields"),
    ],
)
def test_malformed_principals_say_what_and_where(principal: object, reason: str) -> None:
    with pytest.raises(errors.PolicyParseError) as caught:
        parse(principal)
    assert caught.value.aws_message == "Invalid principal in policy"
    assert caught.value.path.startswith("Statement[0].Principal.")
    assert reason in str(caught.value)


def test_notprincipal_is_refused_in_a_trust_policy() -> None:
    """IAM UG, NotPrincipal: "You cannot use the NotPrincipal element ... in an IAM role
    trust policy"."""
    with pytest.raises(errors.PolicyParseError, match="Has prohibited field NotPrincipal"):
        parse({"AWS": ROLE}, key="NotPrincipal", effect="Deny")
