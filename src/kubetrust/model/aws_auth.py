"""The ``aws-auth`` ConfigMap: parse and encode, as tolerant as aws-iam-authenticator.

The ConfigMap ``kube-system/aws-auth`` carries three data keys, each a YAML *string*
(semantics reference D.3): ``mapRoles`` (role mappings), ``mapUsers`` (user mappings) and
``mapAccounts`` (account IDs whose every principal maps to its own ARN). The authenticator's
``configmap.ParseMap`` never rejects the ConfigMap as a whole: it keeps the good entries, drops
the bad ones and logs why. :func:`parse_aws_auth` does the same and returns the reasons as
:class:`Problem` values; :func:`encode_aws_auth` is its inverse.

What the authenticator does, and therefore what we do (``kubernetes-sigs/aws-iam-authenticator``:
``pkg/mapper/configmap/configmap.go`` ``ParseMap``/``EncodeMap``/``isSkippable``/``saveMap``,
``pkg/config/types.go``, ``pkg/config/mapper.go`` ``Validate``/``Matches``/``Key``):

- A data value that is blank, two backticks, ``""`` or ``''`` is skipped (PRs #618, #621).
- ``mapRoles``/``mapUsers`` go YAML → JSON (``sigs.k8s.io/yaml``, which hands JSON objects over
  with their keys sorted) → Go ``encoding/json``. Hence: field names match *ignoring case*
  (``RoLeArN`` works, ``yaml/aws-auth-crazy-case-keys.yaml``); unknown fields are ignored; a value
  of the wrong type leaves its field empty and the rest of the entry is kept (``groups:
  system:masters`` keeps the entry, with no groups); invalid YAML loses the whole key.
- An entry is then dropped only if ``Validate`` fails: a role mapping needs exactly one of
  ``rolearn`` and ``sso``; a user mapping needs ``userarn``. A missing ``username`` is accepted.
- ``mapAccounts`` goes through ``yaml.v2`` into ``[]string``, which keeps every scalar's literal
  text: an unquoted ``- 555555555555`` is the string ``"555555555555"``.
- Top-level data keys are case-sensitive: ``mapusers`` is ignored.
- Role mappings are keyed by the lowercased ``rolearn``, so of two entries for one role the
  last wins; user mappings are keyed by the exact ``userarn``, matched ignoring case.

No YAML library is imported here (see the package docstring): the caller passes a
:class:`YamlCodec`. Fidelity gaps: the SSO matcher is behind the authenticator's alpha feature
gate ``SSORoleMatch`` (off by default); wildcard ``rolearn`` patterns are not supported upstream
(open PR #994) and are compared literally, as the authenticator does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from kubetrust import arn, errors

MAP_ROLES: Final = "mapRoles"
MAP_USERS: Final = "mapUsers"
MAP_ACCOUNTS: Final = "mapAccounts"
DATA_KEYS: Final = (MAP_ROLES, MAP_USERS, MAP_ACCOUNTS)

_M = TypeVar("_M")

_SKIPPABLE = frozenset({"", "``", '""', "''"})
_ACCOUNT_ID = re.compile(r"[0-9]{12}\Z")
_PERMISSION_SET_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,32}\Z")
SSO_PARTITIONS: Final = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"})
"""The partitions ``RoleMapping.Validate`` accepts for ``sso.partition`` (empty means ``aws``)."""


class YamlCodec(Protocol):
    """YAML as the authenticator reads it; implemented outside the pure layers (PyYAML).

    - :meth:`load` decodes YAML 1.1 the way ``yaml.v2`` decodes into ``interface{}``: strings,
      ints, floats, bools, ``None``, lists and dicts; timestamps stay strings. It raises
      :class:`ValueError` for text that is not YAML.
    - :meth:`load_strings` decodes with every scalar kept as its literal text (``yaml.v2`` into
      ``[]string``); it raises :class:`ValueError` likewise.
    - :meth:`dump` writes block-style YAML, keeping dict order, without folding long lines.
    """

    def load(self, text: str) -> object: ...

    def load_strings(self, text: str) -> object: ...

    def dump(self, value: object) -> str: ...


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the authenticator would log, or silently do, about one place in the data.

    ``path`` locates it (``mapRoles[2].groups``); ``message`` says what is wrong and what the
    authenticator does about it (drops the entry, ignores the field, keeps it but it never
    matches).
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class SsoMatcher:
    """``sso: {permissionSetName, accountID, partition}``: matches the roles IAM Identity Center
    creates for a permission set, whose names end in a random suffix."""

    permission_set_name: str = ""
    account_id: str = ""
    partition: str = ""

    def arn_like(self) -> str:
        """The lowercased ``ArnLike`` pattern the authenticator matches canonical ARNs with.

        Faithful to ``RoleMapping.SSOArnLike``: the partition is ``aws`` when none is given,
        but a given partition is *not* copied into the pattern (the Go code never assigns it),
        which leaves the partition field empty, so such an entry never matches.
        """
        partition = "aws" if not self.partition else ""
        name = self.permission_set_name
        return f"arn:{partition}:iam::{self.account_id}:role/AWSReservedSSO_{name}_*".lower()

    def validate(self) -> str | None:
        """``RoleMapping.Validate``'s checks on the SSO part; the reason, or ``None``."""
        if not _ACCOUNT_ID.match(self.account_id):
            return f"AccountID `{self.account_id}` is not a valid AWS Account ID"
        if not _PERMISSION_SET_NAME.match(self.permission_set_name):
            name = self.permission_set_name
            return f"PermissionSetName `{name}` is not a valid AWS SSO PermissionSet Name"
        if self.partition and self.partition not in SSO_PARTITIONS:
            return f"partition `{self.partition}` is not a valid AWS partition"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleMapping:
    """One ``mapRoles`` entry: a role (or SSO permission set) → Kubernetes username and groups.

    ``username`` and ``groups`` are templates (``{{SessionName}}``, ...), rendered by
    :mod:`kubetrust.chain.kube_identity`. ``role_arn`` is kept exactly as written, so that an
    encode gives it back; matching lowercases both sides. Keyword-only: ``sso`` sits between
    the ARN and the username, and a positional username would land in it.
    """

    role_arn: str = ""
    sso: SsoMatcher | None = None
    username: str = ""
    groups: tuple[str, ...] = ()
    user_id: str = ""

    @property
    def key(self) -> str:
        """The authenticator's map key: the lowercased ``rolearn``, else the SSO pattern."""
        if self.role_arn:
            return self.role_arn.lower()
        return self.sso.arn_like() if self.sso else ""

    def validate(self) -> str | None:
        """``RoleMapping.Validate``: why the authenticator drops this entry, or ``None``."""
        if not self.role_arn and self.sso is None:
            return "one of rolearn or sso must be supplied"
        if self.role_arn and self.sso is not None:
            return "only one of rolearn or sso can be supplied"
        return self.sso.validate() if self.sso is not None else None

    def matches(self, canonical_arn: str, *, sso_role_match: bool = False) -> bool:
        """``RoleMapping.Matches``: ``rolearn`` equal ignoring case; SSO entries only behind
        the ``SSORoleMatch`` feature gate."""
        subject = canonical_arn.lower()
        if self.role_arn:
            return self.role_arn.lower() == subject
        if self.sso is None or not sso_role_match:
            return False
        return arn_like(subject, self.sso.arn_like())


@dataclass(frozen=True, slots=True)
class UserMapping:
    """One ``mapUsers`` entry: an IAM user ARN (with its path, as STS reports it) → username
    and groups."""

    user_arn: str = ""
    username: str = ""
    groups: tuple[str, ...] = ()
    user_id: str = ""

    @property
    def key(self) -> str:
        """The authenticator's map key: ``userarn`` exactly as written (not lowercased)."""
        return self.user_arn

    def validate(self) -> str | None:
        """``UserMapping.Validate``: why the authenticator drops this entry, or ``None``."""
        return None if self.user_arn else "value for userarn must be supplied"

    def matches(self, canonical_arn: str) -> bool:
        """``UserMapping.Matches``: ``userarn`` equal ignoring case."""
        return self.user_arn.lower() == canonical_arn.lower()


@dataclass(frozen=True, slots=True)
class AwsAuthMap:
    """The valid content of an aws-auth ConfigMap, in file order (duplicates included, so that
    an encode writes back what was read; lookups resolve duplicates as the authenticator does).
    """

    roles: tuple[RoleMapping, ...] = ()
    users: tuple[UserMapping, ...] = ()
    accounts: tuple[str, ...] = ()

    def find_role(self, canonical_arn: str, *, sso_role_match: bool = False) -> RoleMapping | None:
        """The role mapping for a canonical caller ARN. Several entries with one key: the last
        wins (``saveMap`` overwrites). An exact ``rolearn`` is preferred over an SSO pattern
        (the authenticator walks a Go map, in random order, so it has no preference)."""
        exact = [role for role in self.roles if role.role_arn and role.matches(canonical_arn)]
        if exact:
            return exact[-1]
        sso = [
            role
            for role in self.roles
            if role.sso is not None and role.matches(canonical_arn, sso_role_match=sso_role_match)
        ]
        return sso[-1] if sso else None

    def find_user(self, canonical_arn: str) -> UserMapping | None:
        """The user mapping for a canonical caller ARN; the last matching entry wins."""
        found = [user for user in self.users if user.matches(canonical_arn)]
        return found[-1] if found else None

    def allows_account(self, account: str) -> bool:
        """Whether ``mapAccounts`` lists ``account`` (exact string comparison)."""
        return account in self.accounts


def arn_like(subject: str, pattern: str) -> bool:
    """The authenticator's ``arn.ArnLike``: each of the six ``:`` fields matched on its own.

    ``*`` matches any run of characters and ``?`` matches *at most one* (the Go code turns it
    into ``.?``); everything else is literal. Both sides must have six fields.
    """
    subject_parts = subject.split(":", 5)
    pattern_parts = pattern.split(":", 5)
    if len(subject_parts) != 6 or len(pattern_parts) != 6:
        return False
    if subject_parts[0] != "arn" or pattern_parts[0] != "arn":
        return False
    return all(
        re.fullmatch(_glob(part), text, flags=re.DOTALL)
        for part, text in zip(pattern_parts, subject_parts, strict=True)
    )


def _glob(pattern: str) -> str:
    pieces = {"*": ".*", "?": ".?"}
    return "".join(pieces.get(char, re.escape(char)) for char in pattern)


# --- parsing -------------------------------------------------------------------------------

_STR = "a string"
_STRS = "a list of strings"
_SSO = "a mapping"
_ROLE_FIELDS: Final = {
    "rolearn": _STR,
    "sso": _SSO,
    "username": _STR,
    "groups": _STRS,
    "userid": _STR,
}
_USER_FIELDS: Final = {"userarn": _STR, "username": _STR, "groups": _STRS, "userid": _STR}
_SSO_FIELDS: Final = {"permissionsetname": _STR, "accountid": _STR, "partition": _STR}


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
            Problem(key, f"must be a string, got {_kind(text)} (Kubernetes rejects the ConfigMap)")
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
        fields = _decode_struct(raw, _ROLE_FIELDS, where, problems)
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
        problems += _role_lints(mapping, where)
        roles.append((where, mapping))
    problems += _duplicates(roles, lambda mapping: mapping.key, "rolearn")
    return [mapping for _, mapping in roles], problems


def decode_user_mappings(
    value: object, path: str = MAP_USERS
) -> tuple[list[UserMapping], list[Problem]]:
    """User mappings from an already-decoded ``mapUsers`` value (see :class:`YamlCodec`)."""
    problems: list[Problem] = []
    users: list[tuple[str, UserMapping]] = []
    for where, raw in _entries(value, path, "user mappings", problems):
        fields = _decode_struct(raw, _USER_FIELDS, where, problems)
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
        problems += _user_lints(mapping, where)
        users.append((where, mapping))
    problems += _duplicates(users, lambda mapping: mapping.key, "userarn")
    problems += _case_variants(users)
    return [mapping for _, mapping in users], problems


def decode_accounts(value: object, path: str = MAP_ACCOUNTS) -> tuple[list[str], list[Problem]]:
    """Account IDs from an already-decoded ``mapAccounts`` value (scalars as literal text).

    Like ``yaml.v2`` into ``[]string``: an element that is a list or mapping is skipped.
    """
    problems: list[Problem] = []
    accounts: list[str] = []
    for where, raw in _entries(value, path, "account IDs", problems):
        if not isinstance(raw, str):
            problems.append(Problem(where, f"expected a string, got {_kind(raw)}; skipped"))
            continue
        if not _ACCOUNT_ID.match(raw):
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
            Problem(path, f"expected a list of {what}, got {_kind(value)}; the key is ignored")
        )
        return []
    return [(f"{path}[{index}]", raw) for index, raw in enumerate(value)]


def _decode_struct(
    raw: object, fields: Mapping[str, str], path: str, problems: list[Problem]
) -> dict[str, object]:
    """Decode one mapping as Go's ``encoding/json`` decodes a JSON object into a struct.

    Field names match ignoring case; unknown keys are ignored; ``null`` leaves a string field
    as it was and empties a list or pointer field; a value of the wrong type leaves the field
    as it was and is reported. ``sigs.k8s.io/yaml`` hands the keys over sorted, so of two
    spellings of one field (``Username``, ``username``) the one sorting last wins.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"expected a mapping, got {_kind(raw)}"))
        return {}
    decoded: dict[str, object] = {}
    for key in sorted(raw, key=_go_key):
        name = _go_key(key)
        wanted = fields.get(name.lower())
        if wanted is None:
            problems.append(Problem(f"{path}.{name}", "unknown field ignored"))
            continue
        _decode_field(decoded, name.lower(), wanted, raw[key], f"{path}.{name}", problems)
    return decoded


def _decode_field(
    decoded: dict[str, object],
    field: str,
    wanted: str,
    value: object,
    path: str,
    problems: list[Problem],
) -> None:
    if value is None:
        if wanted != _STR:
            decoded[field] = None
        return
    if wanted == _STR and isinstance(value, str):
        decoded[field] = value
    elif wanted == _STRS and isinstance(value, list):
        decoded[field] = _string_items(value, path, problems)
    elif wanted == _SSO and isinstance(value, dict):
        decoded[field] = value
    else:
        consequence = "the field stays empty" if field not in decoded else "the earlier value stays"
        problems.append(
            Problem(path, f"expected {wanted}, got {_kind(value)} {_shown(value)}; {consequence}")
        )


def _string_items(items: Sequence[object], path: str, problems: list[Problem]) -> tuple[str, ...]:
    """List elements into ``[]string``: a ``null`` or mistyped element becomes ``""``."""
    out: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            out.append(item)
            continue
        if item is not None:
            problems.append(
                Problem(
                    f"{path}[{index}]",
                    f"expected a string, got {_kind(item)} {_shown(item)}; it becomes an "
                    "empty group",
                )
            )
        out.append("")
    return tuple(out)


def _sso(value: object, path: str, problems: list[Problem]) -> SsoMatcher | None:
    if not isinstance(value, dict):
        return None
    fields = _decode_struct(value, _SSO_FIELDS, path, problems)
    return SsoMatcher(
        permission_set_name=_text(fields.get("permissionsetname")),
        account_id=_text(fields.get("accountid")),
        partition=_text(fields.get("partition")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _go_key(key: object) -> str:
    """A YAML mapping key as ``sigs.k8s.io/yaml`` turns it into a JSON key."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _shown(value: object) -> str:
    return errors.shown(value) if isinstance(value, str | int | float | bool) else ""


# --- lints on kept entries -----------------------------------------------------------------


def _role_lints(mapping: RoleMapping, where: str) -> list[Problem]:
    """Kept entries that cannot work as written (the authenticator keeps them silently)."""
    problems = _username_lints(mapping.username, where)
    if mapping.sso is not None and mapping.sso.partition:
        problems.append(
            Problem(
                f"{where}.sso.partition",
                "the authenticator leaves the partition out of the SSO pattern when one is "
                "given, so this entry never matches",
            )
        )
    if not mapping.role_arn:
        return problems
    reason = _role_arn_never_matches(mapping.role_arn)
    if reason is not None:
        problems.append(Problem(f"{where}.rolearn", f"{reason}; this entry never matches"))
    return problems


def _role_arn_never_matches(text: str) -> str | None:
    """Why a ``rolearn`` can never equal a caller's canonical ARN (reference D.3), if so."""
    try:
        parsed = arn.parse(text)
    except errors.InvalidArnError as error:
        return f"`{text}` is not an ARN ({error.reason})"
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        return "a session ARN; callers are looked up by their role ARN"
    if parsed.service == "iam" and parsed.resource_type == "role" and parsed.path != "/":
        return (
            f"the role ARN has the path `{parsed.path}`; a caller's canonical ARN never "
            "carries one (EKS: the role ARN can't include a path)"
        )
    return None


def _user_lints(mapping: UserMapping, where: str) -> list[Problem]:
    problems = _username_lints(mapping.username, where)
    try:
        arn.parse(mapping.user_arn)
    except errors.InvalidArnError as error:
        problems.append(
            Problem(f"{where}.userarn", f"not an ARN ({error.reason}); this entry never matches")
        )
    return problems


def _username_lints(username: str, where: str) -> list[Problem]:
    if username:
        return []
    return [
        Problem(
            f"{where}.username",
            "no username: the authenticator accepts the entry and maps it to an empty username",
        )
    ]


def _duplicates(
    entries: Sequence[tuple[str, _M]], key: Callable[[_M], str], field: str
) -> list[Problem]:
    """Entries whose key an earlier entry has: ``saveMap`` keeps the last of them."""
    first: dict[str, str] = {}
    problems: list[Problem] = []
    for where, mapping in entries:
        name = key(mapping)
        if name in first:
            problems.append(
                Problem(
                    where,
                    f"same {field} as {first[name]}; the authenticator keeps only the last",
                )
            )
        else:
            first[name] = where
    return problems


def _case_variants(users: Sequence[tuple[str, UserMapping]]) -> list[Problem]:
    """User ARNs that differ only in case: both kept, and the authenticator picks either."""
    seen: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for where, mapping in users:
        folded = mapping.user_arn.lower()
        if folded in seen and seen[folded][1] != mapping.user_arn:
            problems.append(
                Problem(
                    where,
                    f"userarn differs only in case from {seen[folded][0]}; both match the same "
                    "caller and the authenticator picks either (we take the last)",
                )
            )
        seen.setdefault(folded, (where, mapping.user_arn))
    return problems


# --- encoding ------------------------------------------------------------------------------


def encode_aws_auth(aws_auth: AwsAuthMap, codec: YamlCodec) -> dict[str, str]:
    """The ConfigMap ``data`` for ``aws_auth``; :func:`parse_aws_auth` gives it back.

    Like ``EncodeMap``: an empty section is left out, and fields are written in the Go
    structs' order (``rolearn``, ``sso``, ``username``, ``groups``, ``userid``), omitting the
    empty optional ones.
    """
    data: dict[str, str] = {}
    if aws_auth.roles:
        data[MAP_ROLES] = codec.dump([_plain_role(role) for role in aws_auth.roles])
    if aws_auth.users:
        data[MAP_USERS] = codec.dump([_plain_user(user) for user in aws_auth.users])
    if aws_auth.accounts:
        data[MAP_ACCOUNTS] = codec.dump(list(aws_auth.accounts))
    return data


def _plain_role(role: RoleMapping) -> dict[str, object]:
    plain: dict[str, object] = {}
    if role.role_arn:
        plain["rolearn"] = role.role_arn
    if role.sso is not None:
        sso: dict[str, object] = {
            "permissionSetName": role.sso.permission_set_name,
            "accountID": role.sso.account_id,
        }
        if role.sso.partition:
            sso["partition"] = role.sso.partition
        plain["sso"] = sso
    plain["username"] = role.username
    plain["groups"] = list(role.groups)
    if role.user_id:
        plain["userid"] = role.user_id
    return plain


def _plain_user(user: UserMapping) -> dict[str, object]:
    plain: dict[str, object] = {
        "userarn": user.user_arn,
        "username": user.username,
        "groups": list(user.groups),
    }
    if user.user_id:
        plain["userid"] = user.user_id
    return plain
