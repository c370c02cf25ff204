"""From a verified access key to the policies that bind its holder.

One function builds the caller side of every authorization the sandbox makes — STS hops
and ordinary API calls alike — so that an SCP, a boundary or a session policy limits a
caller the same way everywhere (reference A.1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from kubetrust import arn as arns
from kubetrust.chain import context
from kubetrust.chain import sts as hops
from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.world import World, levels_of

DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
"""What a session of a deleted role keeps: nothing (its role's policies are gone)."""


def caller_side(world: World, caller: credentials.Credential) -> hops.CallerSide:
    """Identity policies, boundary, session policies and SCPs of ``caller``.

    The role or user is found by the unique id the key carries (AROA…/AIDA…), not by
    name: a session of a deleted role, or a GetSessionToken/GetFederationToken session of
    a deleted user, has no permissions even after a principal of the same name is created
    again (as trust policies and access entries bind unique ids, A.9, E.3). A federated
    user's permissions are its user's intersected with its session policies; with none it
    has no permissions (the policy engine knows, from its ``federated-user`` ARN)."""
    scps = levels_of(world.account(caller.account), "scps")
    if caller.role_arn is not None:
        role = state.role_by_id(caller.account, caller.bound_id)
        if role is None:
            return hops.CallerSide(session=(DENY_ALL,), scps=scps)
        identity, boundary = state.role_policies(role.account, role.name)
        return hops.CallerSide(identity, boundary, caller.session_policies, scps)
    user = state.user_by_id(caller.account, caller.bound_id)
    if user is None:  # the user was deleted: its keys and sessions grant nothing
        return hops.CallerSide(session=(DENY_ALL,), scps=scps)
    identity = state.user_policies(user.account, user.name)
    return hops.CallerSide(identity=identity, session=caller.session_policies, scps=scps)


def caller_context(
    caller: credentials.Credential,
    request: context.RequestFacts | None,
    world: World,
) -> dict[str, object]:
    """Every key that comes from the caller's credentials, plus the request's own (time,
    transport, region, peer) when ``request`` is given (:mod:`kubetrust.chain.context`),
    and the organization's keys of ``world`` (:func:`principal`). ``world`` is required:
    a caller judged without it would silently lose its ``aws:PrincipalOrg*`` keys."""
    found = context.principal_keys(principal(caller, world), request.now if request else None)
    if request is not None:
        found.update(context.request_keys(request, "sts"))
    return found


def principal(caller: credentials.Credential, world: World) -> context.Principal:
    """The context's view of ``caller`` (B.4): a role session's ``aws:PrincipalArn`` is its
    role's ARN with the path, its tags the role's current tags under the session tags;
    a user's tags are the user's own. The role or user is found by the unique id the key
    is bound to, as :func:`caller_side` finds its policies: a session of a deleted role
    must not carry the tags of a later role of the same name (item 7's mistake again).

    Temporary keys (sessions, GetSessionToken) carry the MFA and issue-time keys; MFA is
    what STS recorded when it issued them (:attr:`credentials.Credential.mfa_at`: a
    GetSessionToken or AssumeRole call with a valid code, or a caller's MFA kept by the
    session it assumed). Long-term keys carry no MFA key (:mod:`kubetrust.chain.context`).

    Every principal of a member account — user, role session, federated user, root —
    carries its account's organization id and path (``aws:PrincipalOrgID``,
    ``aws:PrincipalOrgPaths``); outside an organization neither is present (UG page).
    Every decider passes the sandbox's ``world``; without one (unit tests of the other
    keys) the organization keys are absent, which fails closed: an org guard then denies."""
    base = context.Principal(
        kind=context.USER,
        arn=caller.principal_arn,
        account=caller.account,
        user_id=caller.user_id,
        temporary=caller.is_session,
        issued_at=caller.issued_at,
        mfa_at=mfa_time(caller),
        source_identity=caller.source_identity,
        org=world.org_of(caller.account),
    )
    if caller.role_arn is not None:
        provider = caller.web_identity.get("provider")
        return dataclasses.replace(
            base,
            kind=context.ROLE_SESSION,
            arn=caller.role_arn,
            tags=context.merged_tags(_role_tags(caller), caller.tags),
            federated_provider=provider if isinstance(provider, str) else None,
        )
    parsed = arns.parse(caller.principal_arn)
    if parsed.service == "sts":  # GetFederationToken: a federated user, its session tags
        return dataclasses.replace(base, kind=context.FEDERATED_USER, tags=dict(caller.tags))
    if parsed.resource_type == "root":
        return dataclasses.replace(base, kind=context.ROOT)
    tags = context.merged_tags(_user_tags(caller), caller.tags)
    return dataclasses.replace(base, username=parsed.resource_name, tags=tags)


def mfa_time(caller: credentials.Credential) -> dt.datetime | None:
    """When MFA authenticated ``caller``'s keys, or ``None`` without MFA (keys issued as
    MFA-authenticated before the time was recorded count from their issue)."""
    if not caller.mfa_authenticated:
        return None
    return caller.mfa_at or caller.issued_at


def _role_tags(caller: credentials.Credential) -> dict[str, str]:
    """The current tags of the role the session is bound to (by unique id); none when
    that role is gone."""
    role = state.role_by_id(caller.account, caller.bound_id)
    return state.role_tags(role.account, role.name) if role is not None else {}


def resource_side(world: World, resource: context.Resource) -> context.Resource:
    """``resource`` with its account's organization (``aws:ResourceOrgID`` and
    ``aws:ResourceOrgPaths``: present only when the account owning the resource is a
    member, UG page). The one place the sandbox adds it, so the gate and STS agree."""
    if resource.org is not None or not resource.account:
        return resource
    return dataclasses.replace(resource, org=world.org_of(resource.account))


def _user_tags(caller: credentials.Credential) -> dict[str, str]:
    """The current tags of the user the key is bound to (by unique id); none when that
    user is gone."""
    user = state.user_by_id(caller.account, caller.bound_id)
    return state.user_tags(user.account, user.name) if user is not None else {}
