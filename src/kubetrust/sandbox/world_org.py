"""The ``organization:`` block of a world file: an AWS Organizations tree.

An organization has an id (``o-`` and 10–32 lowercase letters or digits), one root
(``r-`` and 4–32), a management account and a tree of OUs (``ou-<root part>-`` and 8–32:
AWS forms an OU's id from its root's, Organizations API reference, "OrganizationalUnit").
Every member account sits in the root or in exactly one OU; an account of the world that
the tree does not name is not a member (its requests carry no ``aws:PrincipalOrgID``).

From the tree come, per member account, two things:

- its **path**, the value of ``aws:PrincipalOrgPaths`` / ``aws:ResourceOrgPaths``: the ids
  of the organization, the root and every OU down to the account's parent, each followed by
  ``/`` — ``o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/`` (IAM User Guide, "AWS global condition
  context keys", ``aws:PrincipalOrgPaths``; the account id is not part of it);
- its **inherited SCP and RCP levels**: one level per node from the root down that has
  policies attached (a node without ``scps`` keeps AWS's default ``FullAWSAccess``, which
  restricts nothing, so it adds no level). The account's own ``scps``/``rcps`` levels
  follow them (:mod:`kubetrust.sandbox.world`).

The management account is bound by neither: "SCPs don't affect users or roles in the
management account", and RCPs do not apply to its resources (Organizations User Guide,
SCPs and RCPs pages; reference A.1).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kubetrust import errors
from kubetrust.chain import context
from kubetrust.model import fields

Level = tuple[str, ...]
_T = TypeVar("_T")


class WorldModel(BaseModel):
    """A block of the world file: its keys as written (snake_case), none unknown, each
    value of its own type (strict: an unquoted YAML number is not an id), immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


OrganizationId = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"o-[a-z0-9]{10,32}",
            "{value} is not an organization id (`o-` and 10 to 32 lowercase letters or digits)",
        )
    ),
]
RootId = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"r-[0-9a-z]{4,32}",
            "{value} is not a root id (`r-` and 4 to 32 lowercase letters or digits)",
        )
    ),
]
OuId = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}",
            "{value} is not an OU id (`ou-`, its root's id without `r-`, `-` and 8 to 32 "
            "lowercase letters or digits)",
        )
    ),
]


def _attached(documents: list[_T]) -> list[_T]:
    """The policies attached to one node; an empty list is refused: AWS never leaves a
    node without a policy of an enabled type (omitting the key keeps AWS's default
    full-access policy, which adds no level)."""
    if not documents:
        raise ValueError(
            "must be a non-empty list of policy documents (omit it for AWS's default "
            "full-access policy)"
        )
    return documents


AttachedScps = Annotated[list[fields.ServiceControlPolicy], AfterValidator(_attached)]
AttachedRcps = Annotated[list[fields.ResourceControlPolicy], AfterValidator(_attached)]


class OuEntry(WorldModel):
    """An organizational unit: its policies, its accounts, its child OUs."""

    id: OuId
    name: str = ""
    scps: AttachedScps = Field(default_factory=list)
    rcps: AttachedRcps = Field(default_factory=list)
    accounts: list[fields.AccountId] = Field(default_factory=list)
    ous: list[OuEntry] = Field(default_factory=list)


class OrganizationEntry(WorldModel):
    """The ``organization:`` block (module doc): the root's policies and accounts are its
    own."""

    id: OrganizationId
    root: RootId
    management_account: fields.AccountId
    scps: AttachedScps = Field(default_factory=list)
    rcps: AttachedRcps = Field(default_factory=list)
    accounts: list[fields.AccountId] = Field(default_factory=list)
    ous: list[OuEntry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Organization:
    """The organization of a world: per member account its path and inherited levels."""

    id: str
    root: str
    management_account: str
    paths: Mapping[str, str] = field(default_factory=dict)
    scps: Mapping[str, tuple[Level, ...]] = field(default_factory=dict)
    rcps: Mapping[str, tuple[Level, ...]] = field(default_factory=dict)

    def membership(self, account: str) -> context.Org | None:
        """``account``'s membership as the request context shows it, ``None`` for a
        non-member."""
        path = self.paths.get(account)
        return context.Org(self.id, (path,)) if path is not None else None


@dataclass(slots=True)
class _Walk:
    """What walking the tree collects (paths and levels per account, ids seen)."""

    root_part: str
    where: str
    known: Collection[str]
    paths: dict[str, str] = field(default_factory=dict)
    scps: dict[str, tuple[Level, ...]] = field(default_factory=dict)
    rcps: dict[str, tuple[Level, ...]] = field(default_factory=dict)
    ous: set[str] = field(default_factory=set)

    def refuse(self, loc: fields.Loc, message: str) -> NoReturn:
        raise errors.InputError(fields.located(self.where, loc, message))


def build_organization(
    block: OrganizationEntry, known: Collection[str], where: str
) -> Organization:
    """The organization a validated ``organization:`` block describes (module doc), after
    the rules that span it: the management account and every placed account are the
    world's (``known``), each placed once, each OU id once and formed from the root's.
    ``where`` names the file in messages."""
    at: fields.Loc = ("organization",)
    walk = _Walk(root_part=block.root.removeprefix("r-"), where=where, known=known)
    if block.management_account not in known:
        walk.refuse(
            (*at, "management_account"),
            f"{errors.shown(block.management_account)} must be the id of an account of the world",
        )
    root_path = f"{block.id}/{block.root}/"
    _node(block, root_path, (), (), walk, at)
    management = block.management_account
    if management not in walk.paths:  # the management account is a member: at the root
        walk.paths[management] = root_path
    walk.scps.pop(management, None)
    walk.rcps.pop(management, None)
    return Organization(block.id, block.root, management, walk.paths, walk.scps, walk.rcps)


def _node(
    node: OrganizationEntry | OuEntry,
    path: str,
    scps: tuple[Level, ...],
    rcps: tuple[Level, ...],
    walk: _Walk,
    at: fields.Loc,
) -> None:
    """One node (the root or an OU): its levels added to the inherited ones, its accounts
    placed, its child OUs walked."""
    scps = scps + _level(node.scps)
    rcps = rcps + _level(node.rcps)
    for index, account in enumerate(node.accounts):
        place = (*at, "accounts", index)
        if account not in walk.known:
            walk.refuse(place, f"account {account} is not in the world's accounts")
        if account in walk.paths:
            walk.refuse(place, f"account {account} is placed twice")
        walk.paths[account], walk.scps[account], walk.rcps[account] = path, scps, rcps
    for index, child in enumerate(node.ous):
        _ou(child, path, scps, rcps, walk, (*at, "ous", index))


def _ou(
    ou: OuEntry,
    parent: str,
    scps: tuple[Level, ...],
    rcps: tuple[Level, ...],
    walk: _Walk,
    at: fields.Loc,
) -> None:
    root_part = ou.id.removeprefix("ou-").split("-", 1)[0]
    if root_part != walk.root_part:
        walk.refuse(
            (*at, "id"),
            f"`{ou.id}` does not name the root `r-{walk.root_part}` "
            f"(AWS forms OU ids as `ou-{walk.root_part}-…`)",
        )
    if ou.id in walk.ous:
        walk.refuse((*at, "id"), f"OU `{ou.id}` appears twice")
    walk.ous.add(ou.id)
    _node(ou, f"{parent}{ou.id}/", scps, rcps, walk, at)


def _level(documents: list[dict[str, Any]]) -> tuple[Level, ...]:
    """The policies attached to one node: one level, or none (AWS's default full-access
    policy). Levels are JSON text: hashable, the engine caches compiled sets by them."""
    if not documents:
        return ()
    return (tuple(json.dumps(d, sort_keys=True) for d in documents),)
