"""Authorize an identified operation: every (action, resource) it needs, by the policy engine.

The gate decides *whether* a call may run here, and *where*: the account that owns the
resource (an S3 bucket's owner, else the caller's), which is where moto must run it. The
policies gathered are the caller's identity, boundary and session policies with their
organization's SCPs, plus the resource's own policy and its account's RCPs; anonymous
callers get only the resource side. Apart from :mod:`kubetrust.sandbox.aws.gate` so the
pipeline reads as its steps; :meth:`Gate._authorize <kubetrust.sandbox.aws.gate.Gate>` calls
:func:`authorize`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.chain import context
from kubetrust.sandbox.aws import (
    credentials,
    identity,
    operations,
    policy_writes,
    sigv4,
    state,
    wire,
)
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.request import RawRequest
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries
from kubetrust.sandbox.world import World, levels_of

logger = logging.getLogger(__name__)


def authorize(
    world: World,
    op: operations.Operation,
    caller: credentials.Credential | None,
    request: context.RequestFacts | None = None,
    *,
    bindings: policy_writes.PrincipalBindings,
    user_boundaries: UserBoundaries,
    iam: Propagation | None = None,
) -> str:
    """Authorize every (action, resource) of ``op``; return the account that owns the
    resource (moto must run the call there). ``request`` holds the request's own facts
    (time, transport, region, peer: :func:`request_facts`); ``bindings`` the sandbox's
    unique-id bindings, through which a bucket policy is read as S3 holds it;
    ``user_boundaries`` the IAM users' permissions boundaries (moto keeps none); ``iam``
    IAM as the caller's service sees it (:mod:`.propagation`; ``None``: at once)."""
    principal = caller.principal_arn if caller else "anonymous"
    owner = caller.account if caller else ""
    facts = request or context.RequestFacts()
    who = identity.principal(caller, world) if caller else None
    for check in op.authorizations:
        resource_policy, resource_account = _resource_policy(world, op, check.resource, bindings)
        owner = resource_account or owner
        resource = identity.resource_side(world, _resource(op, check.resource, owner))
        keys = context.build(who, facts, resource, service=op.service)
        keys.update(check.context)
        decision = policy.authorize(
            policy.Request(
                principal if caller else "*",
                check.action,
                check.resource,
                keys,
                resource_account=resource_account,
            ),
            _policies(world, caller, resource_policy, resource_account, user_boundaries, iam),
        )
        if not decision.allowed:
            logger.info("denied %s %s on %s", principal, check.action, check.resource)
            raise wire.access_denied(
                principal,
                check.action,
                check.resource,
                decision,
                service=op.service,
                resource_account=resource_account or owner,
            )
    return owner


def request_facts(
    environ: Mapping[str, Any], request: RawRequest, now: dt.datetime, default_region: str
) -> context.RequestFacts:
    """What the request itself tells (:mod:`kubetrust.chain.context`): the sandbox's
    clock, the transport (the endpoint is plain HTTP, so ``aws:SecureTransport`` is
    false), the region of the verified credential scope (the endpoint's region for an
    anonymous request) and the peer address."""
    scope = sigv4.claimed_scope(request.headers, request.raw_query)
    region = scope[2] if len(scope) >= 5 and scope[2] else default_region
    peer = environ.get("REMOTE_ADDR")
    return context.RequestFacts(
        now=now,
        secure_transport=environ.get("wsgi.url_scheme") == "https",
        region=region,
        source_ip=peer if isinstance(peer, str) and peer else None,
    )


def _resource(op: operations.Operation, resource: str, owner: str) -> context.Resource:
    """The resource's side of the context: its account and, where its service authorizes
    on tags, its tags under the prefixes :func:`kubetrust.chain.context.tag_prefixes`
    names (the one table explain reads too). S3 buckets have none there, as on AWS where
    attribute-based access control is off for general purpose buckets until
    ``PutBucketAbac`` enables it (S3 UG "Enabling ABAC in general purpose buckets"; the
    sandbox does not emulate it)."""
    account = _account_of(resource) or op.resource_account or owner or None
    try:
        parsed = arns.parse(resource)
    except errors.InvalidArnError:
        return context.Resource(account=account)
    prefixes = context.tag_prefixes(parsed.service, parsed.resource_type)
    if not prefixes:
        return context.Resource(account=account)
    tags = _tags(parsed)
    return context.Resource(account=account, tags=tags, tag_prefixes=prefixes)


def _tags(parsed: arns.Arn) -> dict[str, str] | None:
    """The stored tags of a kind whose tags are authorized on (``None`` when it is gone,
    or for a kind of the table the sandbox stores no tags of)."""
    kind = (parsed.service, parsed.resource_type)
    if kind == ("iam", "role"):
        return state.role_tags(parsed.account, parsed.resource_name)
    if kind == ("iam", "user"):
        return state.user_tags(parsed.account, parsed.resource_name)
    if kind == ("eks", "cluster"):
        return state.cluster_tags(parsed.account, parsed.region, parsed.resource_name)
    return None


def _account_of(resource: str) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == 6 and arns.is_account_id(parts[4]):
        return parts[4]
    return None


def _policies(
    world: World,
    caller: credentials.Credential | None,
    resource_policy: str | None,
    resource_account: str | None,
    user_boundaries: UserBoundaries,
    iam: Propagation | None,
) -> policy.PolicySet:
    rcps = levels_of(world.account(resource_account), "rcps") if resource_account else ()
    if caller is None:
        return policy.policy_set(resource=resource_policy, rcps=rcps)
    side = identity.caller_side(world, caller, user_boundaries, iam)
    return policy.policy_set(
        identity=side.identity,
        boundaries=side.boundaries,
        session=side.session,
        scps=side.scps,
        resource=resource_policy,
        rcps=rcps,
    )


def _resource_policy(
    world: World,
    op: operations.Operation,
    resource: str,
    bindings: policy_writes.PrincipalBindings,
) -> tuple[str | None, str | None]:
    """The resource's own policy and its account (S3 buckets; others have none here)."""
    if op.service != "s3" or not resource.startswith("arn:aws:s3:::"):
        return None, None
    bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    owner = state.bucket_owner(bucket, [a.id for a in world.accounts])
    if owner is None:
        return None, None
    return bindings.bucket_policy(owner, bucket), owner  # as S3 holds it (unique ids)
