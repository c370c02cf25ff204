"""Kubernetes identity mapping: which user and groups a verified AWS caller becomes in EKS.

After aws-iam-authenticator has verified a token (reference D.2), it knows the caller: the ARN
STS returned, its canonical form (a session ARN becomes its role's ARN, without the role's
path), the account, the principal's unique ID (``AROA…``/``AIDA…``), the session name and the
access key ID. It then walks a chain of mappers; the first that maps wins, and a caller that no
mapper maps is denied (``ErrNotMapped``, HTTP 403). EKS has two mappers (E.1):

- **access entries** (:class:`AccessEntryMapper`): the entry for the caller's ARN, bound to the
  principal's unique ID when it was created (E.3), so a deleted and recreated role or user no
  longer matches it;
- **aws-auth** (:class:`AwsAuthMapper`): ``mapRoles`` then ``mapUsers``, compared ignoring case
  with the canonical ARN (so a ``rolearn`` with a path never matches, D.3), then ``mapAccounts``.

The authentication mode picks the chain: ``CONFIG_MAP`` → aws-auth, ``API`` → access entries,
``API_AND_CONFIG_MAP`` → access entries, then aws-auth (an entry overrides the ConfigMap, E.1).

Pure: the caller and the configuration come in, a :class:`KubeIdentity` or a :class:`NotMapped`
(with its reason) comes out. Not modelled: ``{{EC2PrivateDNSName}}`` (the authenticator calls
``ec2:DescribeInstances`` to render it; here rendering fails and the caller is not mapped), the
cluster creator's invisible ``system:masters`` in ``CONFIG_MAP`` mode, scrubbed accounts
(``aws-iam-authenticator:administrative:…`` UIDs) and configured reserved username prefixes
(EKS's ConfigMap mapper reserves none).

Layout: :mod:`kubetrust.chain.kube_caller` (the caller and the outcomes),
:mod:`kubetrust.chain.access_entries` (entries, generated usernames, access policies),
:mod:`kubetrust.chain.kube_templates` (username and group templates); this module holds the
mappers and the chain, and re-exports the rest so that it stays the one import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kubetrust import errors
from kubetrust.chain.access_entries import (
    NODE_GROUPS,
    AccessEntryView,
    AccessGrant,
    PolicyAssociation,
    access_entry_username,
    access_grants,
    access_policy_grant,
    strip_role_path,
)
from kubetrust.chain.kube_caller import NOT_MAPPED, UID_PREFIX, Caller, KubeIdentity, NotMapped
from kubetrust.chain.kube_templates import TemplateError, identity_from_templates, render_template
from kubetrust.model import vocabulary
from kubetrust.model.aws_auth import AwsAuthMap

__all__ = [
    "NOT_MAPPED",
    "UID_PREFIX",
    "AccessEntryMapper",
    "AccessEntryView",
    "AccessGrant",
    "AwsAuthMapper",
    "Caller",
    "IdentityMapper",
    "KubeIdentity",
    "NotMapped",
    "PolicyAssociation",
    "TemplateError",
    "access_entry_username",
    "access_grants",
    "access_policy_grant",
    "map_caller",
    "map_with_access_entry",
    "map_with_aws_auth",
    "mapper_chain",
    "render_template",
    "resolve_kube_identity",
    "strip_role_path",
]

# --- mappers -------------------------------------------------------------------------------


class IdentityMapper(Protocol):
    """One source of mappings, as the authenticator's ``mapper.Mapper`` (style habit 4)."""

    @property
    def name(self) -> str: ...

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        """The caller's identity from this source, or why there is none."""
        ...

    def is_account_allowed(self, account: str) -> bool:
        """Whether every principal of ``account`` maps to its own ARN (``mapAccounts``)."""
        ...


@dataclass(frozen=True, slots=True)
class AwsAuthMapper:
    """The aws-auth ConfigMap (``EKSConfigMap`` mode): roles first, then users (D.3).

    ``sso_role_match`` is the authenticator's alpha ``SSORoleMatch`` feature gate, off by
    default; whether EKS turns it on is not documented.
    """

    aws_auth: AwsAuthMap
    sso_role_match: bool = False

    @property
    def name(self) -> str:
        return vocabulary.AWS_AUTH

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        role = self.aws_auth.find_role(caller.canonical_arn, sso_role_match=self.sso_role_match)
        if role is not None:
            via = f"aws-auth mapRoles {role.role_arn or role.key}"
            return identity_from_templates(caller, role.username, role.groups, via)
        user = self.aws_auth.find_user(caller.canonical_arn)
        if user is not None:
            return identity_from_templates(
                caller, user.username, user.groups, f"aws-auth mapUsers {user.key}"
            )
        return NotMapped(f"aws-auth maps no role or user `{caller.canonical_arn}`")

    def is_account_allowed(self, account: str) -> bool:
        return self.aws_auth.allows_account(account)


@dataclass(frozen=True, slots=True)
class AccessEntryMapper:
    """EKS access entries: the entry whose principal is the caller, bound by unique ID (E.3).

    Entries come from the EKS API, which validated their ARNs; a malformed one raises
    :class:`errors.InvalidArnError` rather than being skipped.
    """

    entries: tuple[AccessEntryView, ...] = ()

    @property
    def name(self) -> str:
        return vocabulary.ACCESS_ENTRIES

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        entry = self._entry_for(caller)
        if entry is None:
            return NotMapped(f"no access entry for `{caller.canonical_arn}`")
        if entry.principal_id != caller.principal_id:
            return NotMapped(
                f"the access entry for `{entry.principal_arn}` is bound to principal ID "
                f"`{entry.principal_id}`, the caller is `{caller.principal_id}`: the principal "
                "was deleted and recreated, so the entry must be recreated too (E.3)"
            )
        username = access_entry_username(entry)
        if username is None:
            return NotMapped(f"EKS documents no username for access entry type `{entry.type}`")
        groups = entry.kubernetes_groups if entry.type == "STANDARD" else NODE_GROUPS
        via = f"access entry {entry.principal_arn}"
        return identity_from_templates(caller, username, groups, via, access_grants(entry))

    def is_account_allowed(self, account: str) -> bool:
        return False

    def _entry_for(self, caller: Caller) -> AccessEntryView | None:
        """The entry whose principal ARN, role path removed, is the caller's canonical ARN."""
        wanted = caller.canonical_arn.lower()
        for entry in self.entries:
            if strip_role_path(entry.principal_arn).lower() == wanted:
                return entry
        return None


_aws_auth_mapper_conforms: type[IdentityMapper] = AwsAuthMapper
_access_entry_mapper_conforms: type[IdentityMapper] = AccessEntryMapper


# --- the chain -----------------------------------------------------------------------------


def mapper_chain(
    mode: str,
    *,
    access_entries: Sequence[AccessEntryView] = (),
    aws_auth: AwsAuthMap | None = None,
    sso_role_match: bool = False,
) -> tuple[IdentityMapper, ...]:
    """The mappers an authentication mode consults, in order (E.1; ``BuildMapperChain``).

    A missing aws-auth ConfigMap maps nobody (the authenticator resets to empty on delete).
    An unknown mode raises :class:`errors.InputError`.
    """
    entries = AccessEntryMapper(tuple(access_entries))
    config_map = AwsAuthMapper(aws_auth or AwsAuthMap(), sso_role_match)
    if not vocabulary.is_authentication_mode(mode):
        modes = ", ".join(vocabulary.AUTHENTICATION_MODES)
        raise errors.InputError(f"authentication mode {errors.shown(mode)} is not one of {modes}")
    mappers: dict[vocabulary.MappingSource, IdentityMapper] = {
        vocabulary.ACCESS_ENTRIES: entries,
        vocabulary.AWS_AUTH: config_map,
    }
    return tuple(mappers[source] for source in vocabulary.MODE_READS[mode])


def map_caller(mappers: Sequence[IdentityMapper], caller: Caller) -> KubeIdentity | NotMapped:
    """Walk the chain as the authenticator's ``doMapping`` does.

    The first mapper that maps wins. When a mapper does not, and it lists the caller's account
    (``mapAccounts``), the username is the caller's canonical ARN, with no groups. A stale
    access entry (E.3) does not stop the walk: the next mapper still gets the caller
    ([inferred] from ``doMapping``, which only collects a mapper's errors).
    """
    reasons: list[str] = []
    for mapper in mappers:
        result = mapper.map(caller)
        if isinstance(result, KubeIdentity):
            return result
        reasons.append(result.reason)
        if mapper.is_account_allowed(caller.account):
            via = f"{mapper.name} mapAccounts {caller.account}"
            return KubeIdentity(caller.canonical_arn, (), caller.uid, via, caller.extra())
    return NotMapped("; ".join(reasons)) if reasons else NOT_MAPPED


def map_with_aws_auth(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    aws_auth: AwsAuthMap,
    sso_role_match: bool = False,
) -> KubeIdentity | None:
    """The caller's identity from aws-auth alone (roles, users, then accounts), or ``None``."""
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    return _or_none(map_caller((AwsAuthMapper(aws_auth, sso_role_match),), caller))


def map_with_access_entry(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    entry: AccessEntryView,
) -> KubeIdentity | None:
    """The caller's identity from one access entry, or ``None`` (not its principal, or bound
    to another unique ID)."""
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    return _or_none(AccessEntryMapper((entry,)).map(caller))


def resolve_kube_identity(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    mode: str,
    access_entries: Sequence[AccessEntryView] = (),
    aws_auth: AwsAuthMap | None = None,
    sso_role_match: bool = False,
) -> KubeIdentity | None:
    """The caller's identity under an authentication mode (E.1), or ``None`` (denied).

    Use :func:`mapper_chain` and :func:`map_caller` directly to learn why a caller is not
    mapped.
    """
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    chain = mapper_chain(
        mode, access_entries=access_entries, aws_auth=aws_auth, sso_role_match=sso_role_match
    )
    return _or_none(map_caller(chain, caller))


def _or_none(result: KubeIdentity | NotMapped) -> KubeIdentity | None:
    return result if isinstance(result, KubeIdentity) else None
