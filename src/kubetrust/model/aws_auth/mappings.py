"""The aws-auth data model: the three data keys, the role and user mappings with the
authenticator's own validation and matching, the parsed map and its lookups, and the
:class:`YamlCodec` port through which text is decoded (no YAML library is imported here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

from kubetrust import arn

MAP_ROLES: Final = "mapRoles"
MAP_USERS: Final = "mapUsers"
MAP_ACCOUNTS: Final = "mapAccounts"
DATA_KEYS: Final = (MAP_ROLES, MAP_USERS, MAP_ACCOUNTS)

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
        if not arn.is_account_id(self.account_id):  # 12 digits, as ``RoleMapping.Validate``
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
