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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors
from kubetrust.chain import context
from kubetrust.policy import PolicyKind, parse_policy

_ORG = re.compile(r"o-[a-z0-9]{10,32}\Z")
_ROOT = re.compile(r"r-([0-9a-z]{4,32})\Z")
_OU = re.compile(r"ou-([0-9a-z]{4,32})-[a-z0-9]{8,32}\Z")
_ACCOUNT = re.compile(r"[0-9]{12}\Z")
_ORG_KEYS = {"id", "root", "management_account", "scps", "rcps", "accounts", "ous"}
_OU_KEYS = {"id", "name", "scps", "rcps", "accounts", "ous"}

Level = tuple[str, ...]


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
    paths: dict[str, str] = field(default_factory=dict)
    scps: dict[str, tuple[Level, ...]] = field(default_factory=dict)
    rcps: dict[str, tuple[Level, ...]] = field(default_factory=dict)
    ous: set[str] = field(default_factory=set)


def parse_organization(raw: object, known: set[str], where: str) -> Organization:
    """The ``organization:`` block (module doc); ``known`` are the world's account ids."""
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}: must be a mapping")
    _no_unknown(raw, _ORG_KEYS, where)
    org_id = raw.get("id")
    if not isinstance(org_id, str) or not _ORG.match(org_id):
        raise errors.InputError(
            f"{where}.id: {errors.shown(org_id)} is not an organization id "
            "(`o-` and 10 to 32 lowercase letters or digits)"
        )
    root = raw.get("root")
    root_match = _ROOT.match(root) if isinstance(root, str) else None
    if root_match is None or not isinstance(root, str):
        raise errors.InputError(
            f"{where}.root: {errors.shown(root)} is not a root id "
            "(`r-` and 4 to 32 lowercase letters or digits)"
        )
    management = raw.get("management_account")
    if not isinstance(management, str) or management not in known:
        raise errors.InputError(
            f"{where}.management_account: {errors.shown(management)} must be the id of an "
            "account of the world (quote it in YAML)"
        )
    walk = _Walk(root_part=root_match.group(1), where=where)
    _node(raw, f"{org_id}/{root}/", (), (), walk, where, known)
    if management not in walk.paths:  # the management account is a member: at the root
        walk.paths[management] = f"{org_id}/{root}/"
    walk.scps.pop(management, None)
    walk.rcps.pop(management, None)
    return Organization(org_id, root, management, walk.paths, walk.scps, walk.rcps)


def _node(
    raw: Mapping[str, Any],
    path: str,
    scps: tuple[Level, ...],
    rcps: tuple[Level, ...],
    walk: _Walk,
    where: str,
    known: set[str],
) -> None:
    """One node (the root or an OU): its levels added to the inherited ones, its accounts
    placed, its child OUs walked."""
    scps = scps + _level(raw, "scps", PolicyKind.SCP, where)
    rcps = rcps + _level(raw, "rcps", PolicyKind.RCP, where)
    for index, account in enumerate(_list(raw, "accounts", where)):
        place = f"{where}.accounts[{index}]"
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise errors.InputError(f"{place}: {errors.shown(account)} is not an account id")
        if account not in known:
            raise errors.InputError(f"{place}: account {account} is not in the world's accounts")
        if account in walk.paths:
            raise errors.InputError(f"{place}: account {account} is placed twice")
        walk.paths[account], walk.scps[account], walk.rcps[account] = path, scps, rcps
    for index, child in enumerate(_list(raw, "ous", where)):
        _ou(child, path, scps, rcps, walk, f"{where}.ous[{index}]", known)


def _ou(
    raw: object,
    parent: str,
    scps: tuple[Level, ...],
    rcps: tuple[Level, ...],
    walk: _Walk,
    where: str,
    known: set[str],
) -> None:
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}: an OU must be a mapping")
    _no_unknown(raw, _OU_KEYS, where)
    ou_id = raw.get("id")
    found = _OU.match(ou_id) if isinstance(ou_id, str) else None
    if found is None or not isinstance(ou_id, str):
        raise errors.InputError(
            f"{where}.id: {errors.shown(ou_id)} is not an OU id (`ou-`, its root's id "
            "without `r-`, `-` and 8 to 32 lowercase letters or digits)"
        )
    if found.group(1) != walk.root_part:
        raise errors.InputError(
            f"{where}.id: `{ou_id}` does not name the root `r-{walk.root_part}` "
            f"(AWS forms OU ids as `ou-{walk.root_part}-…`)"
        )
    if ou_id in walk.ous:
        raise errors.InputError(f"{where}.id: OU `{ou_id}` appears twice")
    walk.ous.add(ou_id)
    if not isinstance(raw.get("name", ""), str):
        raise errors.InputError(f"{where}.name: must be a string")
    _node(raw, f"{parent}{ou_id}/", scps, rcps, walk, where, known)


def _level(raw: Mapping[str, Any], key: str, kind: PolicyKind, where: str) -> tuple[Level, ...]:
    """The policies attached to one node: one level, or none when the key is absent (AWS's
    default full-access policy). An empty list is refused: AWS never leaves a node without
    a policy of an enabled type."""
    if key not in raw:
        return ()
    documents = raw[key]
    if not isinstance(documents, list) or not documents:
        raise errors.InputError(
            f"{where}.{key}: must be a non-empty list of policy documents (omit it for "
            "AWS's default full-access policy)"
        )
    for index, document in enumerate(documents):
        try:
            parse_policy(document, kind)
        except errors.PolicyParseError as exc:
            raise errors.InputError(f"{where}.{key}[{index}]: {exc}") from None
    return (tuple(json.dumps(d, sort_keys=True) for d in documents),)


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise errors.InputError(f"{where}.{key}: must be a list")
    return value


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise errors.InputError(f"{where}: unknown key {errors.shown(unknown[0])}")
