"""EKS access entries as the identity mapper sees them (E.2, E.3, E.4): the entry, the
username EKS generates for it, and what its access policy associations grant.

Kept apart from the mapper chain (:mod:`kubetrust.chain.kube_identity`) because RBAC
(:mod:`kubetrust.chain.rbac`) and explain read the grants and usernames without mapping anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kubetrust import arn, errors
from kubetrust.model.vocabulary import (
    ACCESS_POLICY_ARN_AFTER_PARTITION,
    ACCESS_POLICY_ARN_PREFIX,
    ACCESS_POLICY_CLUSTER_ROLES,
)

_ACCESS_POLICY = re.compile(
    r"arn:[a-z-]+:"  # any partition
    + re.escape(ACCESS_POLICY_ARN_AFTER_PARTITION)
    + r"([A-Za-z0-9]+)\Z"
)


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What an EKS access policy association grants, in Kubernetes terms (E.4).

    ``cluster_role`` is the Kubernetes default ClusterRole the policy is like (``cluster-admin``,
    ``admin``, ``edit``, ``view``), or ``None`` for a policy with no such equivalent
    (``AmazonEKSAdminViewPolicy`` reads Secrets, which ``view`` does not; the node, networking
    and storage policies). ``namespaces`` is ``None`` for cluster scope, else the namespace
    names, which may end in ``*``. Access policies sit beside RBAC: the caller gets the union.
    """

    policy_arn: str
    cluster_role: str | None
    namespaces: tuple[str, ...] | None = None

    def applies_to(self, namespace: str | None) -> bool:
        """Whether the grant covers a request in ``namespace`` (``None``: cluster-scoped)."""
        if self.namespaces is None:
            return True
        if namespace is None:
            return False
        return any(_namespace_matches(pattern, namespace) for pattern in self.namespaces)


PolicyAssociation = tuple[str, str, tuple[str, ...]]
"""``(policy ARN, scope type "cluster" | "namespace", namespaces)``, as AssociateAccessPolicy."""


@dataclass(frozen=True, slots=True)
class AccessEntryView:
    """An EKS access entry as the mapper needs it (E.2, E.3, E.4).

    ``principal_id`` is the unique ID EKS stored when the entry was created; ``username`` is
    ``None`` when EKS generates it; ``type`` is ``STANDARD`` or a node type.
    """

    principal_arn: str
    principal_id: str
    username: str | None = None
    kubernetes_groups: tuple[str, ...] = ()
    type: str = "STANDARD"
    policies: tuple[PolicyAssociation, ...] = ()


NODE_USERNAMES: Final = {
    "EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
    "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}",
    "FARGATE_LINUX": "system:node:{{SessionName}}",
    "HYBRID_LINUX": "system:node:{{SessionName}}",
}
"""Usernames EKS sets for node access entries (E.2; the types EKS documents a username for)."""

NODE_GROUPS: Final = ("system:nodes",)
"""[inferred] Groups of a node access entry: EKS documents none, and nodes need this one."""


def strip_role_path(principal_arn: str) -> str:
    """A role ARN without its path (``role/a/b/r`` → ``role/r``); other ARNs unchanged.

    Like the authenticator's ``arn.StripPath``: a session ARN names the role without its path
    (B.5), so this is how a role ARN with a path meets a caller's canonical ARN.
    """
    parsed = arn.parse(principal_arn)
    if parsed.service != "iam" or parsed.resource_type != "role" or parsed.path == "/":
        return principal_arn
    return arn.role_arn(parsed.account, parsed.resource_name, partition=parsed.partition)


def access_entry_username(entry: AccessEntryView) -> str | None:
    """The entry's username template: its own, or the one EKS generates (E.2).

    A role gets ``arn:aws:sts::ACCOUNT:assumed-role/NAME/{{SessionName}}`` (path removed), a
    user its ARN; node types get ``system:node:…``. ``None`` for a type without a documented
    username.
    """
    if entry.type != "STANDARD":
        return NODE_USERNAMES.get(entry.type)
    if entry.username:
        return entry.username
    parsed = arn.parse(entry.principal_arn)
    if parsed.service == "iam" and parsed.resource_type == "role":
        return arn.assumed_role_arn(
            parsed.account, parsed.resource_name, "{{SessionName}}", partition=parsed.partition
        )
    return entry.principal_arn


# --- access policies -----------------------------------------------------------------------


def access_policy_grant(
    policy_arn: str, *, scope_type: str = "cluster", namespaces: Sequence[str] = ()
) -> AccessGrant:
    """What associating ``policy_arn`` with ``accessScope`` grants (E.4).

    ``scope_type`` is ``cluster`` (namespaces ignored) or ``namespace`` (at least one
    namespace). A policy ARN that is not an EKS cluster access policy, or a bad scope, raises
    :class:`errors.InputError` (EKS refuses such associations).
    """
    matched = _ACCESS_POLICY.match(policy_arn)
    if matched is None:
        raise errors.InputError(
            f"{errors.shown(policy_arn)} is not an EKS cluster access policy ARN "
            f"(`{ACCESS_POLICY_ARN_PREFIX}NAME`, in any partition)"
        )
    role = ACCESS_POLICY_CLUSTER_ROLES.get(matched.group(1))
    if scope_type == "cluster":
        return AccessGrant(policy_arn, role, None)
    if scope_type == "namespace":
        if not namespaces:
            raise errors.InputError("an access scope of type `namespace` needs namespaces")
        return AccessGrant(policy_arn, role, tuple(namespaces))
    raise errors.InputError(
        f"access scope type {errors.shown(scope_type)} is not `cluster` or `namespace`"
    )


def access_grants(entry: AccessEntryView) -> tuple[AccessGrant, ...]:
    """The grants of every policy associated with ``entry`` (only STANDARD entries have any)."""
    if entry.type != "STANDARD":
        return ()
    return tuple(
        access_policy_grant(policy, scope_type=scope, namespaces=namespaces)
        for policy, scope, namespaces in entry.policies
    )


def _namespace_matches(pattern: str, namespace: str) -> bool:
    """An access-scope namespace, where ``*`` matches any run of characters (``dev-*``)."""
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, namespace) is not None
