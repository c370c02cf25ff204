"""From a verified access key to the policies that bind its holder.

The sandbox's side of :mod:`kubetrust.chain.parties`: :class:`SandboxDirectory` answers
what IAM holds now (read through :mod:`kubetrust.sandbox.aws.state`) and the world's
organization, :func:`caller_of` what a key carries. The rules that combine them are
``chain``'s, the ones explain follows over its topology, so that an SCP, a boundary or a
session policy limits a caller the same way in every authorization the sandbox makes —
STS hops and ordinary API calls alike — and in what explain reports (reference A.1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from kubetrust import arn as arns
from kubetrust.chain import context, parties
from kubetrust.chain import sts as hops
from kubetrust.model.eks import OidcProvider
from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries
from kubetrust.sandbox.world import World, levels_of

ROLE = "role"
USER = "user"


@dataclass(frozen=True, slots=True)
class Holder:
    """The IAM role or user whose policies bind a key: ``kind`` (:data:`ROLE` or
    :data:`USER`) and the unique id (``AROA…``/``AIDA…``) the key is bound to. Found by that
    id, never by name: a session of a deleted role, or a GetSessionToken/GetFederationToken
    session of a deleted user, has no permissions even after a principal of the same name
    is created again (as trust policies and access entries bind unique ids, A.9, E.3)."""

    kind: str
    account: str
    unique_id: str


class UnknownBoundaries(LookupError):
    """A directory made without the users' boundaries was asked for a user's policies: a
    wiring error, refused rather than answered without the user's boundary."""


@dataclass(frozen=True, slots=True)
class SandboxDirectory:
    """:class:`kubetrust.chain.parties.Directory` over the sandbox's IAM state (read
    through :mod:`kubetrust.sandbox.aws.state`, and the users' permissions boundaries,
    which moto does not keep: ``user_boundaries``) and ``world``'s organization.

    Without ``user_boundaries`` the directory answers tags, organizations and OIDC
    providers (what :func:`principal`, :func:`caller_context` and :func:`resource_side`
    read) but no user's policies: :class:`UnknownBoundaries`, never a user unbounded.

    ``iam`` is IAM as the services other than IAM see it (:mod:`.propagation`: a change
    is seen only once it propagated); the default sees every change at once."""

    world: World
    user_boundaries: UserBoundaries | None = None
    iam: Propagation = field(default_factory=lambda: Propagation(0.0))

    def holder_policies(self, holder: Holder) -> parties.HolderPolicies | None:
        """The role's or the user's identity policies (a user's: its own and its groups')
        and permissions boundary; ``None`` when the holder is gone."""
        if holder.kind == ROLE:
            role = self.iam.role_by_id(holder.account, holder.unique_id)
            if role is None:
                return None
            identity, boundary = self.iam.role_policies(role.account, role.name)
            return parties.HolderPolicies(identity, boundary)
        if self.user_boundaries is None:
            raise UnknownBoundaries("the sandbox's user boundaries were not given")
        user = state.user_by_id(holder.account, holder.unique_id)
        if user is None or not self.iam.user_visible(user.account, user.name):
            return None
        boundary_arn = self.user_boundaries.arn_of(user.account, user.id)
        identity, boundary = self.iam.user_policies(user.account, user.name, boundary_arn)
        return parties.HolderPolicies(identity, boundary)

    def holder_tags(self, holder: Holder) -> dict[str, str]:
        """The current tags of the role or user; none when it is gone."""
        if holder.kind == ROLE:
            role = state.role_by_id(holder.account, holder.unique_id)
            return state.role_tags(role.account, role.name) if role is not None else {}
        user = state.user_by_id(holder.account, holder.unique_id)
        return state.user_tags(user.account, user.name) if user is not None else {}

    def scps(self, account: str) -> parties.Levels:
        return levels_of(self.world.account(account), "scps")

    def rcps(self, account: str) -> parties.Levels:
        return levels_of(self.world.account(account), "rcps")

    def org(self, account: str | None) -> context.Org | None:
        return self.world.org_of(account)

    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        """The IAM OIDC provider whose stored URL (no scheme) is ``url`` without
        ``https://``, as STS sees it (:mod:`.propagation`)."""
        return self.iam.oidc_provider(account, url)


def caller_of(caller: credentials.Credential) -> parties.Caller[Holder]:
    """What ``caller``'s key carries (B.4): a role session's ``aws:PrincipalArn`` is its
    role's ARN with the path, its session tags go over the role's current tags; a user's
    over the user's own; a federated user (GetFederationToken) has only its session tags.

    Temporary keys (sessions, GetSessionToken) carry the MFA and issue-time keys; MFA is
    what STS recorded when it issued them (:attr:`credentials.Credential.mfa_at`: a
    GetSessionToken or AssumeRole call with a valid code, or a caller's MFA kept by the
    session it assumed). Long-term keys carry no MFA key (:mod:`kubetrust.chain.context`)."""
    base = parties.Caller(
        holder=Holder(
            ROLE if caller.role_arn is not None else USER, caller.account, caller.bound_id
        ),
        kind=context.USER,
        arn=caller.principal_arn,
        account=caller.account,
        user_id=caller.user_id,
        temporary=caller.is_session,
        issued_at=caller.issued_at,
        mfa_at=mfa_time(caller),
        source_identity=caller.source_identity,
        session_policies=caller.session_policies,
        session_tags=caller.tags,
    )
    if caller.role_arn is not None:
        provider = caller.web_identity.get("provider")
        return dataclasses.replace(
            base,
            kind=context.ROLE_SESSION,
            arn=caller.role_arn,
            federated_provider=provider if isinstance(provider, str) else None,
        )
    parsed = arns.parse(caller.principal_arn)
    if parsed.service == "sts":  # GetFederationToken: a federated user
        return dataclasses.replace(base, kind=context.FEDERATED_USER)
    if parsed.resource_type == "root":
        return dataclasses.replace(base, kind=context.ROOT)
    return dataclasses.replace(base, username=parsed.resource_name)


def caller_side(
    world: World,
    caller: credentials.Credential,
    user_boundaries: UserBoundaries,
    iam: Propagation | None = None,
) -> hops.CallerSide:
    """Identity policies, boundary, session policies and SCPs of ``caller``, gathered by
    the rules explain follows too (:func:`kubetrust.chain.parties.caller_side`): the
    holder found by the unique id the key carries (:class:`Holder`); a user's boundary is
    the one the sandbox holds (``user_boundaries``), and binds its GetSessionToken and
    GetFederationToken sessions too; a federated user's permissions are its user's
    intersected with its session policies. ``iam``: IAM as the caller's service sees it
    (:mod:`.propagation`; ``None``: every change at once)."""
    directory = SandboxDirectory(world, user_boundaries, iam or Propagation(0.0))
    return parties.caller_side(directory, caller_of(caller))


def caller_context(
    caller: credentials.Credential,
    request: context.RequestFacts | None,
    world: World,
) -> dict[str, object]:
    """Every key that comes from the caller's credentials, plus the request's own (time,
    transport, region, peer) when ``request`` is given (:mod:`kubetrust.chain.context`),
    and the organization's keys of ``world`` (:func:`principal`). ``world`` is required:
    a caller judged without it would silently lose its ``aws:PrincipalOrg*`` keys."""
    return parties.caller_context(SandboxDirectory(world), caller_of(caller), request)


def principal(caller: credentials.Credential, world: World) -> context.Principal:
    """The context's view of ``caller`` (B.4, :func:`kubetrust.chain.parties.principal`):
    the role or user is found by the unique id the key is bound to, as :func:`caller_side`
    finds its policies: a session of a deleted role must not carry the tags of a later
    role of the same name (item 7's mistake again). Every principal of a member account —
    user, role session, federated user, root — carries its account's organization id and
    path (``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths``); outside an organization
    neither is present (UG page)."""
    return parties.principal(SandboxDirectory(world), caller_of(caller))


def mfa_time(caller: credentials.Credential) -> dt.datetime | None:
    """When MFA authenticated ``caller``'s keys, or ``None`` without MFA (keys issued as
    MFA-authenticated before the time was recorded count from their issue)."""
    if not caller.mfa_authenticated:
        return None
    return caller.mfa_at or caller.issued_at


def resource_side(world: World, resource: context.Resource) -> context.Resource:
    """``resource`` with its account's organization (``aws:ResourceOrgID`` and
    ``aws:ResourceOrgPaths``: present only when the account owning the resource is a
    member, UG page). The one place the sandbox adds it, so the gate and STS agree."""
    return parties.resource_side(SandboxDirectory(world), resource)
