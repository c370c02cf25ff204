"""The sandbox's world: which accounts exist, the region, and the organization's policies.

Default world: accounts ``111111111111`` (the seed's CI account) and ``222222222222`` (its
target), region ``us-east-1``, no organization. A world file (YAML or JSON) may add
accounts and give each account its SCP and RCP levels (organization root → OUs → account;
reference A.1 steps 3–4)::

    region: us-east-1
    accounts:
      - id: "111111111111"
        name: ci
        scps:                      # levels; each level a list of policy documents
          - [{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}]
      - id: "222222222222"
        name: target

Validation is strict: unknown keys, malformed account ids and malformed policies are
rejected with the file and the place, before the sandbox starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubetrust import errors
from kubetrust.policy import PolicyKind, parse_policy

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNTS = (("111111111111", "ci"), ("222222222222", "target"))
_ACCOUNT = re.compile(r"[0-9]{12}\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]\Z")


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role to create when the sandbox starts."""

    name: str
    trust: Mapping[str, Any]
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = "/"
    max_session_duration: int = 3600


@dataclass(frozen=True, slots=True)
class Account:
    """One sandbox account, the organization policies that bind it, and what it holds
    from the start (roles, buckets, EKS clusters)."""

    id: str
    name: str
    scps: tuple[tuple[str, ...], ...] = ()
    """SCP levels as JSON text (hashable: the engine caches compiled policy sets by it)."""
    rcps: tuple[tuple[str, ...], ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    buckets: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class World:
    region: str = DEFAULT_REGION
    accounts: tuple[Account, ...] = field(
        default_factory=lambda: tuple(Account(i, n) for i, n in DEFAULT_ACCOUNTS)
    )

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)


def load_world(path: Path | None) -> World:
    """The default world, or the one described in ``path`` (see module doc)."""
    if path is None:
        return World()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.InputError(f"cannot read world file `{path}`: {exc.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.InputError(f"world file `{path}`: not valid YAML/JSON: {exc}") from None
    return parse_world(raw, str(path))


def parse_world(raw: object, where: str = "world") -> World:
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}: a world must be a mapping")
    _no_unknown(raw, {"region", "accounts"}, where)
    region = raw.get("region", DEFAULT_REGION)
    if not isinstance(region, str) or not _REGION.match(region):
        raise errors.InputError(f"{where}: region {errors.shown(region)} is not a region name")
    items = raw.get("accounts")
    if items is None:
        return World(region=region)
    if not isinstance(items, list) or not items:
        raise errors.InputError(f"{where}: `accounts` must be a non-empty list")
    accounts = tuple(_account(item, f"{where}: accounts[{i}]") for i, item in enumerate(items))
    ids = [a.id for a in accounts]
    if len(set(ids)) != len(ids):
        raise errors.InputError(f"{where}: account ids must be unique")
    return World(region=region, accounts=accounts)


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise errors.InputError(f"{where}: unknown key {errors.shown(unknown[0])}")


def _account(raw: object, where: str) -> Account:
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}: an account must be a mapping")
    _no_unknown(raw, {"id", "name", "scps", "rcps", "roles", "buckets", "clusters"}, where)
    account_id = raw.get("id")
    if not isinstance(account_id, str) or not _ACCOUNT.match(account_id):
        raise errors.InputError(
            f"{where}: id {errors.shown(account_id)} must be 12 digits (quote it in YAML)"
        )
    name = raw.get("name", account_id)
    if not isinstance(name, str):
        raise errors.InputError(f"{where}: name must be a string")
    return Account(
        id=account_id,
        name=name,
        scps=_levels(raw.get("scps"), PolicyKind.SCP, f"{where}.scps"),
        rcps=_levels(raw.get("rcps"), PolicyKind.RCP, f"{where}.rcps"),
        roles=tuple(
            _role(r, f"{where}.roles[{i}]") for i, r in enumerate(_list(raw, "roles", where))
        ),
        buckets=tuple(_names(raw, "buckets", where, _BUCKET)),
        clusters=tuple(_names(raw, "clusters", where, _CLUSTER)),
    )


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]\Z")
_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,99}\Z")
_ROLE = re.compile(r"[A-Za-z0-9+=,.@_\-]{1,64}\Z")


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise errors.InputError(f"{where}: `{key}` must be a list")
    return value


def _names(raw: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]) -> list[str]:
    names = _list(raw, key, where)
    for index, name in enumerate(names):
        if not isinstance(name, str) or not pattern.match(name):
            raise errors.InputError(
                f"{where}.{key}[{index}]: {errors.shown(name)} is not a valid {key[:-1]} name"
            )
    return names


def _role(raw: object, where: str) -> RoleSpec:
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}: a role must be a mapping")
    _no_unknown(raw, {"name", "trust", "policies", "path", "max_session_duration"}, where)
    name = raw.get("name")
    if not isinstance(name, str) or not _ROLE.match(name):
        raise errors.InputError(f"{where}: name {errors.shown(name)} is not a role name")
    trust = raw.get("trust")
    _document(trust, PolicyKind.TRUST, f"{where}.trust")
    policies = raw.get("policies", {})
    if not isinstance(policies, Mapping):
        raise errors.InputError(f"{where}.policies: must map policy names to documents")
    for policy_name, document in policies.items():
        _document(document, PolicyKind.IDENTITY, f"{where}.policies.{policy_name}")
    path = raw.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/") or not path.endswith("/"):
        raise errors.InputError(f"{where}.path: must start and end with `/`")
    duration = raw.get("max_session_duration", 3600)
    if not isinstance(duration, int) or not 3600 <= duration <= 43200:
        raise errors.InputError(f"{where}.max_session_duration: 3600 to 43200 seconds")
    assert isinstance(trust, Mapping)
    return RoleSpec(name, trust, dict(policies), path, duration)


def _document(document: object, kind: PolicyKind, where: str) -> None:
    if not isinstance(document, Mapping):
        raise errors.InputError(f"{where}: must be a policy document (a mapping)")
    try:
        parse_policy(document, kind)
    except errors.PolicyParseError as exc:
        raise errors.InputError(f"{where}: {exc}") from None


def _levels(raw: object, kind: PolicyKind, where: str) -> tuple[tuple[str, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(level, list) for level in raw):
        raise errors.InputError(f"{where}: must be a list of levels, each a list of documents")
    levels: list[tuple[str, ...]] = []
    for number, level in enumerate(raw):
        for index, document in enumerate(level):
            try:
                parse_policy(document, kind)
            except errors.PolicyParseError as exc:
                raise errors.InputError(f"{where}[{number}][{index}]: {exc}") from None
        levels.append(tuple(json.dumps(document, sort_keys=True) for document in level))
    return tuple(levels)


def levels_of(account: Account | None, which: str) -> Sequence[Sequence[str]]:
    """The SCP or RCP levels of ``account`` (``()`` when there is no organization)."""
    if account is None:
        return ()
    return account.scps if which == "scps" else account.rcps
