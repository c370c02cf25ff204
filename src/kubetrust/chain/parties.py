"""Who is asking and what binds them: the one place the caller side of a decision is gathered.

Every decision — the sandbox's gate and STS, explain's links and edges — needs the same
answers about the caller and the role: which policies bind the caller (identity policies,
permissions boundary, session policies, the SCPs of its account, reference A.1), what the
role holds (trust policy, RCPs of its account, tags, maximum session duration, A.2), and
which request-context keys the caller's credentials produce (``aws:PrincipalArn``,
``aws:PrincipalTag/<k>``, ``aws:SourceIdentity``, ``aws:PrincipalOrgID``…, B.4;
:mod:`kubetrust.chain.context`). The rules that turn stored facts into those answers are
here, once; where the facts are stored is a :class:`Directory`:

- the sandbox's IAM state (``kubetrust.sandbox.aws.identity``): principals found by the
  unique id their keys are bound to, so a deleted principal's keys grant nothing;
- explain's topology (:mod:`kubetrust.chain.topology_parties`): the snapshot's roles and
  users, their policies as the inputs hold them.

A :class:`Caller` is what the credentials themselves carry (kind, ARN, ids, MFA, source
identity, session policies and tags); its ``holder`` is how the directory finds the IAM
user or role whose policies bind it. Pure: nothing here reads a clock or a store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from kubetrust.chain import context
from kubetrust.chain import sts as hops
from kubetrust.model.eks import OidcProvider

DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
"""What binds the keys of a deleted principal: nothing is allowed (its policies are gone)."""

Levels = Sequence[Sequence[hops.Document]]
"""SCP or RCP levels: organization root → OUs → account, each a list of documents."""

Holder = TypeVar("Holder")
HolderKey_contra = TypeVar("HolderKey_contra", contravariant=True)


@dataclass(frozen=True, slots=True)
class HolderPolicies:
    """The stored policies of the IAM user or role that holds a caller's keys: its identity
    policies (inline, attached, its groups') and its permissions boundary (none or one)."""

    identity: Sequence[hops.Document] = ()
    boundaries: Sequence[hops.Document] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller(Generic[Holder]):
    """Who is asking: what the credentials themselves carry (module doc).

    ``kind`` is one of :mod:`kubetrust.chain.context`'s principal kinds; ``arn`` the value
    of ``aws:PrincipalArn`` (for a role session the role's ARN with its path, B.4);
    ``session_tags`` the tags the session was given (over its holder's tags, B.6)."""

    holder: Holder
    kind: str
    arn: str
    account: str
    user_id: str | None = None
    username: str | None = None
    temporary: bool = False
    issued_at: dt.datetime | None = None
    mfa_at: dt.datetime | None = None
    source_identity: str | None = None
    federated_provider: str | None = None
    session_policies: Sequence[hops.Document] = ()
    session_tags: Mapping[str, str] = field(default_factory=dict)


class Directory(Protocol[HolderKey_contra]):
    """Where the stored facts are read (module doc): one implementation over the sandbox's
    IAM state, one over explain's topology."""

    def holder_policies(self, holder: HolderKey_contra) -> HolderPolicies | None:
        """The holder's policies as stored now; ``None`` when the holder is gone."""
        ...

    def holder_tags(self, holder: HolderKey_contra) -> Mapping[str, str]:
        """The holder's tags as stored now; none when it is gone."""
        ...

    def scps(self, account: str) -> Levels:
        """The SCP levels that bind ``account`` (``()`` outside an organization)."""
        ...

    def rcps(self, account: str) -> Levels:
        """The RCP levels that bind ``account``'s resources (``()`` outside one)."""
        ...

    def org(self, account: str | None) -> context.Org | None:
        """``account``'s organization membership; ``None`` outside one (or unknown)."""
        ...

    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        """The IAM OIDC provider of ``account`` for ``url`` (with or without
        ``https://``), or ``None``."""
        ...


# ---------------------------------------------------------------------- the caller
def caller_side(directory: Directory[Holder], caller: Caller[Holder]) -> hops.CallerSide:
    """Identity policies, boundary, session policies and SCPs of ``caller``.

    The holder is found as the directory finds it (the sandbox: by the unique id the key
    carries, A.9, E.3); when it is gone the keys grant nothing, even after a principal of
    the same name is created again. A federated user's permissions are its user's
    intersected with its session policies (with none it has none: the policy engine knows,
    from its ``federated-user`` ARN)."""
    scps = directory.scps(caller.account)
    stored = directory.holder_policies(caller.holder)
    if stored is None:
        return hops.CallerSide(session=(DENY_ALL,), scps=scps)
    return hops.CallerSide(stored.identity, stored.boundaries, caller.session_policies, scps)


def principal(directory: Directory[Holder], caller: Caller[Holder]) -> context.Principal:
    """The context's view of ``caller`` (B.4): a role session's tags are its role's current
    tags with the session tags over them (B.6), a user's its own with those of its
    session; a federated user has only its session tags, the root user none. Every
    principal of a member account carries its organization (``aws:PrincipalOrgID``,
    ``aws:PrincipalOrgPaths``); outside an organization neither is present."""
    if caller.kind in (context.ROLE_SESSION, context.USER):
        tags = context.merged_tags(directory.holder_tags(caller.holder), caller.session_tags)
    elif caller.kind == context.FEDERATED_USER:
        tags = dict(caller.session_tags)
    else:
        tags = {}
    return context.Principal(
        kind=caller.kind,
        arn=caller.arn,
        account=caller.account,
        user_id=caller.user_id,
        username=caller.username if caller.kind == context.USER else None,
        tags=tags,
        temporary=caller.temporary,
        issued_at=caller.issued_at,
        mfa_at=caller.mfa_at,
        source_identity=caller.source_identity,
        federated_provider=caller.federated_provider,
        org=directory.org(caller.account),
    )


def caller_context(
    directory: Directory[Holder],
    caller: Caller[Holder],
    request: context.RequestFacts | None,
) -> dict[str, object]:
    """Every key of an STS call that comes from the caller's credentials, plus the
    request's own (time, transport, region, peer) when ``request`` is given."""
    found = context.principal_keys(principal(directory, caller), request.now if request else None)
    if request is not None:
        found.update(context.request_keys(request, "sts"))
    return found


# ---------------------------------------------------------------------- the role and resource
def role_side(
    directory: Directory[Holder],
    *,
    arn: str,
    account: str,
    trust: hops.Document,
    max_session_duration: int,
    tags: Mapping[str, str],
) -> hops.RoleSide:
    """The role being assumed: its trust policy as stored, the RCPs of its account, its
    tags (``aws:ResourceTag/<k>`` of the assume call) and its account's organization
    (``aws:ResourceOrgID``/``…Paths``)."""
    return hops.RoleSide(
        arn,
        trust,
        directory.rcps(account),
        max_session_duration,
        tags,
        directory.org(account),
    )


def resource_side(directory: Directory[Holder], resource: context.Resource) -> context.Resource:
    """``resource`` with its account's organization (``aws:ResourceOrgID`` and
    ``aws:ResourceOrgPaths``: present only when the account owning it is a member)."""
    if resource.org is not None or not resource.account:
        return resource
    return dataclasses.replace(resource, org=directory.org(resource.account))
