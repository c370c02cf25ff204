"""What AWS and EKS name, defined once: every module that speaks of these uses these names.

A value spelled out in two places drifts (a mode added to one list, an ARN prefix with a
typo in another) and a drifted value is a wrong verdict. So each is defined here as a typed
constant, a ``Literal`` type or a small catalogue, and a consumer imports it: mypy then
finds every consumer, and a typo in a comparison against a ``Literal`` type is an error.

- EKS authentication modes and what each reads (reference E.1);
- EKS access policies: name, ARN, and the Kubernetes default ClusterRole each is like (E.4);
- the audiences of IRSA tokens (C.2) and of EKS Pod Identity tokens;
- a service account's username and token subject, ``system:serviceaccount:NS:NAME`` (C.1);
- STS session-duration bounds (B.1) and a role's ``MaxSessionDuration`` (A.9).

Two names live lower down, because layers below this one need them: the account-id pattern
is :data:`kubetrust.arn.ACCOUNT_ID` (the policy engine and ARN parser read account ids), and
the policy kinds and effects a decision reports are :data:`kubetrust.policy.decision.ReasonKind`
and :data:`kubetrust.policy.decision.Effect`.

Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeGuard

# --- EKS authentication modes (E.1) ---------------------------------------------------------

AuthenticationMode = Literal["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
"""A cluster's ``accessConfig.authenticationMode``."""

CONFIG_MAP: Final = "CONFIG_MAP"
"""aws-auth only. The default of a cluster created through the API without ``accessConfig``,
and of a cluster that predates access entries (E.1)."""
API_AND_CONFIG_MAP: Final = "API_AND_CONFIG_MAP"
"""Access entries, then aws-auth: an entry wins over the ConfigMap for the same principal."""
API: Final = "API"
"""Access entries only."""

AUTHENTICATION_MODES: Final[tuple[AuthenticationMode, ...]] = (CONFIG_MAP, API_AND_CONFIG_MAP, API)
"""Every mode, in the order EKS lists them (and a cluster may only move forward through)."""

MappingSource = Literal["access entries", "aws-auth"]
"""Where the authenticator looks a caller up."""

ACCESS_ENTRIES: Final = "access entries"
AWS_AUTH: Final = "aws-auth"

MODE_READS: Final[Mapping[AuthenticationMode, tuple[MappingSource, ...]]] = {
    CONFIG_MAP: (AWS_AUTH,),
    API_AND_CONFIG_MAP: (ACCESS_ENTRIES, AWS_AUTH),
    API: (ACCESS_ENTRIES,),
}
"""What each mode reads, in the order it reads them (E.1; the authenticator's
``BuildMapperChain``): the first source that maps the caller wins."""


def is_authentication_mode(text: str) -> TypeGuard[AuthenticationMode]:
    """Whether ``text`` is one of EKS's authentication modes (exact spelling)."""
    return text in MODE_READS


def reads_aws_auth(mode: str) -> bool:
    """Whether a cluster in ``mode`` reads aws-auth (``False`` for an unknown mode)."""
    return is_authentication_mode(mode) and AWS_AUTH in MODE_READS[mode]


def reads_access_entries(mode: str) -> bool:
    """Whether a cluster in ``mode`` reads access entries (``False`` for an unknown mode)."""
    return is_authentication_mode(mode) and ACCESS_ENTRIES in MODE_READS[mode]


# --- EKS access policies (E.4) --------------------------------------------------------------

ACCESS_POLICY_ARN_AFTER_PARTITION: Final = "eks::aws:cluster-access-policy/"
"""An access policy's ARN after ``arn:PARTITION:``, up to its name (no region, account ``aws``)."""
ACCESS_POLICY_ARN_PREFIX: Final = "arn:aws:" + ACCESS_POLICY_ARN_AFTER_PARTITION
"""An access policy's ARN is this prefix and its name (in the ``aws`` partition)."""


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """An EKS cluster access policy.

    ``cluster_role`` is the Kubernetes default ClusterRole it is like (``cluster-admin``,
    ``admin``, ``edit``, ``view``), or ``None`` for a policy with no such equivalent
    (``AmazonEKSAdminViewPolicy`` reads Secrets, which ``view`` does not; the node,
    networking and storage policies)."""

    name: str
    cluster_role: str | None = None

    @property
    def arn(self) -> str:
        """``arn:aws:eks::aws:cluster-access-policy/NAME``."""
        return ACCESS_POLICY_ARN_PREFIX + self.name


CLUSTER_ADMIN_POLICY: Final = AccessPolicy("AmazonEKSClusterAdminPolicy", "cluster-admin")
"""What a cluster's creator gets by default (E.1)."""
ADMIN_POLICY: Final = AccessPolicy("AmazonEKSAdminPolicy", "admin")
EDIT_POLICY: Final = AccessPolicy("AmazonEKSEditPolicy", "edit")
VIEW_POLICY: Final = AccessPolicy("AmazonEKSViewPolicy", "view")
ADMIN_VIEW_POLICY: Final = AccessPolicy("AmazonEKSAdminViewPolicy")
"""Reads everything, Secrets included, which ``view`` does not: no ClusterRole is like it."""

ACCESS_POLICIES: Final[tuple[AccessPolicy, ...]] = (
    AccessPolicy("AIDevOpsAgentAccessPolicy"),
    AccessPolicy("AmazonAIOpsAssistantPolicy"),
    AccessPolicy("AmazonARCRegionSwitchScalingPolicy"),
    AccessPolicy("AmazonEKSACKPolicy"),
    ADMIN_POLICY,
    ADMIN_VIEW_POLICY,
    AccessPolicy("AmazonEKSArgoCDClusterPolicy"),
    AccessPolicy("AmazonEKSArgoCDPolicy"),
    AccessPolicy("AmazonEKSAutoNodePolicy"),
    AccessPolicy("AmazonEKSBlockStorageClusterPolicy"),
    AccessPolicy("AmazonEKSBlockStoragePolicy"),
    CLUSTER_ADMIN_POLICY,
    AccessPolicy("AmazonEKSComputeClusterPolicy"),
    AccessPolicy("AmazonEKSComputePolicy"),
    EDIT_POLICY,
    AccessPolicy("AmazonEKSEventPolicy"),
    AccessPolicy("AmazonEKSHybridPolicy"),
    AccessPolicy("AmazonEKSKROPolicy"),
    AccessPolicy("AmazonEKSLoadBalancingClusterPolicy"),
    AccessPolicy("AmazonEKSLoadBalancingPolicy"),
    AccessPolicy("AmazonEKSNetworkingClusterPolicy"),
    AccessPolicy("AmazonEKSNetworkingPolicy"),
    AccessPolicy("AmazonEKSPodIdentityPolicy"),
    AccessPolicy("AmazonEKSSecretAdminPolicy"),
    AccessPolicy("AmazonEKSSecretReaderPolicy"),
    VIEW_POLICY,
    AccessPolicy("AmazonEMRJobPolicy"),
    AccessPolicy("AmazonSagemakerHyperpodClusterPolicy"),
    AccessPolicy("AmazonSagemakerHyperpodControllerPolicy"),
    AccessPolicy("AmazonSagemakerHyperpodSpacePolicy"),
    AccessPolicy("AmazonSagemakerHyperpodSpaceTemplatePolicy"),
    AccessPolicy("AmazonSagemakerHyperpodSystemNamespacePolicy"),
    AccessPolicy("AmazonSagemakerHyperpodUserClusterPolicy"),
)
"""What ``aws eks list-access-policies`` returns (a published listing of 2026; the EKS User
Guide's "Review access policy permissions" page shows the same, abbreviated), in its order."""

ACCESS_POLICY_BY_NAME: Final[Mapping[str, AccessPolicy]] = {p.name: p for p in ACCESS_POLICIES}

ROLE_LIKE_POLICIES: Final[tuple[AccessPolicy, ...]] = tuple(
    p for p in ACCESS_POLICIES if p.cluster_role is not None
)
"""The policies that are like a Kubernetes default ClusterRole."""

ACCESS_POLICY_CLUSTER_ROLES: Final[Mapping[str, str]] = {
    p.name: p.cluster_role for p in ROLE_LIKE_POLICIES if p.cluster_role is not None
}
"""Access policy name → the Kubernetes default ClusterRole it is like (E.4)."""

POLICY_FOR_CLUSTER_ROLE: Final[Mapping[str, AccessPolicy]] = {
    p.cluster_role: p for p in ROLE_LIKE_POLICIES if p.cluster_role is not None
}
"""Kubernetes default ClusterRole → the access policy that is like it."""

# --- audiences ----------------------------------------------------------------------------

IRSA_AUDIENCE: Final = "sts.amazonaws.com"
"""The audience of IRSA tokens when the service account names none (the webhook's
``--token-audience``), and the client ID an IAM OIDC provider must list for them (C.2)."""

POD_IDENTITY_SERVICE: Final = "pods.eks.amazonaws.com"
"""EKS Pod Identity's service principal: what a role's trust policy names
(``Principal.Service``) and ``iam:PassedToService`` when an association passes a role."""
POD_IDENTITY_AUDIENCE: Final = POD_IDENTITY_SERVICE
"""The audience of the tokens the Pod Identity agent presents: always the service's name."""

# --- service accounts (C.1) -----------------------------------------------------------------

SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"
"""The username of a service account, and the ``sub`` of its tokens, start with this."""


def service_account_subject(namespace: str, name: str) -> str:
    """``system:serviceaccount:NAMESPACE:NAME``: a service account's username and the ``sub``
    claim of its tokens (C.1)."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def parse_service_account_subject(subject: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of ``system:serviceaccount:NAMESPACE:NAME``, ``None`` for any
    other text: another prefix, an empty part, or more or fewer than two parts (upstream
    ``serviceaccount.SplitUsername``, before it validates the names)."""
    if not subject.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = subject.removeprefix(SERVICE_ACCOUNT_PREFIX).split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


# --- session durations (B.1, A.9) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecondsRange:
    """An inclusive range of seconds an API accepts."""

    minimum: int
    maximum: int

    def __contains__(self, seconds: int) -> bool:
        return self.minimum <= seconds <= self.maximum


ASSUME_ROLE_DURATION: Final = SecondsRange(900, 43200)
"""``DurationSeconds`` of AssumeRole, AssumeRoleWithWebIdentity and AssumeRoleWithSAML (the
STS API model); the role's ``MaxSessionDuration`` is a further limit."""
ROLE_MAX_SESSION: Final = SecondsRange(3600, 43200)
"""A role's ``MaxSessionDuration`` (IAM API model)."""
DEFAULT_ROLE_MAX_SESSION: Final = 3600
"""A role's ``MaxSessionDuration`` when none is set (IAM's default, A.9)."""
DEFAULT_ROLE_SESSION: Final = 3600
"""An assumed-role session without ``DurationSeconds`` lasts one hour (capped by the role)."""
CHAINED_SESSION_CAP: Final = 3600
"""Role chaining caps a session at one hour, whatever the role's MaxSessionDuration (B.1)."""
USER_SESSION_DURATION: Final = SecondsRange(900, 129600)
"""``DurationSeconds`` of GetSessionToken and GetFederationToken (the STS API model)."""
DEFAULT_USER_SESSION: Final = 43200
"""GetSessionToken/GetFederationToken without ``DurationSeconds``: 12 hours."""
ROOT_USER_SESSION_CAP: Final = 3600
"""The root user's GetSessionToken/GetFederationToken sessions last at most one hour."""
