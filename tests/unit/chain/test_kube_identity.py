"""Kubernetes identity mapping: aws-auth, access entries, authentication modes, templates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubetrust import errors
from kubetrust.chain import kube_identity as ki
from kubetrust.chain.kube_identity import (
    NOT_MAPPED,
    AccessEntryMapper,
    AccessEntryView,
    AccessGrant,
    AwsAuthMapper,
    Caller,
    IdentityMapper,
    KubeIdentity,
    NotMapped,
)
from kubetrust.model.aws_auth import AwsAuthMap, RoleMapping, SsoMatcher, UserMapping
from kubetrust.model.vocabulary import ACCESS_POLICY_ARN_PREFIX as POLICY_PREFIX

TARGET = "222222222222"
ROLE_NAME = "target-account-iam-role"
ROLE = f"arn:aws:iam::{TARGET}:role/{ROLE_NAME}"
ROLE_ID = "AROATARGETEXAMPLE0001"
RECREATED_ROLE_ID = "AROATARGETEXAMPLE0002"
SESSION_NAME = "botocore-session-1700000000"
SESSION = f"arn:aws:sts::{TARGET}:assumed-role/{ROLE_NAME}/{SESSION_NAME}"
KEY = "ASIATARGETEXAMPLEKEY"
USER = f"arn:aws:iam::{TARGET}:user/ops/alice"
USER_ID = "AIDATARGETEXAMPLE0001"

SEED_AWS_AUTH = AwsAuthMap(
    roles=(RoleMapping(role_arn=ROLE, username="test-user", groups=("system:masters",)),)
)


def _session(
    role_name: str = ROLE_NAME, session: str = SESSION_NAME, principal_id: str = ROLE_ID
) -> Caller:
    return Caller.of(
        f"arn:aws:sts::{TARGET}:assumed-role/{role_name}/{session}",
        account=TARGET,
        principal_id=principal_id,
        session_name=session,
        access_key_id=KEY,
    )


def _user_caller() -> Caller:
    return Caller.of(USER, account=TARGET, principal_id=USER_ID, access_key_id="AKIAEXAMPLE")


def _via_aws_auth(caller: Caller, auth: AwsAuthMap) -> KubeIdentity | None:
    return ki.map_with_aws_auth(
        caller.arn,
        account=caller.account,
        access_key_id=caller.access_key_id,
        session_name=caller.session_name,
        principal_id=caller.principal_id,
        aws_auth=auth,
    )


# --- the caller ------------------------------------------------------------------------------


def test_caller_canonicalizes_a_session_to_its_role() -> None:
    caller = _session()
    assert caller.canonical_arn == ROLE
    assert caller.uid == f"aws-iam-authenticator:{TARGET}:{ROLE_ID}"


def test_caller_from_get_caller_identity_splits_the_user_id() -> None:
    caller = Caller.from_caller_identity(
        SESSION, account=TARGET, user_id=f"{ROLE_ID}:{SESSION_NAME}", access_key_id=KEY
    )
    assert (caller.principal_id, caller.session_name) == (ROLE_ID, SESSION_NAME)
    user = Caller.from_caller_identity(USER, account=TARGET, user_id=USER_ID)
    assert (user.principal_id, user.session_name, user.canonical_arn) == (USER_ID, "", USER)


@pytest.mark.parametrize("user_id", [ROLE_ID, f"{ROLE_ID}:a:b", ""])
def test_malformed_user_id_of_a_session_is_refused(user_id: str) -> None:
    with pytest.raises(errors.InputError, match="malformed UserID"):
        Caller.from_caller_identity(SESSION, account=TARGET, user_id=user_id)


def test_caller_that_is_not_a_principal_is_refused() -> None:
    with pytest.raises(errors.InvalidArnError):
        Caller.of("arn:aws:s3:::bucket", account=TARGET, principal_id="x")


# --- aws-auth --------------------------------------------------------------------------------


def test_seed_walkthrough_maps_the_target_session_to_test_user() -> None:
    identity = _via_aws_auth(_session(), SEED_AWS_AUTH)
    assert identity is not None
    assert identity.username == "test-user"
    assert identity.groups == ("system:masters",)
    assert identity.uid == f"aws-iam-authenticator:{TARGET}:{ROLE_ID}"
    assert identity.via == f"aws-auth mapRoles {ROLE}"
    assert identity.extra["arn"] == (SESSION,)
    assert identity.extra["canonicalArn"] == (ROLE,)
    assert identity.extra["sessionName"] == (SESSION_NAME,)
    assert identity.extra["accessKeyId"] == (KEY,)
    assert identity.extra["principalId"] == (ROLE_ID,)
    assert identity.grants == ()


@dataclass(frozen=True)
class AwsAuthCase:
    name: str
    auth: AwsAuthMap
    caller: Caller
    username: str | None  # None: not mapped
    groups: tuple[str, ...] = ()


def _roles(*mappings: RoleMapping) -> AwsAuthMap:
    return AwsAuthMap(roles=mappings)


AWS_AUTH_CASES = [
    AwsAuthCase(
        "role-with-path-never-matches",
        _roles(RoleMapping(role_arn=f"arn:aws:iam::{TARGET}:role/ci/{ROLE_NAME}", username="u")),
        _session(),
        None,
    ),
    AwsAuthCase(
        "path-stripped-role-arn-matches",
        _roles(RoleMapping(role_arn=ROLE, username="u", groups=("g",))),
        _session(),
        "u",
        ("g",),
    ),
    AwsAuthCase(
        "mixed-case-arn-matches",
        _roles(
            RoleMapping(role_arn=f"ARN:AWS:IAM::{TARGET}:ROLE/{ROLE_NAME.upper()}", username="u")
        ),
        _session(role_name="Target-Account-IAM-Role"),
        "u",
    ),
    AwsAuthCase(
        "session-arn-in-maproles-never-matches",
        _roles(RoleMapping(role_arn=SESSION, username="u")),
        _session(),
        None,
    ),
    AwsAuthCase(
        "other-account-same-name-does-not-match",
        _roles(RoleMapping(role_arn=f"arn:aws:iam::111111111111:role/{ROLE_NAME}", username="u")),
        _session(),
        None,
    ),
    AwsAuthCase(
        "duplicate-roles-last-wins",
        _roles(
            RoleMapping(role_arn=ROLE, username="first"),
            RoleMapping(role_arn=ROLE.upper(), username="last"),
        ),
        _session(),
        "last",
    ),
    AwsAuthCase(
        "missing-username-maps-to-empty",
        _roles(RoleMapping(role_arn=ROLE, groups=("g",))),
        _session(),
        "",
        ("g",),
    ),
    AwsAuthCase(
        "user-with-path-matches-exactly",
        AwsAuthMap(users=(UserMapping(USER, "alice", ("dev",)),)),
        _user_caller(),
        "alice",
        ("dev",),
    ),
    AwsAuthCase(
        "user-without-its-path-does-not-match",
        AwsAuthMap(users=(UserMapping(f"arn:aws:iam::{TARGET}:user/alice", "alice"),)),
        _user_caller(),
        None,
    ),
    AwsAuthCase(
        "roles-are-tried-before-users",
        AwsAuthMap(
            roles=(RoleMapping(role_arn=ROLE, username="as-role"),),
            users=(UserMapping(ROLE, "as-user"),),
        ),
        _session(),
        "as-role",
    ),
    AwsAuthCase(
        "a-role-arn-in-mapusers-still-maps",
        AwsAuthMap(users=(UserMapping(ROLE, "as-user"),)),
        _session(),
        "as-user",
    ),
    AwsAuthCase(
        "map-accounts-uses-the-canonical-arn-and-no-groups",
        AwsAuthMap(accounts=(TARGET,)),
        _session(role_name="Target-Role"),
        f"arn:aws:iam::{TARGET}:role/Target-Role",
    ),
    AwsAuthCase(
        "explicit-mapping-beats-map-accounts",
        AwsAuthMap(
            roles=(RoleMapping(role_arn=ROLE, username="explicit", groups=("g",)),),
            accounts=(TARGET,),
        ),
        _session(),
        "explicit",
        ("g",),
    ),
    AwsAuthCase(
        "map-accounts-of-another-account",
        AwsAuthMap(accounts=("111111111111",)),
        _session(),
        None,
    ),
    AwsAuthCase(
        "sso-entries-need-the-feature-gate",
        _roles(RoleMapping(sso=SsoMatcher("Admin", TARGET), username="sso")),
        _session(role_name="AWSReservedSSO_Admin_0123abcd"),
        None,
    ),
    AwsAuthCase("empty-aws-auth", AwsAuthMap(), _session(), None),
]


@pytest.mark.parametrize("case", AWS_AUTH_CASES, ids=lambda case: case.name)
def test_aws_auth_mapping(case: AwsAuthCase) -> None:
    identity = _via_aws_auth(case.caller, case.auth)
    if case.username is None:
        assert identity is None
        return
    assert identity is not None
    assert (identity.username, identity.groups) == (case.username, case.groups)
    assert identity.uid == case.caller.uid


def test_sso_mapping_behind_the_gate() -> None:
    auth = _roles(RoleMapping(sso=SsoMatcher("Admin", TARGET), username="sso:{{SessionName}}"))
    caller = _session(role_name="AWSReservedSSO_Admin_0123abcd", session="alice@example.com")
    identity = ki.map_with_aws_auth(
        caller.arn,
        account=TARGET,
        access_key_id=KEY,
        session_name=caller.session_name,
        principal_id=ROLE_ID,
        aws_auth=auth,
        sso_role_match=True,
    )
    assert identity is not None
    assert identity.username == "sso:alice-example.com"


def test_not_mapped_says_why() -> None:
    result = AwsAuthMapper(AwsAuthMap()).map(_session())
    assert isinstance(result, NotMapped)
    assert ROLE in result.reason


def test_map_accounts_identity_says_it_came_from_map_accounts() -> None:
    chain = ki.mapper_chain("CONFIG_MAP", aws_auth=AwsAuthMap(accounts=(TARGET,)))
    result = ki.map_caller(chain, _session())
    assert isinstance(result, KubeIdentity)
    assert result.via == f"aws-auth mapAccounts {TARGET}"
    assert result.groups == ()


# --- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "session", "expected"),
    [
        ("{{AccountID}}", "s", TARGET),
        ("admin:{{SessionName}}", "alice@example.com", "admin:alice-example.com"),
        ("admin:{{SessionNameRaw}}", "alice@example.com", "admin:alice@example.com"),
        ("{{AccessKeyID}}", "s", KEY),
        ("{{SessionName}}/{{SessionNameRaw}}", "a@b@c", "a-b-c/a@b@c"),
        ("{{sessionname}}", "s", "{{sessionname}}"),  # templates are case-sensitive
        ("plain", "s", "plain"),
        ("{{AccountID}}-{{AccountID}}", "s", f"{TARGET}-{TARGET}"),
    ],
)
def test_render_template(template: str, session: str, expected: str) -> None:
    assert ki.render_template(template, _session(session=session)) == expected


def test_templates_render_in_username_and_groups() -> None:
    auth = _roles(
        RoleMapping(
            role_arn=ROLE, username="ci:{{SessionName}}", groups=("team-{{AccountID}}", "static")
        )
    )
    identity = _via_aws_auth(_session(session="bob@corp"), auth)
    assert identity is not None
    assert identity.username == "ci:bob-corp"
    assert identity.groups == (f"team-{TARGET}", "static")


@pytest.mark.parametrize(
    ("session", "reason"),
    [
        ("i-0123456789abcdef0", "ec2:DescribeInstances"),
        ("i-01234567", "ec2:DescribeInstances"),
        ("botocore-session-1", "SessionName did not contain an instance id"),
        ("i-012345678", "SessionName did not contain an instance id"),
    ],
)
def test_ec2_private_dns_name_is_not_supported(session: str, reason: str) -> None:
    with pytest.raises(ki.TemplateError, match=reason):
        ki.render_template("system:node:{{EC2PrivateDNSName}}", _session(session=session))
    auth = _roles(
        RoleMapping(
            role_arn=ROLE, username="system:node:{{EC2PrivateDNSName}}", groups=("system:nodes",)
        )
    )
    result = AwsAuthMapper(auth).map(_session(session=session))
    assert isinstance(result, NotMapped)
    assert reason in result.reason


def test_template_error_is_a_kubetrust_error() -> None:
    assert issubclass(ki.TemplateError, errors.KubetrustError)


@given(st.from_regex(r"[\w+=,.@-]{2,64}", fullmatch=True))
def test_session_name_template_never_keeps_an_at_sign(session: str) -> None:
    caller = _session(session=session)
    assert "@" not in ki.render_template("{{SessionName}}", caller)
    assert ki.render_template("{{SessionNameRaw}}", caller) == session
    assert ki.render_template("{{SessionName}}", caller) == session.replace("@", "-")


# --- access entries --------------------------------------------------------------------------


def _entry(**overrides: object) -> AccessEntryView:
    fields: dict[str, object] = {"principal_arn": ROLE, "principal_id": ROLE_ID}
    fields.update(overrides)
    return AccessEntryView(**fields)  # type: ignore[arg-type]


def _via_entry(caller: Caller, entry: AccessEntryView) -> KubeIdentity | None:
    return ki.map_with_access_entry(
        caller.arn,
        account=caller.account,
        access_key_id=caller.access_key_id,
        session_name=caller.session_name,
        principal_id=caller.principal_id,
        entry=entry,
    )


def test_role_entry_default_username_is_the_session_arn_template() -> None:
    identity = _via_entry(_session(session="alice@corp"), _entry(kubernetes_groups=("dev",)))
    assert identity is not None
    assert identity.username == f"arn:aws:sts::{TARGET}:assumed-role/{ROLE_NAME}/alice-corp"
    assert identity.groups == ("dev",)
    assert identity.uid == f"aws-iam-authenticator:{TARGET}:{ROLE_ID}"
    assert identity.via == f"access entry {ROLE}"


def test_role_entry_with_a_path_matches_and_its_default_username_drops_the_path() -> None:
    entry = _entry(principal_arn=f"arn:aws:iam::{TARGET}:role/team/apps/{ROLE_NAME}")
    assert ki.access_entry_username(entry) == (
        f"arn:aws:sts::{TARGET}:assumed-role/{ROLE_NAME}/{{{{SessionName}}}}"
    )
    identity = _via_entry(_session(), entry)
    assert identity is not None
    assert identity.username == SESSION


def test_user_entry_default_username_is_the_user_arn() -> None:
    entry = AccessEntryView(principal_arn=USER, principal_id=USER_ID)
    identity = _via_entry(_user_caller(), entry)
    assert identity is not None
    assert identity.username == USER


def test_custom_username_template() -> None:
    entry = _entry(username="ci:{{SessionNameRaw}}:{{AccountID}}")
    identity = _via_entry(_session(session="a@b"), entry)
    assert identity is not None
    assert identity.username == f"ci:a@b:{TARGET}"


def test_entry_arn_compares_ignoring_case() -> None:
    entry = _entry(principal_arn=ROLE.upper().replace("ARN:AWS:IAM", "arn:aws:iam"))
    assert _via_entry(_session(), entry) is not None


def test_uid_binding_after_the_role_is_recreated() -> None:
    """E.3: same ARN, new unique ID: the entry no longer maps, and says why."""
    entry = _entry()
    recreated = _session(principal_id=RECREATED_ROLE_ID)
    assert _via_entry(recreated, entry) is None
    result = AccessEntryMapper((entry,)).map(recreated)
    assert isinstance(result, NotMapped)
    assert ROLE_ID in result.reason and RECREATED_ROLE_ID in result.reason
    assert "recreated" in result.reason
    assert _via_entry(_session(), entry) is not None


def test_entry_for_another_principal_does_not_map() -> None:
    other = _entry(principal_arn=f"arn:aws:iam::{TARGET}:role/other")
    assert _via_entry(_session(), other) is None


@pytest.mark.parametrize(
    ("entry_type", "username"),
    [
        ("FARGATE_LINUX", "system:node:fargate-ip-10-0-0-1"),
        ("HYBRID_LINUX", "system:node:fargate-ip-10-0-0-1"),
        ("EC2_LINUX", None),  # {{EC2PrivateDNSName}} is not supported
        ("EC2", None),  # no documented username
    ],
)
def test_node_entry_types(entry_type: str, username: str | None) -> None:
    entry = _entry(type=entry_type, username="ignored", kubernetes_groups=("ignored",))
    identity = _via_entry(_session(session="fargate-ip-10-0-0-1"), entry)
    if username is None:
        assert identity is None
        return
    assert identity is not None
    assert identity.username == username
    assert identity.groups == ("system:nodes",)


def test_entry_grants_ride_on_the_identity() -> None:
    entry = _entry(
        policies=(
            (f"{POLICY_PREFIX}AmazonEKSViewPolicy", "cluster", ()),
            (f"{POLICY_PREFIX}AmazonEKSEditPolicy", "namespace", ("dev-*", "ci")),
        )
    )
    identity = _via_entry(_session(), entry)
    assert identity is not None
    assert [(g.cluster_role, g.namespaces) for g in identity.grants] == [
        ("view", None),
        ("edit", ("dev-*", "ci")),
    ]


# --- access policies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cluster_role"),
    [
        ("AmazonEKSClusterAdminPolicy", "cluster-admin"),
        ("AmazonEKSAdminPolicy", "admin"),
        ("AmazonEKSEditPolicy", "edit"),
        ("AmazonEKSViewPolicy", "view"),
        ("AmazonEKSAdminViewPolicy", None),
    ],
)
def test_access_policy_cluster_roles(name: str, cluster_role: str | None) -> None:
    grant = ki.access_policy_grant(f"{POLICY_PREFIX}{name}")
    assert grant == AccessGrant(f"{POLICY_PREFIX}{name}", cluster_role, None)
    china = f"arn:aws-cn:eks::aws:cluster-access-policy/{name}"
    assert ki.access_policy_grant(china).cluster_role == cluster_role


@pytest.mark.parametrize(
    ("namespaces", "namespace", "applies"),
    [
        (None, "anything", True),
        (None, None, True),
        (("dev-*",), "dev-team", True),
        (("dev-*",), "dev-", True),
        (("dev-*",), "prod", False),
        (("dev-*",), "xdev-a", False),
        (("ci",), "ci", True),
        (("ci",), "ci2", False),
        (("ci",), None, False),
        (("a.b",), "aXb", False),
    ],
)
def test_access_scope(
    namespaces: tuple[str, ...] | None, namespace: str | None, applies: bool
) -> None:
    grant = AccessGrant("p", "view", namespaces)
    assert grant.applies_to(namespace) is applies


@pytest.mark.parametrize(
    ("policy", "scope", "namespaces", "match"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", "cluster", (), "not an EKS"),
        (f"{POLICY_PREFIX}AmazonEKSViewPolicy", "namespace", (), "needs namespaces"),
        (f"{POLICY_PREFIX}AmazonEKSViewPolicy", "Cluster", (), "not `cluster`"),
    ],
)
def test_bad_associations_are_refused(
    policy: str, scope: str, namespaces: tuple[str, ...], match: str
) -> None:
    with pytest.raises(errors.InputError, match=match):
        ki.access_policy_grant(policy, scope_type=scope, namespaces=namespaces)


def test_node_entries_have_no_grants() -> None:
    entry = _entry(type="FARGATE_LINUX", policies=((f"{POLICY_PREFIX}X", "cluster", ()),))
    assert ki.access_grants(entry) == ()


# --- authentication modes (E.1) --------------------------------------------------------------

ENTRY = _entry(username="from-entry", kubernetes_groups=("entry-group",))
AUTH = AwsAuthMap(
    roles=(RoleMapping(role_arn=ROLE, username="from-aws-auth", groups=("aws-auth-group",)),)
)


def _resolve(
    mode: str,
    caller: Caller | None = None,
    entries: tuple[AccessEntryView, ...] = (ENTRY,),
    auth: AwsAuthMap | None = AUTH,
) -> str | None:
    caller = caller or _session()
    identity = ki.resolve_kube_identity(
        caller.arn,
        account=caller.account,
        access_key_id=caller.access_key_id,
        session_name=caller.session_name,
        principal_id=caller.principal_id,
        mode=mode,
        access_entries=entries,
        aws_auth=auth,
    )
    return None if identity is None else identity.username


@pytest.mark.parametrize(
    ("mode", "entries", "auth", "username"),
    [
        ("API_AND_CONFIG_MAP", (ENTRY,), AUTH, "from-entry"),
        ("API_AND_CONFIG_MAP", (), AUTH, "from-aws-auth"),
        ("API_AND_CONFIG_MAP", (ENTRY,), None, "from-entry"),
        ("API_AND_CONFIG_MAP", (), None, None),
        ("API", (ENTRY,), AUTH, "from-entry"),
        ("API", (), AUTH, None),
        ("CONFIG_MAP", (ENTRY,), AUTH, "from-aws-auth"),
        ("CONFIG_MAP", (ENTRY,), None, None),
    ],
)
def test_mode_precedence(
    mode: str,
    entries: tuple[AccessEntryView, ...],
    auth: AwsAuthMap | None,
    username: str | None,
) -> None:
    assert _resolve(mode, entries=entries, auth=auth) == username


def test_stale_entry_falls_through_to_aws_auth_in_api_and_config_map() -> None:
    recreated = _session(principal_id=RECREATED_ROLE_ID)
    assert _resolve("API_AND_CONFIG_MAP", recreated) == "from-aws-auth"
    assert _resolve("API", recreated) is None


def test_chain_reasons_are_collected() -> None:
    chain = ki.mapper_chain("API_AND_CONFIG_MAP", access_entries=(), aws_auth=AwsAuthMap())
    result = ki.map_caller(chain, _session())
    assert isinstance(result, NotMapped)
    assert "no access entry" in result.reason and "aws-auth maps no" in result.reason
    assert ki.map_caller((), _session()) is NOT_MAPPED


@pytest.mark.parametrize("mode", ["api", "CONFIGMAP", ""])
def test_unknown_mode_is_refused(mode: str) -> None:
    with pytest.raises(errors.InputError, match="authentication mode"):
        ki.mapper_chain(mode)


# --- one contract, every mapper (style habit 4) ----------------------------------------------


def _aws_auth_mapper() -> IdentityMapper:
    return AwsAuthMapper(
        _roles(RoleMapping(role_arn=ROLE, username="ci:{{SessionName}}", groups=("ci",)))
    )


def _access_entry_mapper() -> IdentityMapper:
    return AccessEntryMapper((_entry(username="ci:{{SessionName}}", kubernetes_groups=("ci",)),))


MAPPERS = [_aws_auth_mapper, _access_entry_mapper]


@pytest.mark.parametrize("make", MAPPERS, ids=lambda make: make.__name__.strip("_"))
def test_mapper_contract(make: object) -> None:
    mapper = make()  # type: ignore[operator]
    assert isinstance(mapper.name, str) and mapper.name
    identity = mapper.map(_session(session="a@b"))
    assert isinstance(identity, KubeIdentity)
    assert (identity.username, identity.groups) == ("ci:a-b", ("ci",))
    assert identity.uid == f"aws-iam-authenticator:{TARGET}:{ROLE_ID}"
    assert identity.extra["canonicalArn"] == (ROLE,)
    stranger = mapper.map(_session(role_name="stranger"))
    assert isinstance(stranger, NotMapped) and stranger.reason
    assert mapper.is_account_allowed("999999999999") is False
