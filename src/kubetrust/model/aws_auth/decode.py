"""Parsing the aws-auth ConfigMap's ``data``: keep what the authenticator keeps, and say why
about everything else (``configmap.ParseMap``, ``isSkippable``, ``Validate``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from kubetrust import arn

from .go_json import MAPPING, STRING, STRINGS, decode_struct, kind_of
from .lints import case_variants, duplicates, role_lints, user_lints
from .mappings import (
    DATA_KEYS,
    MAP_ACCOUNTS,
    MAP_ROLES,
    MAP_USERS,
    AwsAuthMap,
    Problem,
    RoleMapping,
    SsoMatcher,
    UserMapping,
    YamlCodec,
)

_SKIPPABLE = frozenset({"", "``", '""', "''"})
_ROLE_FIELDS: Final = {
    "rolearn": STRING,
    "sso": MAPPING,
    "username": STRING,
    "groups": STRINGS,
    "userid": STRING,
}
_USER_FIELDS: Final = {"userarn": STRING, "username": STRING, "groups": STRINGS, "userid": STRING}
_SSO_FIELDS: Final = {"permissionsetname": STRING, "accountid": STRING, "partition": STRING}


def parse_aws_auth(
    data: Mapping[str, object], codec: YamlCodec
) -> tuple[AwsAuthMap, list[Problem]]:
    """Parse the ``data`` of an aws-auth ConfigMap; keep what the authenticator keeps.

    Never raises for bad content: every entry the authenticator would drop, every field it
    would ignore and every entry that can never match comes back as a :class:`Problem`.
    """
    problems: list[Problem] = [
        Problem(
            str(key),
            "unknown key ignored (keys are case-sensitive: mapRoles, mapUsers, mapAccounts)",
        )
        for key in data
        if key not in DATA_KEYS
    ]
    roles, role_problems = decode_role_mappings(_load(data, MAP_ROLES, codec.load, problems))
    users, user_problems = decode_user_mappings(_load(data, MAP_USERS, codec.load, problems))
    accounts, account_problems = decode_accounts(
        _load(data, MAP_ACCOUNTS, codec.load_strings, problems)
    )
    problems += role_problems + user_problems + account_problems
    return AwsAuthMap(tuple(roles), tuple(users), tuple(accounts)), problems


def _load(
    data: Mapping[str, object],
    key: str,
    load: Callable[[str], object],
    problems: list[Problem],
) -> object:
    """One data value decoded, or ``None`` when it is absent, skippable or undecodable."""
    if key not in data:
        return None
    text = data[key]
    if not isinstance(text, str):
        problems.append(
            Problem(
                key, f"must be a string, got {kind_of(text)} (Kubernetes rejects the ConfigMap)"
            )
        )
        return None
    if text.strip() in _SKIPPABLE:
        return None
    try:
        return load(text)
    except ValueError as error:
        detail = " ".join(str(error).split())[:200]
        problems.append(Problem(key, f"not valid YAML, the whole key is ignored: {detail}"))
        return None


def decode_role_mappings(
    value: object, path: str = MAP_ROLES
) -> tuple[list[RoleMapping], list[Problem]]:
    """Role mappings from an already-decoded ``mapRoles`` value (see :class:`YamlCodec`)."""
    problems: list[Problem] = []
    roles: list[tuple[str, RoleMapping]] = []
    for where, raw in _entries(value, path, "role mappings", problems):
        fields = decode_struct(raw, _ROLE_FIELDS, where, problems)
        mapping = RoleMapping(
            role_arn=_text(fields.get("rolearn")),
            sso=_sso(fields.get("sso"), f"{where}.sso", problems),
            username=_text(fields.get("username")),
            groups=_texts(fields.get("groups")),
            user_id=_text(fields.get("userid")),
        )
        reason = mapping.validate()
        if reason is not None:
            problems.append(Problem(where, f"{reason}; the authenticator drops this entry"))
            continue
        problems += role_lints(mapping, where)
        roles.append((where, mapping))
    problems += duplicates(roles, lambda mapping: mapping.key, "rolearn")
    return [mapping for _, mapping in roles], problems


def decode_user_mappings(
    value: object, path: str = MAP_USERS
) -> tuple[list[UserMapping], list[Problem]]:
    """User mappings from an already-decoded ``mapUsers`` value (see :class:`YamlCodec`)."""
    problems: list[Problem] = []
    users: list[tuple[str, UserMapping]] = []
    for where, raw in _entries(value, path, "user mappings", problems):
        fields = decode_struct(raw, _USER_FIELDS, where, problems)
        mapping = UserMapping(
            user_arn=_text(fields.get("userarn")),
            username=_text(fields.get("username")),
            groups=_texts(fields.get("groups")),
            user_id=_text(fields.get("userid")),
        )
        reason = mapping.validate()
        if reason is not None:
            problems.append(Problem(where, f"{reason}; the authenticator drops this entry"))
            continue
        problems += user_lints(mapping, where)
        users.append((where, mapping))
    problems += duplicates(users, lambda mapping: mapping.key, "userarn")
    problems += case_variants(users)
    return [mapping for _, mapping in users], problems


def decode_accounts(value: object, path: str = MAP_ACCOUNTS) -> tuple[list[str], list[Problem]]:
    """Account IDs from an already-decoded ``mapAccounts`` value (scalars as literal text).

    Like ``yaml.v2`` into ``[]string``: an element that is a list or mapping is skipped.
    """
    problems: list[Problem] = []
    accounts: list[str] = []
    for where, raw in _entries(value, path, "account IDs", problems):
        if not isinstance(raw, str):
            problems.append(Problem(where, f"expected a string, got {kind_of(raw)}; skipped"))
            continue
        if not arn.is_account_id(raw):  # as ``mapAccounts`` expects
            problems.append(
                Problem(where, f"`{raw}` is not a 12-digit account ID; it never matches")
            )
        accounts.append(raw)
    return accounts, problems


def _entries(
    value: object, path: str, what: str, problems: list[Problem]
) -> list[tuple[str, object]]:
    """The list elements with their paths; a non-list (``null`` aside) loses the whole key."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(
            Problem(path, f"expected a list of {what}, got {kind_of(value)}; the key is ignored")
        )
        return []
    return [(f"{path}[{index}]", raw) for index, raw in enumerate(value)]


def _sso(value: object, path: str, problems: list[Problem]) -> SsoMatcher | None:
    if not isinstance(value, dict):
        return None
    fields = decode_struct(value, _SSO_FIELDS, path, problems)
    return SsoMatcher(
        permission_set_name=_text(fields.get("permissionsetname")),
        account_id=_text(fields.get("accountid")),
        partition=_text(fields.get("partition")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()
