"""aws-auth parse/encode: fixtures named by quirk (aws_auth/*.yaml), lookups, round-trips.

Each fixture holds a ConfigMap's ``data`` and what the authenticator keeps of it, plus the
problems we must report, each as ``[path, a piece of the message]``; one runner checks them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubetrust.model import aws_auth
from kubetrust.model.aws_auth import (
    AwsAuthMap,
    Problem,
    RoleMapping,
    SsoMatcher,
    UserMapping,
    encode_aws_auth,
    parse_aws_auth,
)
from kubetrust.yaml_codec import PyYamlCodec

FIXTURES = Path(__file__).parent / "aws_auth"


CODEC = PyYamlCodec()
_conforms: type[aws_auth.YamlCodec] = PyYamlCodec


def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.yaml"))


def _role(spec: dict[str, Any]) -> RoleMapping:
    sso = spec.get("sso")
    return RoleMapping(
        role_arn=spec.get("role_arn", ""),
        sso=SsoMatcher(**sso) if sso is not None else None,
        username=spec["username"],
        groups=tuple(spec["groups"]),
        user_id=spec.get("user_id", ""),
    )


def _user(spec: dict[str, Any]) -> UserMapping:
    return UserMapping(
        user_arn=spec["user_arn"],
        username=spec["username"],
        groups=tuple(spec["groups"]),
        user_id=spec.get("user_id", ""),
    )


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda path: path.stem)
def test_fixture(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    parsed, problems = parse_aws_auth(case["data"], CODEC)
    expect = case["expect"]
    assert parsed.roles == tuple(_role(spec) for spec in expect["roles"])
    assert parsed.users == tuple(_user(spec) for spec in expect["users"])
    assert parsed.accounts == tuple(expect["accounts"])
    wanted = [(where, piece) for where, piece in expect["problems"]]
    unmatched = list(problems)
    for where, piece in wanted:
        hits = [p for p in unmatched if p.path == where and piece in p.message]
        assert hits, f"no problem at {where} saying {piece!r}; got {[str(p) for p in problems]}"
        unmatched.remove(hits[0])
    assert not unmatched, f"unexpected problems: {[str(p) for p in unmatched]}"


def test_there_are_fixtures_for_every_quirk_named_in_the_brief() -> None:
    names = {path.stem for path in _fixture_files()}
    assert {
        "role-with-path",
        "session-arn-as-rolearn",
        "crazy-case-keys",
        "missing-username",
        "groups-not-a-list",
        "duplicate-entries",
        "malformed-yaml",
        "unknown-fields",
        "system-masters",
        "missing-bar",
        "skippable-empty-values",
    } <= names


# --- lookups (what the authenticator's MapStore answers) ------------------------------------

ROLE = "arn:aws:iam::111122223333:role/ci"


def test_role_lookup_ignores_case_on_both_sides() -> None:
    mapping = RoleMapping(role_arn="arn:aws:iam::111122223333:role/CI-Role", username="ci")
    auth = AwsAuthMap(roles=(mapping,))
    assert auth.find_role("arn:aws:iam::111122223333:role/ci-role") == mapping
    assert auth.find_role("ARN:AWS:IAM::111122223333:ROLE/CI-ROLE") == mapping
    assert auth.find_role("arn:aws:iam::111122223333:role/ci-role-2") is None


def test_role_with_path_never_matches_the_canonical_arn() -> None:
    auth = AwsAuthMap(roles=(RoleMapping(role_arn="arn:aws:iam::111122223333:role/team/ci"),))
    assert auth.find_role(ROLE) is None


def test_duplicate_roles_last_wins() -> None:
    first = RoleMapping(role_arn=ROLE.upper().replace("ARN:AWS:IAM", "arn:aws:iam"), username="a")
    last = RoleMapping(role_arn=ROLE, username="b")
    assert AwsAuthMap(roles=(first, last)).find_role(ROLE) == last
    assert AwsAuthMap(roles=(last, first)).find_role(ROLE) == first


def test_duplicate_users_last_wins() -> None:
    user = "arn:aws:iam::111122223333:user/alice"
    first, last = UserMapping(user, "a"), UserMapping(user, "b")
    assert AwsAuthMap(users=(first, last)).find_user(user) == last


def test_exact_role_beats_an_sso_pattern() -> None:
    sso_role = "arn:aws:iam::012345678912:role/AWSReservedSSO_Admin_0123abcd"
    exact = RoleMapping(role_arn=sso_role, username="exact")
    pattern = RoleMapping(sso=SsoMatcher("Admin", "012345678912"), username="pattern")
    auth = AwsAuthMap(roles=(exact, pattern))
    assert auth.find_role(sso_role, sso_role_match=True) == exact


@pytest.mark.parametrize(
    ("canonical", "gate", "matches"),
    [
        ("arn:aws:iam::012345678912:role/AWSReservedSSO_ViewOnlyAccess_123123123", True, True),
        ("arn:aws:iam::012345678912:role/awsreservedsso_viewonlyaccess_1", True, True),
        ("arn:aws:iam::012345678912:role/AWSReservedSSO_ViewOnlyAccess_123123123", False, False),
        ("arn:aws:iam::999999999999:role/AWSReservedSSO_ViewOnlyAccess_123123123", True, False),
        ("arn:aws:iam::012345678912:role/AWSReservedSSO_Admin_123", True, False),
    ],
)
def test_sso_matching_follows_the_feature_gate(canonical: str, gate: bool, matches: bool) -> None:
    mapping = RoleMapping(sso=SsoMatcher("ViewOnlyAccess", "012345678912"), username="v")
    assert mapping.matches(canonical, sso_role_match=gate) is matches


def test_sso_pattern_with_a_partition_is_built_as_the_go_code_builds_it() -> None:
    matcher = SsoMatcher("ViewOnlyAccess", "012345678912", partition="aws-cn")
    assert matcher.arn_like() == "arn::iam::012345678912:role/awsreservedsso_viewonlyaccess_*"
    mapping = RoleMapping(sso=matcher)
    cn_role = "arn:aws-cn:iam::012345678912:role/AWSReservedSSO_ViewOnlyAccess_1"
    assert not mapping.matches(cn_role, sso_role_match=True)


@pytest.mark.parametrize(
    ("subject", "pattern", "expected"),
    [
        ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x", True),
        ("arn:aws:iam::1:role/xy", "arn:aws:iam::1:role/x*", True),
        ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x?", True),  # Go turns ? into .?
        ("arn:aws:iam::1:role/xyz", "arn:aws:iam::1:role/x?", False),
        ("arn:aws:iam::1:role/x", "arn:*:iam:*:*:role/*", True),
        ("arn:aws:iam::1:role/x.y", "arn:aws:iam::1:role/x+y", False),
        ("not-an-arn", "arn:*:*:*:*:*", False),
    ],
)
def test_arn_like(subject: str, pattern: str, expected: bool) -> None:
    assert aws_auth.arn_like(subject, pattern) is expected


def test_accounts_compare_exactly() -> None:
    auth = AwsAuthMap(accounts=("111122223333",))
    assert auth.allows_account("111122223333")
    assert not auth.allows_account("11112222333")


# --- decoding building blocks ---------------------------------------------------------------


def test_decode_functions_take_already_decoded_values() -> None:
    roles, problems = aws_auth.decode_role_mappings(
        [{"rolearn": ROLE, "username": "ci", "groups": ["a"]}]
    )
    assert roles == [RoleMapping(role_arn=ROLE, username="ci", groups=("a",))]
    assert problems == []
    users, problems = aws_auth.decode_user_mappings({"userarn": "x"})
    assert users == []
    assert problems == [Problem("mapUsers", problems[0].message)]
    assert "expected a list of user mappings" in problems[0].message


def test_data_value_that_is_not_a_string_is_reported_not_raised() -> None:
    parsed, problems = parse_aws_auth({"mapAccounts": None}, CODEC)
    assert parsed == AwsAuthMap()
    assert [p.path for p in problems] == ["mapAccounts"]


def test_problem_renders_its_path() -> None:
    assert str(Problem("mapRoles[0]", "bad")) == "mapRoles[0]: bad"


# --- encoding and round-trips ---------------------------------------------------------------


def test_encode_writes_what_the_authenticator_writes() -> None:
    """The layout of the authenticator's ``TestParseMap`` (yaml.v2 ``EncodeMap`` output)."""
    data = {
        "mapRoles": (
            "- rolearn: arn:aws:iam::123456789101:role/test-NodeInstanceRole-1VWRHZ3GKZ1T4\n"
            "  username: system:node:{{EC2PrivateDNSName}}\n"
            "  groups:\n"
            "  - system:bootstrappers\n"
            "  - system:nodes\n"
        ),
        "mapUsers": (
            "- userarn: arn:aws:iam::123456789101:user/Hello\n"
            "  username: Hello\n"
            "  groups:\n"
            "  - system:masters\n"
        ),
    }
    parsed, problems = parse_aws_auth(data, CODEC)
    assert problems == []
    assert encode_aws_auth(parsed, CODEC) == data


def test_encode_leaves_out_empty_sections_and_empty_optionals() -> None:
    assert encode_aws_auth(AwsAuthMap(), CODEC) == {}
    data = encode_aws_auth(AwsAuthMap(roles=(RoleMapping(role_arn=ROLE),)), CODEC)
    assert list(data) == ["mapRoles"]
    assert data["mapRoles"] == f"- rolearn: {ROLE}\n  username: ''\n  groups: []\n"


def test_encode_keeps_the_go_field_order_with_sso_and_userid() -> None:
    role = RoleMapping(
        sso=SsoMatcher("Admin", "012345678912", "aws"), username="u", user_id="AROAEXAMPLE"
    )
    text = encode_aws_auth(AwsAuthMap(roles=(role,)), CODEC)["mapRoles"]
    assert [line.split(":")[0].strip(" -") for line in text.splitlines()] == [
        "sso",
        "permissionSetName",
        "accountID",
        "partition",
        "username",
        "groups",
        "userid",
    ]


def test_accounts_round_trip_as_strings() -> None:
    auth = AwsAuthMap(accounts=("012345670123", "111122223333"))
    data = encode_aws_auth(auth, CODEC)
    assert parse_aws_auth(data, CODEC) == (auth, [])


_texts = st.text(max_size=30)
_groups = st.lists(_texts, max_size=4).map(tuple)
_sso = st.builds(
    SsoMatcher,
    permission_set_name=st.from_regex(r"[A-Za-z0-9_+=,.@-]{1,32}", fullmatch=True),
    account_id=st.from_regex(r"[0-9]{12}", fullmatch=True),
    partition=st.sampled_from(["", "aws", "aws-cn"]),
)
_roles = st.one_of(
    st.builds(
        RoleMapping,
        role_arn=st.text(min_size=1, max_size=60),
        username=_texts,
        groups=_groups,
        user_id=_texts,
    ),
    st.builds(RoleMapping, sso=_sso, username=_texts, groups=_groups, user_id=_texts),
)
_users = st.builds(
    UserMapping,
    user_arn=st.text(min_size=1, max_size=60),
    username=_texts,
    groups=_groups,
    user_id=_texts,
)
_maps = st.builds(
    AwsAuthMap,
    roles=st.lists(_roles, max_size=4).map(tuple),
    users=st.lists(_users, max_size=4).map(tuple),
    accounts=st.lists(_texts, max_size=4).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(_maps)
def test_parse_inverts_encode(auth: AwsAuthMap) -> None:
    parsed, problems = parse_aws_auth(encode_aws_auth(auth, CODEC), CODEC)
    assert parsed == auth
    assert not [p for p in problems if "drops" in p.message or "ignored" in p.message]


@settings(max_examples=200, deadline=None)
@given(_maps)
def test_encode_is_stable_after_one_round(auth: AwsAuthMap) -> None:
    data = encode_aws_auth(auth, CODEC)
    assert encode_aws_auth(parse_aws_auth(data, CODEC)[0], CODEC) == data


_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["rolearn", "userarn", "username", "groups", "x"]), children
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*aws_auth.DATA_KEYS, "other"]), _junk, max_size=4))
def test_parse_never_raises_and_keeps_only_valid_entries(decoded: dict[str, object]) -> None:
    data = {key: CODEC.dump(value) for key, value in decoded.items()}
    parsed, problems = parse_aws_auth(data, CODEC)
    assert all(role.validate() is None for role in parsed.roles)
    assert all(user.validate() is None for user in parsed.users)
    assert all(isinstance(account, str) for account in parsed.accounts)
    assert all(isinstance(problem, Problem) for problem in problems)
