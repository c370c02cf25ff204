"""The Kubernetes links of a chain: how the target cluster maps a role's session, then RBAC.

The mapping follows the cluster's authentication mode (reference E.1): ``CONFIG_MAP`` reads
aws-auth, ``API`` access entries, ``API_AND_CONFIG_MAP`` both with the entry first
(:mod:`kubetrust.chain.kube_identity`, which the sandbox's authenticator uses too). The
mapped identity is then decided by :mod:`kubetrust.chain.rbac` (``system:masters``, EKS
access policies, RBAC). Each step is a :class:`~kubetrust.chain.links.Link`.
"""

from __future__ import annotations

from kubetrust.chain import graph, rbac
from kubetrust.chain import kube_identity as kid
from kubetrust.chain.links import Failure, Kind, Link
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology


def entry_views(topology: Topology, cluster: Cluster) -> tuple[kid.AccessEntryView, ...]:
    """The cluster's access entries as the mapper takes them, each bound to its role's or
    user's current unique ID (outputs do not show the bound ID, see model.eks)."""
    views = []
    for entry in cluster.access_entries:
        identity = topology.role(kid.strip_role_path(entry.principal_arn)) or topology.user(
            entry.principal_arn
        )
        principal_id = ""
        if isinstance(identity, Role):
            principal_id = identity.role_id
        elif identity is not None:
            principal_id = identity.user_id
        views.append(
            kid.AccessEntryView(
                entry.principal_arn,
                principal_id or _UNKNOWN_ID,
                entry.username,
                entry.kubernetes_groups,
                entry.type,
                entry.policies,
            )
        )
    return tuple(views)


_UNKNOWN_ID = "UNKNOWN"


def kube_identity(
    topology: Topology, cluster: Cluster, role: Role, *, session: str = graph.SESSION_NAME
) -> tuple[Link, kid.KubeIdentity | None]:
    """How the target cluster maps ``role``'s session (E.1: the authentication mode picks
    aws-auth, access entries, or both with the entry first)."""
    principal = graph.session_arn(role, session)
    caller = kid.Caller.of(
        principal,
        account=role.account,
        principal_id=role.role_id or _UNKNOWN_ID,
        session_name=session,
    )
    mode = cluster.info.authentication_mode
    chain = kid.mapper_chain(
        mode, access_entries=entry_views(topology, cluster), aws_auth=cluster.aws_auth
    )
    result = kid.map_caller(chain, caller)
    facts: dict[str, object] = {"authentication_mode": mode, "canonical_arn": caller.canonical_arn}
    if isinstance(result, kid.KubeIdentity):
        facts.update(
            username=result.username,
            groups=list(result.groups),
            via=result.via,
            grants=[g.policy_arn for g in result.grants],
        )
        line = f"{result.via} → user `{result.username}`, groups {list(result.groups)}"
        return Link(
            Kind.KUBE_IDENTITY, principal, cluster.info.arn, True, (line,), facts=facts
        ), result
    facts["reason"] = result.reason
    return Link(
        Kind.KUBE_IDENTITY,
        principal,
        cluster.info.arn,
        False,
        (result.reason,),
        Failure.NOT_MAPPED,
        facts=facts,
    ), None


def kube_rbac(
    cluster: Cluster, identity: kid.KubeIdentity, request: rbac.KubeRequest, caller: str
) -> Link:
    """The Kubernetes decision for the mapped identity (:mod:`kubetrust.chain.rbac`), on
    the request's attributes as the apiserver derives them (:func:`rbac.normalized`: e.g.
    ``get namespaces/apps`` is in namespace ``apps``), as the sandbox decides it."""
    request = rbac.normalized(request)
    decision = rbac.authorize(
        identity.username, identity.groups, request, cluster.rbac, identity.grants
    )
    facts: dict[str, object] = {
        "request": request.describe(),
        "username": identity.username,
        "groups": list(identity.groups),
        "near_misses": list(decision.near_misses),
    }
    return Link(
        Kind.KUBE_RBAC,
        caller,
        f"{cluster.info.name}: {request.describe()}",
        decision.allowed,
        (decision.reason, *decision.near_misses),
        None if decision.allowed else Failure.RBAC_DENIED,
        facts=facts,
    )
