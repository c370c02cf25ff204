"""Read ``aws iam get-account-authorization-details`` output into :class:`AccountIam`.

This is the format PMapper and cloudsplaining read (IAM API ``GetAccountAuthorizationDetails``;
the output of ``aws iam get-account-authorization-details``): ``UserDetailList``,
``GroupDetailList``, ``RoleDetailList`` and ``Policies``. What we take from it:

- roles: ``Arn``, ``RoleName``, ``Path``, ``RoleId``, ``AssumeRolePolicyDocument``,
  ``RolePolicyList`` (inline), ``AttachedManagedPolicies``, ``PermissionsBoundary``,
  ``InstanceProfileList``, ``Tags``; ``MaxSessionDuration`` when present (the API's
  ``RoleDetail`` lacks it; ``aws iam list-roles`` / ``get-role`` output has it and can be
  merged with :func:`merge_role_facts`);
- users: the same, plus ``GroupList``; groups: ``GroupPolicyList`` and attached policies;
- managed policies: the ``PolicyVersionList`` entry with ``IsDefaultVersion`` true.

Policy documents come URL-encoded in the raw API (``%7B%22Version%22...``) and as JSON
objects from the CLI, which decodes them; both are accepted, as is plain JSON text.

Tolerant like the authenticator's ConfigMap parser (style habit 9): a bad entry or document
is reported as a :class:`~kubetrust.model.iam.Problem` and left out (a role whose trust
cannot be parsed is kept, with no trust: nobody can assume it); the rest is kept. Pure: the
caller decodes the file (``json``) and passes the object in.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from kubetrust import arn, errors
from kubetrust.model.iam import (
    AccountIam,
    Group,
    ManagedPolicy,
    NamedDocument,
    Problem,
    Role,
    User,
)
from kubetrust.model.vocabulary import DEFAULT_ROLE_MAX_SESSION
from kubetrust.policy import PolicyDocument, PolicyKind
from kubetrust.policy.compact import compact_json
from kubetrust.policy.interning import intern_document
from kubetrust.policy.slotted import constructor

SECTIONS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def looks_like_dump(data: object) -> bool:
    """Whether ``data`` is authorization-details output (it has one of the section keys)."""
    return isinstance(data, Mapping) and any(key in data for key in SECTIONS)


def decode_document(raw: object) -> Mapping[str, Any]:
    """A policy document as a mapping, from an object, JSON text or URL-encoded JSON text.

    Raises :class:`errors.InputError` when it is none of these.
    """
    if type(raw) is dict or isinstance(raw, Mapping):
        return raw
    if not isinstance(raw, str):
        raise errors.InputError(f"a policy document must be an object or text, got {raw!r:.40}")
    text = raw.strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text)
    try:
        decoded = json.loads(text)
    except ValueError as error:
        raise errors.InputError(f"not JSON, nor URL-encoded JSON: {error}") from None
    if type(decoded) is not dict and not isinstance(decoded, Mapping):
        raise errors.InputError("a policy document must be a JSON object")
    return decoded


_new_role = constructor(Role)
_new_named_document = constructor(NamedDocument)
"""One of each per role and inline policy of a dump (a million roles in a large
organization): built without the dataclasses' ``__init__`` (:mod:`kubetrust.policy.slotted`),
every field given in field order."""


def resource_type(resource: str) -> str:
    """:attr:`kubetrust.arn.Arn.resource_type` without its regular expression: the resource
    up to its first ``/`` or ``:`` (checked for every role, user and group of a dump)."""
    cut = len(resource)
    for separator in "/:":
        found = resource.find(separator, 0, cut)
        if found >= 0:
            cut = found
    return resource[:cut]


class _Reader:
    """One dump being read: the account, the problems found so far."""

    def __init__(self, account: str | None, numbers_exact: bool = False) -> None:
        self.account = account
        self.numbers_exact = numbers_exact
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def document(self, raw: object, kind: PolicyKind, where: str) -> PolicyDocument | None:
        return self.document_or_reason(raw, kind, where)[0]

    def document_or_reason(
        self, raw: object, kind: PolicyKind, where: str
    ) -> tuple[PolicyDocument | None, str]:
        """The parsed document, or ``None`` and why (also recorded as a problem): explain
        quotes the reason where the unreadable trust breaks a chain."""
        document, _, reason = self.document_and_text(raw, kind, where)
        return document, reason

    def document_and_text(
        self, raw: object, kind: PolicyKind, where: str
    ) -> tuple[PolicyDocument | None, str, str]:
        """The parsed document (shared with every equal one: documents are interned), its
        compact JSON text (``""`` when it does not decode) and why it is unusable."""
        try:
            decoded = decode_document(raw)
        except errors.KubetrustError as error:
            return self._unusable(where, kind, error, "")
        # Only a document decoded with its file can vouch for the file's numbers.
        exact = self.numbers_exact and raw is decoded
        try:
            document, text = intern_document(decoded, kind, numbers_exact=exact)
        except errors.KubetrustError as error:
            return self._unusable(where, kind, error, compact_json(decoded))
        return document, text, ""

    def _unusable(
        self, where: str, kind: PolicyKind, error: errors.KubetrustError, text: str
    ) -> tuple[None, str, str]:
        self.problem(where, f"unusable {kind.value} policy, left out: {error}")
        return None, text, str(error)

    def entries(self, data: Mapping[str, Any], section: str) -> list[tuple[str, Mapping[str, Any]]]:
        items = data.get(section) or []
        if not isinstance(items, list):
            self.problem(section, "must be a list; ignored")
            return []
        found = []
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            if type(item) is dict or isinstance(item, Mapping):
                found.append((where, item))
            else:
                self.problem(where, "must be an object; ignored")
        return found

    def arn_of(self, item: Mapping[str, Any], where: str, kind: str) -> arn.Arn | None:
        try:
            parsed = arn.parse(item.get("Arn"))
        except errors.InvalidArnError as error:
            self.problem(f"{where}.Arn", f"{error}; entry ignored")
            return None
        if parsed.service != "iam" or resource_type(parsed.resource) != kind:
            self.problem(f"{where}.Arn", f"`{parsed}` is not an IAM {kind} ARN; entry ignored")
            return None
        if self.account is None:
            self.account = parsed.account
        elif parsed.account not in (self.account, "aws"):
            self.problem(
                f"{where}.Arn",
                f"account {parsed.account} differs from the dump's {self.account}; entry ignored",
            )
            return None
        return parsed

    def inline(self, item: Mapping[str, Any], key: str, where: str) -> tuple[NamedDocument, ...]:
        found = []
        for index, raw in enumerate(item.get(key) or []):
            place = f"{where}.{key}[{index}]"
            if type(raw) is not dict and not isinstance(raw, Mapping):
                self.problem(place, "must be an object; ignored")
                continue
            name = str(raw.get("PolicyName") or f"inline[{index}]")
            document = self.document(raw.get("PolicyDocument"), PolicyKind.IDENTITY, place)
            if document is not None:  # names repeat in every role a template made
                found.append(_new_named_document(sys.intern(f"inline {name}"), document))
        return tuple(found)

    def attached(self, item: Mapping[str, Any], where: str) -> tuple[str, ...]:
        found = []
        for index, raw in enumerate(item.get("AttachedManagedPolicies") or []):
            policy_arn = (
                raw.get("PolicyArn") if (type(raw) is dict or isinstance(raw, Mapping)) else None
            )
            if isinstance(policy_arn, str) and policy_arn:
                found.append(policy_arn)
            else:
                self.problem(f"{where}.AttachedManagedPolicies[{index}]", "no PolicyArn; ignored")
        return tuple(found)

    def boundary(self, item: Mapping[str, Any]) -> str | None:
        raw = item.get("PermissionsBoundary")
        if isinstance(raw, Mapping):
            value = raw.get("PermissionsBoundaryArn")
            return value if isinstance(value, str) and value else None
        return None


def parse_authorization_details(
    data: Mapping[str, Any], *, account: str | None = None, numbers_exact: bool = False
) -> tuple[AccountIam, list[Problem]]:
    """Build the account's IAM entities from authorization-details output (module doc).

    ``account`` is taken from the entities' ARNs when not given; a dump with no entity and
    no ``account`` raises :class:`errors.InputError` (nothing says whose it is).
    ``numbers_exact``: ``data`` was decoded from JSON holding no number with a fraction, an
    exponent or a non-finite value, so its documents parse exactly from their mappings
    (:mod:`kubetrust.policy.interning`).
    """
    if account is not None and not arn.is_account_id(account):
        raise errors.InputError(f"account {errors.shown(account)} is not 12 digits")
    reader = _Reader(account, numbers_exact)
    policies = _policies(reader, data)
    roles = {_lower(role.name): role for role in _roles(reader, data)}
    users = {_lower(user.name): user for user in _users(reader, data)}
    groups = {_lower(group.name): group for group in _groups(reader, data)}
    if reader.account is None:
        raise errors.InputError("the dump names no account and holds no role, user or group")
    return AccountIam(reader.account, roles, users, groups, policies), reader.problems


def _lower(name: str) -> str:
    """``name.lower()``, the same object when already lower case (most names): a million
    roles' keys then cost no second string each."""
    lowered = name.lower()
    return name if lowered == name else lowered


def _policies(reader: _Reader, data: Mapping[str, Any]) -> dict[str, ManagedPolicy]:
    found: dict[str, ManagedPolicy] = {}
    for where, item in reader.entries(data, "Policies"):
        policy_arn = item.get("Arn")
        if not isinstance(policy_arn, str) or not policy_arn:
            reader.problem(where, "no Arn; ignored")
            continue
        versions = item.get("PolicyVersionList") or []
        default = next(
            (
                (index, v)
                for index, v in enumerate(versions)
                if isinstance(v, Mapping) and v.get("IsDefaultVersion") is True
            ),
            None,
        )
        document: PolicyDocument | None = None
        if default is None:
            reader.problem(where, f"`{policy_arn}` has no default version; its rules are unknown")
        else:
            place = f"{where}.PolicyVersionList[{default[0]}].Document"
            document = reader.document(default[1].get("Document"), PolicyKind.IDENTITY, place)
        found[policy_arn] = ManagedPolicy(policy_arn, str(item.get("PolicyName") or ""), document)
    return found


def _roles(reader: _Reader, data: Mapping[str, Any]) -> list[Role]:
    roles = []
    for where, item in reader.entries(data, "RoleDetailList"):
        parsed = reader.arn_of(item, where, "role")
        if parsed is None:
            continue
        trust_raw = item.get("AssumeRolePolicyDocument")
        trust, trust_text, trust_problem = None, "", ""
        if trust_raw is None:
            trust_problem = "the dump holds no AssumeRolePolicyDocument for it"
            reader.problem(where, f"role `{parsed}` has no AssumeRolePolicyDocument")
        else:
            place = f"{where}.AssumeRolePolicyDocument"
            trust, trust_text, trust_problem = reader.document_and_text(
                trust_raw, PolicyKind.TRUST, place
            )
        duration = item.get("MaxSessionDuration")
        profiles = tuple(
            str(p.get("Arn") or p.get("InstanceProfileName"))
            for p in item.get("InstanceProfileList") or []
            if (type(p) is dict or isinstance(p, Mapping))
        )
        roles.append(
            _new_role(  # Role's fields, in order
                item["Arn"],  # what ``parsed`` was parsed from: ``str(parsed)``, not rebuilt
                parsed.resource_name,
                sys.intern(parsed.account),  # one string per account, not per role
                parsed.path,
                str(item.get("RoleId") or ""),
                trust,
                trust_text,
                trust_problem,
                reader.inline(item, "RolePolicyList", where),
                reader.attached(item, where),
                reader.boundary(item),
                duration if isinstance(duration, int) else DEFAULT_ROLE_MAX_SESSION,
                isinstance(duration, int),
                profiles,
                _tags(item.get("Tags")),
            )
        )
    return roles


def _users(reader: _Reader, data: Mapping[str, Any]) -> list[User]:
    users = []
    for where, item in reader.entries(data, "UserDetailList"):
        parsed = reader.arn_of(item, where, "user")
        if parsed is None:
            continue
        groups = tuple(str(g) for g in item.get("GroupList") or [] if isinstance(g, str))
        users.append(
            User(
                arn=str(parsed),
                name=parsed.resource_name,
                account=parsed.account,
                user_id=str(item.get("UserId") or ""),
                inline=reader.inline(item, "UserPolicyList", where),
                attached=reader.attached(item, where),
                groups=groups,
                boundary_arn=reader.boundary(item),
            )
        )
    return users


def _groups(reader: _Reader, data: Mapping[str, Any]) -> list[Group]:
    groups = []
    for where, item in reader.entries(data, "GroupDetailList"):
        parsed = reader.arn_of(item, where, "group")
        if parsed is None:
            continue
        groups.append(
            Group(
                arn=str(parsed),
                name=parsed.resource_name,
                inline=reader.inline(item, "GroupPolicyList", where),
                attached=reader.attached(item, where),
            )
        )
    return groups


def _tags(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {
        str(tag["Key"]): str(tag.get("Value", ""))
        for tag in raw
        if (type(tag) is dict or isinstance(tag, Mapping)) and "Key" in tag
    }


def role_facts(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``Role`` objects of ``aws iam list-roles`` (``Roles``) or ``get-role`` (``Role``)
    output; empty for anything else."""
    if isinstance(data.get("Roles"), list):
        return [r for r in data["Roles"] if isinstance(r, Mapping)]
    if isinstance(data.get("Role"), Mapping):
        return [data["Role"]]
    return []


def merge_role_facts(
    account: AccountIam, facts: Sequence[Mapping[str, Any]]
) -> tuple[AccountIam, list[Problem]]:
    """``account`` with each role's ``MaxSessionDuration`` taken from list-roles/get-role
    output (``RoleDetail`` lacks it). Roles the dump does not hold are reported."""
    roles = dict(account.roles)
    problems: list[Problem] = []
    for index, fact in enumerate(facts):
        name, duration = fact.get("RoleName"), fact.get("MaxSessionDuration")
        if not isinstance(name, str) or not isinstance(duration, int):
            problems.append(Problem(f"Roles[{index}]", "needs RoleName and MaxSessionDuration"))
            continue
        role = roles.get(name.lower())
        if role is None:
            problems.append(
                Problem(f"Roles[{index}]", f"role `{name}` is not in the account's dump; ignored")
            )
            continue
        roles[name.lower()] = _with_duration(role, duration)
    return AccountIam(account.account, roles, account.users, account.groups, account.policies), (
        problems
    )


def _with_duration(role: Role, duration: int) -> Role:
    return dataclasses.replace(role, max_session_duration=duration, max_session_known=True)
