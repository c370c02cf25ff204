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
    realism: aws          # AWS's timing (module kubetrust.sandbox.world_realism); off by default
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

Validation is strict (pydantic models, :class:`WorldFile`, with the field types the spec
shares, :mod:`kubetrust.model.fields`): unknown keys, malformed ids and names, values of
the wrong type (an unquoted account id is a YAML number) and malformed policies are
rejected with the file and the place (``world.yaml: accounts[1].id: ...``), every field
problem at once, before the sandbox starts; then the rules that span fields (unique
account ids, the organization's tree, levels only where they can bind).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from kubetrust import errors
from kubetrust.chain import context
from kubetrust.model import fields
from kubetrust.model.vocabulary import DEFAULT_ROLE_MAX_SESSION
from kubetrust.sandbox.world_org import (
    Organization,
    OrganizationEntry,
    WorldModel,
    build_organization,
)
from kubetrust.sandbox.world_realism import OFF, Realism, RealismField, realism_of

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNTS = (("111111111111", "ci"), ("222222222222", "target"))


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role to create when the sandbox starts."""

    name: str
    trust: Mapping[str, Any]
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = "/"
    max_session_duration: int = DEFAULT_ROLE_MAX_SESSION


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
    realism: Realism = OFF
    """AWS's timing: propagation delays, asynchronous EKS, throttling, page sizes
    (:mod:`kubetrust.sandbox.world_realism`); off by default."""

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def org_of(self, account_id: str | None) -> context.Org | None:
        """The organization membership of ``account_id`` as the request context shows it
        (``aws:PrincipalOrgID``/``aws:ResourceOrgID`` and their paths); ``None`` for an
        account outside any organization, or an unknown one."""
        if self.organization is None or not account_id:
            return None
        return self.organization.membership(account_id)


BucketName = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]",
            "{value} is not a valid S3 bucket name (3-63 lowercase letters, digits, . and -, "
            "starting and ending with a letter or digit)",
        )
    ),
]
RolePath = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"/(.*/)?", "{value} is not a role path (it starts and ends with `/`)", re.DOTALL
        )
    ),
]


def _a_level(value: object) -> object:
    """``scps: [document]`` for ``scps: [[document]]`` is the likely slip: name it."""
    if isinstance(value, Mapping):
        raise ValueError(
            "must be a level: a list of policy documents (an account's `scps`/`rcps` "
            "is a list of levels)"
        )
    return value


ScpLevel = Annotated[list[fields.ServiceControlPolicy], BeforeValidator(_a_level)]
RcpLevel = Annotated[list[fields.ResourceControlPolicy], BeforeValidator(_a_level)]


def _accounts_listed(accounts: list[AccountEntry]) -> list[AccountEntry]:
    if not accounts:
        raise ValueError("must be a non-empty list (omit it for the default accounts)")
    return accounts


class RoleEntry(WorldModel):
    """A role of an account (:class:`RoleSpec`): trust and inline policies are checked as
    IAM checks them."""

    name: fields.RoleName
    trust: fields.TrustPolicy
    policies: dict[str, fields.IdentityPolicy] = Field(default_factory=dict)
    path: RolePath = "/"
    max_session_duration: fields.SessionDuration = DEFAULT_ROLE_MAX_SESSION


class AccountEntry(WorldModel):
    """An account (:class:`Account`); ``scps``/``rcps`` are its own levels, each a list of
    documents."""

    id: fields.AccountId
    name: str | None = None
    scps: list[ScpLevel] | None = None
    rcps: list[RcpLevel] | None = None
    roles: list[RoleEntry] = Field(default_factory=list)
    buckets: list[BucketName] = Field(default_factory=list)
    clusters: list[fields.ClusterName] = Field(default_factory=list)


class WorldFile(WorldModel):
    """A whole world file (module doc)."""

    region: fields.Region = DEFAULT_REGION
    accounts: Annotated[list[AccountEntry], AfterValidator(_accounts_listed)] | None = None
    organization: OrganizationEntry | None = None
    realism: RealismField | None = None


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
    """The world ``raw`` describes; ``where`` names it in messages. Every field problem is
    reported, one line each; then the first problem of the rules that span fields."""
    if not isinstance(raw, Mapping):
        raise errors.InputError(
            f"{where}: a world must be a mapping (`region`, `accounts`, `organization`)"
        )
    try:
        entry = WorldFile.model_validate(dict(raw))
    except ValidationError as error:
        failures = (fields.describe(detail, WorldFile) for detail in error.errors())
        raise errors.InputError("\n".join(f.line(where) for f in failures)) from None
    return _world(entry, where)


def _world(entry: WorldFile, where: str) -> World:
    if entry.accounts is None:
        accounts = World().accounts
    else:
        accounts = tuple(_account(account) for account in entry.accounts)
    seen: set[str] = set()
    for index, account in enumerate(accounts):
        if account.id in seen:
            raise errors.InputError(
                fields.located(
                    where,
                    ("accounts", index, "id"),
                    f"account {account.id} appears twice (account ids must be unique)",
                )
            )
        seen.add(account.id)
    realism = realism_of(entry.realism)
    if entry.organization is None:
        return World(region=entry.region, accounts=accounts, realism=realism)
    organization = build_organization(entry.organization, seen, where)
    accounts = tuple(
        _in_organization(account, organization, where, index)
        for index, account in enumerate(accounts)
    )
    return World(region=entry.region, accounts=accounts, organization=organization, realism=realism)


def _account(entry: AccountEntry) -> Account:
    return Account(
        id=entry.id,
        name=entry.id if entry.name is None else entry.name,
        scps=_levels(entry.scps),
        rcps=_levels(entry.rcps),
        roles=tuple(
            RoleSpec(
                role.name, role.trust, dict(role.policies), role.path, role.max_session_duration
            )
            for role in entry.roles
        ),
        buckets=tuple(entry.buckets),
        clusters=tuple(entry.clusters),
    )


def _levels(levels: list[list[dict[str, Any]]] | None) -> tuple[tuple[str, ...], ...]:
    """Levels as JSON text (:attr:`Account.scps`)."""
    return tuple(
        tuple(json.dumps(document, sort_keys=True) for document in level) for level in levels or ()
    )


def _in_organization(
    account: Account, organization: Organization, where: str, index: int
) -> Account:
    """``account`` with its organization levels before its own (module doc); the
    management account's own levels are refused: nothing would ever apply them."""
    at: fields.Loc = ("accounts", index)
    if account.id == organization.management_account:
        if account.scps or account.rcps:
            raise errors.InputError(
                fields.located(
                    where,
                    at,
                    f"account {account.id} is the management account: SCPs and RCPs do not "
                    "apply to it (remove its `scps`/`rcps`)",
                )
            )
        return account
    if account.id not in organization.paths:
        if account.scps or account.rcps:
            raise errors.InputError(
                fields.located(
                    where,
                    at,
                    f"account {account.id} is not in the organization: SCPs and RCPs bind "
                    "only its members (place it in the root or an OU)",
                )
            )
        return account
    return dataclasses.replace(
        account,
        scps=tuple(organization.scps.get(account.id, ())) + account.scps,
        rcps=tuple(organization.rcps.get(account.id, ())) + account.rcps,
    )


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
