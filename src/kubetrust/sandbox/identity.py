"""From a verified access key to the policies that bind its holder.

One function builds the caller side of every authorization the sandbox makes — STS hops
and ordinary API calls alike — so that an SCP, a boundary or a session policy limits a
caller the same way everywhere (reference A.1).
"""

from __future__ import annotations

from kubetrust import arn as arns
from kubetrust.chain import sts as hops
from kubetrust.sandbox import credentials, state
from kubetrust.sandbox.world import World, levels_of

DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
"""What a session of a deleted role keeps: nothing (its role's policies are gone)."""


def caller_side(world: World, caller: credentials.Credential) -> hops.CallerSide:
    """Identity policies, boundary, session policies and SCPs of ``caller``."""
    scps = levels_of(world.account(caller.account), "scps")
    if caller.role_arn is not None:
        facts = state.role_by_arn(caller.role_arn)
        if facts is None:
            return hops.CallerSide(session=(DENY_ALL,), scps=scps)
        identity, boundary = state.role_policies(facts.account, facts.name)
        return hops.CallerSide(identity, boundary, caller.session_policies, scps)
    name = arns.parse(caller.principal_arn).resource_name
    try:
        identity = state.user_policies(caller.account, name)
    except Exception:  # the user was deleted: its keys grant nothing
        return hops.CallerSide(session=(DENY_ALL,), scps=scps)
    return hops.CallerSide(identity=identity, scps=scps)


def caller_context(caller: credentials.Credential) -> dict[str, object]:
    """Condition keys that come from the caller's credentials (B.4, B.6)."""
    context: dict[str, object] = {f"aws:PrincipalTag/{k}": v for k, v in caller.tags.items()}
    if caller.role_arn:
        context["aws:PrincipalArn"] = caller.role_arn
    context["aws:userid"] = caller.user_id
    if caller.source_identity:
        context["aws:SourceIdentity"] = caller.source_identity
    return context
