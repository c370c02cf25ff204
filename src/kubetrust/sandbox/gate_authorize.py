"""Authorize an identified operation: every (action, resource) it needs, by the policy engine.

The gate decides *whether* a call may run here, and *where*: the account that owns the
resource (an S3 bucket's owner, else the caller's), which is where moto must run it. The
policies gathered are the caller's identity, boundary and session policies with their
organization's SCPs, plus the resource's own policy and its account's RCPs; anonymous
callers get only the resource side. Apart from :mod:`kubetrust.sandbox.gate` so the
pipeline reads as its steps; :meth:`Gate._authorize <kubetrust.sandbox.gate.Gate>` calls
:func:`authorize`.
"""

from __future__ import annotations

import logging

from kubetrust import policy
from kubetrust.sandbox import credentials, identity, operations, state, wire
from kubetrust.sandbox.world import World, levels_of

# the gate's own logger name, kept from before this module was split out of it
logger = logging.getLogger("kubetrust.sandbox.gate")


def authorize(world: World, op: operations.Operation, caller: credentials.Credential | None) -> str:
    """Authorize every (action, resource) of ``op``; return the account that owns the
    resource (moto must run the call there)."""
    principal = caller.principal_arn if caller else "anonymous"
    owner = caller.account if caller else ""
    for check in op.authorizations:
        resource_policy, resource_account = _resource_policy(world, op, check.resource)
        owner = resource_account or owner
        context = dict(identity.caller_context(caller)) if caller else {}
        context.update(check.context)
        decision = policy.authorize(
            policy.Request(
                principal if caller else "*",
                check.action,
                check.resource,
                context or None,
                resource_account=resource_account,
            ),
            _policies(world, caller, resource_policy, resource_account),
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


def _policies(
    world: World,
    caller: credentials.Credential | None,
    resource_policy: str | None,
    resource_account: str | None,
) -> policy.PolicySet:
    rcps = levels_of(world.account(resource_account), "rcps") if resource_account else ()
    if caller is None:
        return policy.policy_set(resource=resource_policy, rcps=rcps)
    side = identity.caller_side(world, caller)
    return policy.policy_set(
        identity=side.identity,
        boundaries=side.boundaries,
        session=side.session,
        scps=side.scps,
        resource=resource_policy,
        rcps=rcps,
    )


def _resource_policy(
    world: World, op: operations.Operation, resource: str
) -> tuple[str | None, str | None]:
    """The resource's own policy and its account (S3 buckets; others have none here)."""
    if op.service != "s3" or not resource.startswith("arn:aws:s3:::"):
        return None, None
    bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    owner = state.bucket_owner(bucket, [a.id for a in world.accounts])
    if owner is None:
        return None, None
    return state.bucket_policy(owner, bucket), owner
