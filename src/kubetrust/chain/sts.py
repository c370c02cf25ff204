"""STS hops as two-sided checks: what the sandbox enforces is what explain reports.

A hop is one ``AssumeRole`` or ``AssumeRoleWithWebIdentity`` call. AWS authorizes it as one
request evaluated in two accounts (reference A.2): the *caller side* (the caller's identity
policies, permissions boundary, session policies and the SCPs of the caller's account) and
the *trust side* (the role's trust policy and the RCPs of the role's account). Same
account, the two combine as a union; across accounts both must allow. Passing session tags
or a source identity adds ``sts:TagSession`` / ``sts:SetSourceIdentity`` checks against the
same policies (:mod:`kubetrust.policy.sts`).

For every check a :class:`Check` keeps three decisions, all from the one engine:

- ``decision``: the authoritative answer, with every policy in play;
- ``caller_side``: the caller side alone (the trust side replaced by one that delegates to
  the caller's account), ``None`` for a web identity caller, which has no identity side;
- ``trust_side``: the trust side alone (the caller side replaced by an allow-all identity).

The side decisions only explain; ``decision`` decides. STS's own parameter rules (session
name, duration, the one-hour cap on role chaining) are here too, as pure functions, so that
the sandbox and explain give the same ``ValidationError`` messages (reference B.1).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust import arn, policy
from kubetrust.chain import context as request_context
from kubetrust.model.vocabulary import (
    ASSUME_ROLE_DURATION,
    CHAINED_SESSION_CAP,
    DEFAULT_ROLE_MAX_SESSION,
    DEFAULT_ROLE_SESSION,
)
from kubetrust.policy import sts as sts_requests

_SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)

Document = str | Mapping[str, Any] | policy.PolicyDocument

_ALLOW_ALL = policy.parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    policy.PolicyKind.IDENTITY,
)


@dataclass(frozen=True, slots=True)
class CallerSide:
    """The policies that bind the caller, in the caller's (trusted) account."""

    identity: Sequence[Document] = ()
    boundaries: Sequence[Document] = ()
    session: Sequence[Document] = ()
    scps: Sequence[Sequence[Document]] = ()


@dataclass(frozen=True, slots=True)
class RoleSide:
    """The role being assumed: its ARN, trust policy and the RCPs of its account."""

    arn: str
    trust: Document
    rcps: Sequence[Sequence[Document]] = ()
    max_session_duration: int = DEFAULT_ROLE_MAX_SESSION
    tags: Mapping[str, str] = field(default_factory=dict)
    """The role's tags: ``aws:ResourceTag/<k>`` of the assume call (STS's role resource)."""
    org: request_context.Org | None = None
    """The organization of the role's account: ``aws:ResourceOrgID``/``…Paths`` of the
    assume call (absent when the account is in none)."""

    @property
    def account(self) -> str:
        return arn.parse(self.arn).account

    def context(self, request: request_context.RequestFacts | None) -> dict[str, object]:
        """The keys the role and the request add to an assume call (:mod:`.context`):
        the role's account, organization and tags, and the request's time, transport,
        region, peer."""
        resource = request_context.Resource(
            account=self.account, tags=dict(self.tags), org=self.org
        )
        facts = request or request_context.RequestFacts()
        return request_context.build(None, facts, resource, service="sts")


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization of a hop (the assume action, TagSession, SetSourceIdentity)."""

    request: policy.Request
    decision: policy.Decision
    caller_side: policy.Decision | None
    trust_side: policy.Decision

    @property
    def action(self) -> str:
        return self.request.action


@dataclass(frozen=True, slots=True)
class HopResult:
    """Every check of one hop; the hop succeeds only if every check allows."""

    action: str
    caller: str
    role: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return all(check.decision.allowed for check in self.checks)

    @property
    def failed(self) -> Check | None:
        """The first check that denied, if any."""
        return next((c for c in self.checks if not c.decision.allowed), None)


class ChainRefused(ValueError):
    """STS refuses a chained hop's parameters before any policy is read (a
    ``ValidationError``); the message is the one the sandbox answers."""


@dataclass(frozen=True, slots=True)
class HopParams:
    """What one ``AssumeRole`` call passes besides the role and session name: a source
    identity and session tags (with their transitive keys)."""

    source_identity: str | None = None
    tags: sts_requests.SessionTags | None = None


@dataclass(frozen=True, slots=True)
class Carried:
    """What a session hands to the sessions it makes (B.1, B.6): its source identity and
    its session tags, of which the ``transitive`` keys are inherited by the next hop."""

    source_identity: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive: tuple[str, ...] = ()

    @classmethod
    def of(cls, source_identity: str | None, tags: sts_requests.SessionTags | None) -> Carried:
        """What the session a hop issued carries, from what the hop set."""
        if tags is None:
            return cls(source_identity)
        return cls(source_identity, dict(tags.tags), tuple(tags.transitive))


def chained_source_identity(inherited: str | None, requested: str | None) -> str | None:
    """The source identity of the new session: the caller's, once set, which this hop
    sets again (so it needs ``sts:SetSourceIdentity`` and is ``sts:SourceIdentity`` of
    the request, IAM UG "Permissions required to set source identity": "When you assume
    a role with another role ... permissions for sts:SetSourceIdentity are required in
    both the permissions policy ... and in the role trust policy"), else the requested
    one. A different value is refused: "the value that is set cannot be changed" (B.1).
    [uncertain] STS's error code and text for that refusal are unreported; ours is a
    ``ValidationError`` (:class:`ChainRefused`)."""
    if inherited is None:
        return requested
    if requested is not None and requested != inherited:
        raise ChainRefused(
            f"The source identity {requested} cannot replace the source identity "
            f"{inherited} that the calling session already carries: it cannot be changed"
        )
    return inherited


def chained_tags(
    carried: Carried, requested: sts_requests.SessionTags | None
) -> sts_requests.SessionTags | None:
    """The session tags a hop sets: the caller's inherited transitive tags and the
    requested ones, all transitive keys kept (B.6). The hop sets the inherited tags
    again, so it is decided with them (``sts:TagSession``, ``aws:RequestTag/*``), as
    AWS refuses a chained hop into a role whose trust lacks ``sts:TagSession`` when the
    session carries transitive tags ([seen] aws/copilot-cli#5358). Tag keys compare
    ignoring case; a requested key equal to an inherited transitive one fails ("If you
    try to pass the Heart = 3 session tag, the operation will fail": IAM UG, "Chaining
    roles with session tags"; [uncertain] the error's code and text are unreported, ours
    is a ``ValidationError``), and so do two requested keys that differ only in case."""
    transitive = {key.lower() for key in carried.transitive}
    inherited = {k: v for k, v in carried.tags.items() if k.lower() in transitive}
    wanted = dict(requested.tags) if requested else {}
    _check_tag_keys(wanted, inherited)
    keys = [k for k in carried.transitive if k in inherited]
    for key in requested.transitive if requested else ():
        if key.lower() not in {k.lower() for k in keys}:
            keys.append(key)
    if not inherited and not wanted:
        return requested
    return sts_requests.SessionTags({**inherited, **wanted}, tuple(keys))


def _check_tag_keys(wanted: Mapping[str, str], inherited: Mapping[str, str]) -> None:
    """Requested tag keys must differ from each other and from the inherited transitive
    keys, ignoring case (see :func:`chained_tags`)."""
    seen: set[str] = set()
    for key in wanted:
        if key.lower() in seen:
            # [uncertain] STS's text; IAM's for the same mistake in TagRole reads so.
            raise ChainRefused(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
    clash = sorted(k for k in inherited if k.lower() in seen)
    if clash:
        raise ChainRefused(
            f"The session tag {clash[0]} is a transitive tag of the calling session: "
            "a later session in the role chain cannot set it again"
        )


def assume_role(
    caller: str,
    caller_side: CallerSide,
    role: RoleSide,
    *,
    session_name: str,
    external_id: str | None = None,
    source_identity: str | None = None,
    tags: sts_requests.SessionTags | None = None,
    context: Mapping[str, object] | None = None,
    request: request_context.RequestFacts | None = None,
) -> HopResult:
    """Evaluate ``caller`` calling ``sts:AssumeRole`` on ``role`` (see module doc).

    ``context`` holds the caller's keys (:func:`kubetrust.chain.context.principal_keys`),
    ``request`` the call's own facts; the role adds its account and tags."""
    requests = sts_requests.assume_role_requests(
        caller,
        role.arn,
        session_name=session_name,
        external_id=external_id,
        source_identity=source_identity,
        tags=tags,
        context={**role.context(request), **(context or {})},
    )
    full = policy.policy_set(
        identity=caller_side.identity,
        resource=role.trust,
        boundaries=caller_side.boundaries,
        session=caller_side.session,
        scps=caller_side.scps,
        rcps=role.rcps,
        resource_kind="trust",
    )
    caller_only = policy.policy_set(
        identity=caller_side.identity,
        resource=_delegating_trust(caller),
        boundaries=caller_side.boundaries,
        session=caller_side.session,
        scps=caller_side.scps,
        resource_kind="trust",
    )
    trust_only = policy.policy_set(
        identity=[_ALLOW_ALL], resource=role.trust, rcps=role.rcps, resource_kind="trust"
    )
    checks = tuple(
        Check(
            r,
            policy.authorize(r, full),
            policy.authorize(r, caller_only),
            policy.authorize(r, trust_only),
        )
        for r in requests
    )
    return HopResult("sts:AssumeRole", caller, role.arn, checks)


def assume_role_with_web_identity(
    provider: str,
    issuer: str,
    claims: Mapping[str, object],
    role: RoleSide,
    *,
    session_name: str,
    request: request_context.RequestFacts | None = None,
) -> HopResult:
    """Evaluate a web identity (the IAM OIDC provider ``provider``, with the token's
    ``claims``) assuming ``role``. There is no caller side: only the trust policy and the
    role account's RCPs decide (A.2, hop 1). ``aws:FederatedProvider`` is the provider's
    ARN (the value AWS gives IAM OIDC providers; for other IdPs it is not emulated)."""
    keys = role.context(request)
    keys["aws:FederatedProvider"] = provider
    requests = sts_requests.web_identity_requests(
        provider, role.arn, issuer, claims, session_name=session_name, context=keys
    )
    policies = policy.policy_set(resource=role.trust, rcps=role.rcps, resource_kind="trust")
    checks = tuple(
        Check(r, decision, None, decision)
        for r in requests
        for decision in (policy.authorize(r, policies),)
    )
    return HopResult("sts:AssumeRoleWithWebIdentity", provider, role.arn, checks)


def caller_side_policy_set(caller: str, caller_side: CallerSide) -> policy.PolicySet:
    """The caller side alone, as :func:`assume_role` decides ``Check.caller_side``: the
    caller's policies with a trust that delegates to the caller's account. Reusable for
    many targets (audit decides thousands of hops per caller with one compiled set)."""
    return policy.policy_set(
        identity=caller_side.identity,
        resource=_delegating_trust(caller),
        boundaries=caller_side.boundaries,
        session=caller_side.session,
        scps=caller_side.scps,
        resource_kind="trust",
    )


def trust_side_policy_set(role: RoleSide) -> policy.PolicySet:
    """The trust side alone, as :func:`assume_role` decides ``Check.trust_side``: the
    role's trust and RCPs with an allow-all identity. Reusable for many callers."""
    return policy.policy_set(
        identity=[_ALLOW_ALL], resource=role.trust, rcps=role.rcps, resource_kind="trust"
    )


def _delegating_trust(caller: str) -> policy.PolicyDocument:
    """A trust policy naming the caller's account: the identity side must then allow."""
    return _account_trust(arn.parse(caller).account)


@functools.lru_cache(maxsize=256)
def _account_trust(account: str) -> policy.PolicyDocument:
    return policy.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:*"}],
        },
        policy.PolicyKind.TRUST,
    )


def check_session_name(name: object) -> str | None:
    """STS's ``ValidationError`` message for a bad ``RoleSessionName``, or ``None`` (B.1):
    the model's length 2–64 and pattern, every violated one listed, as the sandbox's STS
    answers it (:func:`text_problems`)."""
    value = name if isinstance(name, str) else None
    problems = text_problems(
        value,
        "roleSessionName",
        2,
        64,
        pattern=_SESSION_NAME,
        pattern_text=r"[\w+=,.@-]*",
        required=True,
    )
    return validation_message(problems)


def text_problems(
    value: str | None,
    member: str,
    low: int,
    high: int | None = None,
    *,
    pattern: re.Pattern[str] | None = None,
    pattern_text: str = "",
    required: bool = False,
    secret: bool = False,
) -> list[str]:
    """The constraints a string member of an STS call violates, each worded as STS words
    it (B.1): "Value null at 'roleArn' failed to satisfy constraint: Member must not be
    null", "Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have
    length greater than or equal to 2"; a ``secret`` member's value is not shown ("Value
    at 'policy' …"). The one implementation: explain's checks and the sandbox's STS
    (``sandbox/sts_params``) both word their problems here."""
    if value is None:
        if not required:
            return []
        return [f"Value null at '{member}' failed to satisfy constraint: Member must not be null"]
    shown = f"Value at '{member}'" if secret else f"Value '{value}' at '{member}'"
    head = f"{shown} failed to satisfy constraint: Member must "
    problems: list[str] = []
    if len(value) < low:
        problems.append(head + f"have length greater than or equal to {low}")
    elif high is not None and len(value) > high:
        problems.append(head + f"have length less than or equal to {high}")
    if pattern is not None and not pattern.fullmatch(value):
        problems.append(head + f"satisfy regular expression pattern: {pattern_text}")
    return problems


def validation_message(problems: Sequence[str]) -> str | None:
    """STS's ``ValidationError`` text listing ``problems``, or ``None`` when there are none."""
    if not problems:
        return None
    noun = "error" if len(problems) == 1 else "errors"
    return f"{len(problems)} validation {noun} detected: " + "; ".join(problems)


def check_duration(
    requested: int | None, *, max_session_duration: int, chained: bool
) -> tuple[int, str | None]:
    """The session duration STS grants, or its ``ValidationError`` message (B.1).

    Default 3600 s; the model's bounds are 900–43200; above the role's
    MaxSessionDuration fails; a chained assume (role credentials calling AssumeRole) above
    one hour fails with its own message.
    """
    if requested is None:
        return min(DEFAULT_ROLE_SESSION, max_session_duration), None
    head = (
        f"1 validation error detected: Value '{requested}' at 'durationSeconds' failed to "
        "satisfy constraint: Member must have value "
    )
    if requested < ASSUME_ROLE_DURATION.minimum:
        return requested, head + f"greater than or equal to {ASSUME_ROLE_DURATION.minimum}"
    if requested > ASSUME_ROLE_DURATION.maximum:
        return requested, head + f"less than or equal to {ASSUME_ROLE_DURATION.maximum}"
    if chained and requested > CHAINED_SESSION_CAP:
        return requested, (
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining."
        )
    if requested > max_session_duration:
        return requested, (
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    return requested, None
