"""The sandbox's world: which accounts exist, the region, and the organization.

Default world: accounts ``111111111111`` (the seed's CI account) and ``222222222222`` (its
target), region ``us-east-1``, no organization. A world file (YAML or JSON) may add
accounts, an organization (its id, root, management account and OU tree, each account in
the root or an OU: :mod:`kubetrust.sandbox.world_org`) and SCP/RCP levels (reference A.1
steps 3–4)::

    region: us-east-1
    organization:
      id: o-a1b2c3d4e5
      root: r-ab12
      management_account: "111111111111"      # at the root unless an OU names it
      scps: [{Version: "2012-10-17", Statement: [...]}]   # attached to the root
      ous:
        - id: ou-ab12-11111111
          name: workloads
          scps: [...]                          # attached to this OU
          accounts: ["222222222222"]
          ous: []                              # child OUs, as deep as needed
    accounts:
      - id: "111111111111"
        name: ci
      - id: "222222222222"
        name: target
        scps:                      # the account's own levels; each a list of documents
          - [{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}]

In an organization an account's SCP (RCP) levels are its nodes' from the root down, then
its own; the management account has none (SCPs and RCPs do not bind it). Without an
``organization:`` block, accounts may still carry ``scps``/``rcps`` levels (as before
organizations were modelled): they bind, but no account is a member of an organization,
so ``aws:PrincipalOrgID``, ``aws:ResourceOrgID`` and their paths stay absent.

Validation is strict: unknown keys, malformed account ids and malformed policies are
rejected with the file and the place, before the sandbox starts.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubetrust import errors
from kubetrust.chain import context
from kubetrust.policy import PolicyKind, parse_policy
from kubetrust.sandbox.world_org import Organization, parse_organization

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
    organization: Organization | None = None

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def org_of(self, account_id: str | None) -> context.Org | None:
        """The organization membership of ``account_id`` as the request context shows it
        (``aws:PrincipalOrgID``/``aws:ResourceOrgID`` and their paths); ``None`` for an
        account outside any organization, or an unknown one."""
        if self.organization is None or not account_id:
            return None
        return self.organization.membership(account_id)


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
    _no_unknown(raw, {"region", "accounts", "organization"}, where)
    region = raw.get("region", DEFAULT_REGION)
    if not isinstance(region, str) or not _REGION.match(region):
        raise errors.InputError(f"{where}: region {errors.shown(region)} is not a region name")
    items = raw.get("accounts")
    if items is None:
        accounts = World().accounts
    elif not isinstance(items, list) or not items:
        raise errors.InputError(f"{where}: `accounts` must be a non-empty list")
    else:
        accounts = tuple(_account(item, f"{where}: accounts[{i}]") for i, item in enumerate(items))
    ids = [a.id for a in accounts]
    if len(set(ids)) != len(ids):
        raise errors.InputError(f"{where}: account ids must be unique")
    if raw.get("organization") is None:
        return World(region=region, accounts=accounts)
    organization = parse_organization(raw["organization"], set(ids), f"{where}: organization")
    accounts = tuple(_in_organization(a, organization, where) for a in accounts)
    return World(region=region, accounts=accounts, organization=organization)


def _in_organization(account: Account, organization: Organization, where: str) -> Account:
    """``account`` with its organization levels before its own (module doc); the
    management account's own levels are refused: nothing would ever apply them."""
    if account.id == organization.management_account:
        if account.scps or account.rcps:
            raise errors.InputError(
                f"{where}: account {account.id} is the management account: SCPs and RCPs "
                "do not apply to it (remove its `scps`/`rcps`)"
            )
        return account
    if account.id not in organization.paths:
        if account.scps or account.rcps:
            raise errors.InputError(
                f"{where}: account {account.id} is not in the organization: SCPs and RCPs "
                "bind only its members (place it in the root or an OU)"
            )
        return account
    return dataclasses.replace(
        account,
        scps=tuple(organization.scps.get(account.id, ())) + account.scps,
        rcps=tuple(organization.rcps.get(account.id, ())) + account.rcps,
    )


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


def organization_json(world: World, account_id: str) -> dict[str, Any] | None:
    """What explain's bundle holds for ``account_id`` in ``organization.json``
    (:mod:`kubetrust.explain.bundle`): the SCP and RCP levels the sandbox enforces and, for
    a member, the organization id and the account's path. ``None`` when there is nothing to
    say (no levels, no organization). The sandbox serves no Organizations API, so
    ``kubetrust snapshot --sandbox`` reads these from the world the sandbox runs."""
    account = world.account(account_id)
    membership = world.org_of(account_id)
    if account is None or (membership is None and not account.scps and not account.rcps):
        return None
    found: dict[str, Any] = {
        "scps": [[json.loads(d) for d in level] for level in account.scps],
        "rcps": [[json.loads(d) for d in level] for level in account.rcps],
    }
    if membership is not None:
        found["id"] = membership.id
        found["path"] = membership.paths[0]
    return found
