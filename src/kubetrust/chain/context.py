"""One request context for every decision: the sandbox's gate, the STS hops and explain.

AWS gathers a request's context from three sources — the principal, the resource and the
request itself — and evaluates every policy against it (IAM User Guide, "AWS global
condition context keys", ``reference_policies_condition-keys.md``; reference B.4). A key
AWS sets must be here with AWS's value, or an explicit Deny on it never applies; a key AWS
does not set must be absent, or ``...IfExists`` and ``Null`` answer differently than on AWS.
Every decider builds its context with :func:`build`, so the sandbox and explain cannot
disagree on a key's value. This module is pure: the caller supplies "now" (the sandbox's
clock, explain's ``now`` input); nothing here reads a clock.

=================================  ==========================================================
key                                 when present → value (source: the IAM UG page above)
=================================  ==========================================================
``aws:PrincipalArn``                always (signed) → user ARN; for a role session the
                                    **role** ARN with its path (not the session ARN, B.4);
                                    root ``arn:aws:iam::A:root``
``aws:PrincipalAccount``            always → the principal's account
``aws:PrincipalType``               always → ``User``, ``AssumedRole``, ``FederatedUser``,
                                    ``Account``
``aws:userid``                      signed requests → ``AIDA…`` (user), ``AROA…:session``
                                    (role session), ``account:name`` (federated user)
``aws:username``                    IAM users only
``aws:PrincipalTag/<k>``            the user's tags; for a role session the role's tags with
                                    the session tags over them (same key ignoring case, B.6)
``aws:PrincipalIsAWSService``       always → ``false`` (no service principal calls here)
``aws:ViaAWSService``               always → ``false`` (every call here is direct)
``aws:CalledVia*``                  absent: present only when a service forwards a call
``aws:TokenIssueTime``              temporary credentials only → when they were issued
``aws:MultiFactorAuthPresent``      temporary credentials → ``true`` iff MFA was used; absent
                                    for long-term access keys (but for the call that passes
                                    an MFA code itself: ``true``)
``aws:MultiFactorAuthAge``          only when MFA was used → seconds since
``aws:SourceIdentity``              once a source identity is set on the session
``aws:FederatedProvider``           sessions from a web identity → the IAM OIDC provider's
                                    ARN (the AssumeRoleWithWebIdentity call too); the
                                    exact value for Cognito/SAML is not emulated
``aws:PrincipalOrgID``/``…Paths``   only when the principal's account is in an organization
``aws:CurrentTime``/``EpochTime``   always → the request's time (ISO 8601 UTC / seconds)
``aws:SecureTransport``             always → whether the request came over TLS
``aws:RequestedRegion``             always → the region called; IAM's single endpoint is
                                    ``us-east-1`` whatever the client signs
``aws:SourceIp``                    unless the request came through a VPC endpoint → the
                                    peer address
``aws:ResourceAccount``             most actions → the account owning the resource
``aws:ResourceOrgID``/``…Paths``    only when the resource's account is in an organization
``aws:ResourceTag/<k>``             when the resource has tags and its service authorizes on
                                    them (IAM roles/users also as ``iam:ResourceTag/<k>``)
``aws:RequestTag/<k>``/``TagKeys``  when the request carries tags (the operation's own keys)
=================================  ==========================================================

Keys that depend on what is not known (an unknown time, region or peer) stay absent rather
than being guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

GLOBAL_ENDPOINT_REGION = "us-east-1"
"""Where IAM's single endpoint lives: ``aws:RequestedRegion`` of every IAM call (UG page)."""
_GLOBAL_SERVICES = frozenset({"iam"})

USER = "user"
ROLE_SESSION = "role-session"
FEDERATED_USER = "federated-user"
ROOT = "root"
_TYPES = {
    USER: "User",
    ROLE_SESSION: "AssumedRole",
    FEDERATED_USER: "FederatedUser",
    ROOT: "Account",
}


@dataclass(frozen=True, slots=True)
class Org:
    """An AWS Organizations membership: the organization id and the account's paths
    (``o-…/r-…/ou-…/``)."""

    id: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who signs the request, as far as the context is concerned (see module table).

    ``arn`` is the value of ``aws:PrincipalArn``: for a role session the role's ARN **with
    its path**, never the session ARN.
    """

    kind: str
    arn: str
    account: str
    user_id: str | None = None
    username: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    temporary: bool = False
    issued_at: dt.datetime | None = None
    mfa_at: dt.datetime | None = None
    """When MFA authenticated the session; ``None`` when no MFA was used."""
    source_identity: str | None = None
    federated_provider: str | None = None
    org: Org | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFacts:
    """What only the request itself tells: time, transport, region, peer address.

    ``None`` means unknown: the keys that depend on it stay absent."""

    now: dt.datetime | None = None
    secure_transport: bool | None = None
    region: str | None = None
    source_ip: str | None = None

    def with_region(self, region: str | None) -> RequestFacts:
        """These facts, with ``region`` where none was known."""
        return self if self.region is not None or region is None else replace(self, region=region)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """The resource's side: its account, its tags (``None`` where its service does not
    authorize on tags) and its organization."""

    account: str | None = None
    tags: Mapping[str, str] | None = None
    tag_prefixes: tuple[str, ...] = ("aws",)
    org: Org | None = None


NO_RESOURCE = Resource()


def build(
    principal: Principal | None,
    request: RequestFacts,
    resource: Resource = NO_RESOURCE,
    *,
    service: str = "",
) -> dict[str, object]:
    """The request context AWS would assemble (module table); ``service`` is the called
    service's prefix (``iam``, ``s3``…), for the region of global endpoints.

    ``principal`` is ``None`` for anonymous and web-identity callers: their principal
    keys (``aws:PrincipalType`` ``Anonymous``/``WebIdentityUser``) are the engine's."""
    context: dict[str, object] = {}
    if principal is not None:
        context.update(principal_keys(principal, request.now))
    context.update(request_keys(request, service))
    context.update(resource_keys(resource))
    return context


def principal_keys(principal: Principal, now: dt.datetime | None = None) -> dict[str, object]:
    """The keys that come from the caller's credentials (module table)."""
    context: dict[str, object] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalIsAWSService": False,
    }
    kind = _TYPES.get(principal.kind)
    if kind is not None:
        context["aws:PrincipalType"] = kind
    if principal.user_id:
        context["aws:userid"] = principal.user_id
    if principal.kind == USER and principal.username:
        context["aws:username"] = principal.username
    context.update({f"aws:PrincipalTag/{k}": v for k, v in principal.tags.items()})
    context.update(_session_keys(principal, now))
    if principal.source_identity:
        context["aws:SourceIdentity"] = principal.source_identity
    if principal.federated_provider:
        context["aws:FederatedProvider"] = principal.federated_provider
    if principal.org is not None:
        context["aws:PrincipalOrgID"] = principal.org.id
        if principal.org.paths:
            context["aws:PrincipalOrgPaths"] = list(principal.org.paths)
    return context


def _session_keys(principal: Principal, now: dt.datetime | None) -> dict[str, object]:
    """Temporary credentials carry the MFA and issue-time keys. Long-term keys carry
    neither, except on the one request that passes an MFA code itself (``AssumeRole`` with
    ``SerialNumber``/``TokenCode``): that request is MFA-authenticated, which is how a trust
    policy's ``aws:MultiFactorAuthPresent`` condition admits a user calling with its access
    keys (IAM UG, "Configuring MFA-protected API access", cross-account scenario)."""
    context: dict[str, object] = {}
    if principal.temporary or principal.mfa_at is not None:
        context["aws:MultiFactorAuthPresent"] = principal.mfa_at is not None
    if principal.temporary and principal.issued_at is not None:
        context["aws:TokenIssueTime"] = iso(principal.issued_at)
    if principal.mfa_at is not None and now is not None:
        age = (_utc(now) - _utc(principal.mfa_at)).total_seconds()
        context["aws:MultiFactorAuthAge"] = max(0, int(age))
    return context


def request_keys(request: RequestFacts, service: str = "") -> dict[str, object]:
    """Time, transport, region and peer (module table); ``aws:ViaAWSService`` is false
    because every call the sandbox and explain reason about is made directly."""
    context: dict[str, object] = {"aws:ViaAWSService": False}
    if request.now is not None:
        context["aws:CurrentTime"] = iso(request.now)
        context["aws:EpochTime"] = int(_utc(request.now).timestamp())
    if request.secure_transport is not None:
        context["aws:SecureTransport"] = request.secure_transport
    region = GLOBAL_ENDPOINT_REGION if service in _GLOBAL_SERVICES else request.region
    if region:
        context["aws:RequestedRegion"] = region
    if request.source_ip:
        context["aws:SourceIp"] = request.source_ip
    return context


def resource_keys(resource: Resource) -> dict[str, object]:
    """The resource's account, organization and tags (module table)."""
    context: dict[str, object] = {}
    if resource.account:
        context["aws:ResourceAccount"] = resource.account
    if resource.org is not None:
        context["aws:ResourceOrgID"] = resource.org.id
        if resource.org.paths:
            context["aws:ResourceOrgPaths"] = list(resource.org.paths)
    for key, value in (resource.tags or {}).items():
        for prefix in resource.tag_prefixes:
            context[f"{prefix}:ResourceTag/{key}"] = value
    return context


_TAG_PREFIXES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("iam", "role"): ("aws", "iam"),
    ("iam", "user"): ("aws", "iam"),
    ("eks", "cluster"): ("aws",),
}


def tag_prefixes(service: str, resource_type: str) -> tuple[str, ...]:
    """The condition-key prefixes under which a resource's tags appear
    (``<prefix>:ResourceTag/<k>``): IAM roles and users under ``aws:`` and ``iam:``, EKS
    clusters under ``aws:``; ``()`` for the kinds whose tags are not authorized on here
    (S3 buckets: ABAC is off for general purpose buckets unless enabled; module table)."""
    return _TAG_PREFIXES.get((service, resource_type), ())


def merged_tags(base: Mapping[str, str], override: Mapping[str, str]) -> dict[str, str]:
    """``base`` tags with ``override`` over them, keys compared ignoring case: session tags
    over the role's own tags (B.6, "New session tags override role tags")."""
    lowered = {k.lower() for k in override}
    merged = {k: v for k, v in base.items() if k.lower() not in lowered}
    merged.update(override)
    return merged


def iso(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00Z``: how AWS writes date keys."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
