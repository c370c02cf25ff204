"""The smallest fix for a failed link: what decided against it, and what to change.

A fix is derived from the link's kept decisions and the topology, never from a second
evaluation that could disagree with the first (style habit 1). Each :class:`Fix` has a
``cause`` (one or two sentences naming the policy, statement, condition or mapping that
decided) and an ``action`` (the change, as specific as the inputs allow), plus a ``snippet``
to paste (a policy statement, a command, a YAML entry) when there is one.

The rules per failure live in :mod:`kubetrust.explain.fixes_sts` (web identity and
``AssumeRole`` hops), :mod:`kubetrust.explain.fixes_pod_identity` (EKS Pod Identity's
association and target-role hops, and ABAC on its session tags) and
:mod:`kubetrust.explain.fixes_goal` (AWS actions, Kubernetes mapping and RBAC); this
module dispatches. The :class:`Fix` value and the wording helpers are in
:mod:`kubetrust.explain.fix_common`.
"""

from __future__ import annotations

from kubetrust.chain.links import Failure, Kind, Link
from kubetrust.chain.paths import Chain
from kubetrust.explain import fixes_goal, fixes_pod_identity, fixes_sts, node_role
from kubetrust.explain.fix_common import Fix
from kubetrust.model.topology import Topology

__all__ = ["Fix", "fix_for"]


def fix_for(link: Link, topology: Topology, chain: Chain) -> Fix | None:
    """The fix for a failed ``link`` of ``chain`` (``None`` for a link that passed)."""
    if link.allowed or link.failure is None:
        return None
    if link.failure is Failure.NOT_REACHED:
        return Fix(
            "this link cannot be evaluated: the role before it is not in the inputs",
            "fix the earlier link first",
        )
    if link.kind is Kind.IMDS:
        return node_role.blocked_fix(link, chain.workload)
    if link.kind is Kind.POD_IDENTITY:
        return fixes_pod_identity.pod_identity_link(link, topology, chain)
    if link.kind is Kind.TARGET_ROLE:
        return fixes_pod_identity.target_link(link, topology, chain)
    if link.kind is Kind.WEB_IDENTITY:
        return fixes_sts.web_identity(link, topology, chain)
    if link.kind is Kind.ASSUME_ROLE:
        return fixes_sts.assume_role(link, topology)
    if link.kind is Kind.AWS_ACTION:
        tagged = fixes_pod_identity.tagged_action(link, chain)
        return tagged or fixes_goal.aws_action(link, topology, chain)
    if link.kind is Kind.KUBE_IDENTITY:
        return fixes_goal.kube_identity(link, topology, chain)
    return fixes_goal.kube_rbac(link, topology, chain)
