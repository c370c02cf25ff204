"""The resources a spec turns into, as plain values, and the order they are applied in.

Each resource says *what* should exist (an IAM role with this trust, a ConfigMap with this
data, one aws-auth entry), never *how* to get there: the handlers in :mod:`.handlers_aws`
and :mod:`.handlers_kube` read the live state through the ports and diff it against these.

Ownership marks (how destroy knows what is kubetrust's):

- IAM roles and OIDC providers carry the tags ``kubetrust.dev/managed-by=kubetrust`` and
  ``kubetrust.dev/spec=<spec name>``;
- Kubernetes objects kubetrust creates carry the labels ``app.kubernetes.io/managed-by:
  kubetrust`` and ``kubetrust.dev/spec``; a service account kubetrust only annotated carries
  the annotation ``kubetrust.dev/spec`` instead;
- aws-auth entries and access entries are kubetrust's when their role is one of the spec's
  target roles (kubetrust owns those roles, so it owns their mappings);
- EKS Pod Identity associations carry the same two tags as roles; the
  ``eks-pod-identity-agent`` add-on kubetrust may install is never removed (other
  associations of the cluster need it, as a namespace is never deleted).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust.model.aws_auth import RoleMapping
from kubetrust.provision.ports import AccessPolicy, ClusterRef

MANAGED_BY_TAG = "kubetrust.dev/managed-by"
SPEC_TAG = "kubetrust.dev/spec"
MANAGER = "kubetrust"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
SPEC_LABEL = "kubetrust.dev/spec"
SPEC_ANNOTATION = "kubetrust.dev/spec"
CHAIN_POLICY = "kubetrust-chain"
PERMISSIONS_POLICY = "kubetrust-permissions"
SOURCE_UNIT = "source"
"""The unit of work of the source account and cluster; each target is a unit of its own."""


class Phase(enum.IntEnum):
    """Dependency order of apply (destroy runs it backwards)."""

    OIDC_PROVIDER = 1
    CI_ROLE = 2
    TARGET_ROLES = 3
    CHAIN_POLICY = 4
    SERVICE_ACCOUNT = 5
    CONFIG_MAPS = 6
    CLUSTER_ACCESS = 7
    POD_IDENTITY_AGENT = 8
    POD_IDENTITY_ASSOCIATIONS = 9


def ownership_tags(spec_name: str) -> dict[str, str]:
    return {MANAGED_BY_TAG: MANAGER, SPEC_TAG: spec_name}


def ownership_labels(spec_name: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGER, SPEC_LABEL: spec_name}


@dataclass(frozen=True, slots=True)
class OidcProvider:
    account: str
    url: str
    audiences: tuple[str, ...]
    tags: Mapping[str, str]

    @property
    def key(self) -> str:
        return f"oidc-provider {self.account} {self.url.removeprefix('https://')}"


@dataclass(frozen=True, slots=True)
class Role:
    account: str
    name: str
    trust: Mapping[str, Any]
    max_session_duration: int
    tags: Mapping[str, str]
    description: str = ""

    @property
    def key(self) -> str:
        return f"role {self.account} {self.name}"


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    """An inline policy of a kubetrust role; ``document`` ``None`` means "must not exist"."""

    account: str
    role_name: str
    policy_name: str
    document: Mapping[str, Any] | None

    @property
    def key(self) -> str:
        return f"inline-policy {self.account} {self.role_name}/{self.policy_name}"


@dataclass(frozen=True, slots=True)
class ManagedPolicies:
    """The exact set of managed policies attached to a kubetrust role."""

    account: str
    role_name: str
    arns: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"attached-policies {self.account} {self.role_name}"


@dataclass(frozen=True, slots=True)
class Namespace:
    cluster: ClusterRef
    name: str
    labels: Mapping[str, str]

    @property
    def key(self) -> str:
        return f"namespace {self.cluster.name} {self.name}"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A service account annotated with the role its pods get (created if missing);
    ``role_arn`` ``None`` (Pod Identity) means no ``eks.amazonaws.com/role-arn`` annotation."""

    cluster: ClusterRef
    namespace: str
    name: str
    role_arn: str | None
    spec_name: str

    @property
    def key(self) -> str:
        return f"serviceaccount {self.cluster.name} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ConfigMap:
    cluster: ClusterRef
    namespace: str
    name: str
    data: Mapping[str, str]
    labels: Mapping[str, str]

    @property
    def key(self) -> str:
        return f"configmap {self.cluster.name} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class AwsAuthEntry:
    """One ``mapRoles`` entry of a cluster's aws-auth ConfigMap, for a kubetrust role."""

    cluster: ClusterRef
    mapping: RoleMapping
    authentication_mode: str = ""

    @property
    def key(self) -> str:
        return f"aws-auth {self.cluster.name} {self.mapping.role_arn}"


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """An EKS access entry for a kubetrust role, with its access policy associations."""

    cluster: ClusterRef
    principal_arn: str
    username: str | None
    groups: tuple[str, ...]
    policies: tuple[AccessPolicy, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    authentication_mode: str = ""

    @property
    def key(self) -> str:
        return f"access-entry {self.cluster.name} {self.principal_arn}"


@dataclass(frozen=True, slots=True)
class PodIdentityAgent:
    """The ``eks-pod-identity-agent`` add-on of the source cluster: checked, and created
    when ``install`` is true (reference F.2: no agent, no Pod Identity credentials)."""

    cluster: ClusterRef
    install: bool
    name: str = "eks-pod-identity-agent"

    @property
    def key(self) -> str:
        return f"addon {self.cluster.name} {self.name}"


@dataclass(frozen=True, slots=True)
class PodIdentityAssociation:
    """An EKS Pod Identity association of one service account of the source cluster: the
    association role (``role_arn``, in the cluster's account) and, with one target, the
    target role EKS assumes next (``target_role_arn``, reference F.4)."""

    cluster: ClusterRef
    namespace: str
    service_account: str
    role_arn: str
    target_role_arn: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return (
            f"pod-identity-association {self.cluster.name} {self.namespace}/{self.service_account}"
        )


Resource = (
    OidcProvider
    | Role
    | InlinePolicy
    | ManagedPolicies
    | Namespace
    | ServiceAccount
    | ConfigMap
    | AwsAuthEntry
    | AccessEntry
    | PodIdentityAgent
    | PodIdentityAssociation
)

KUBE_RESOURCES = (Namespace, ServiceAccount, ConfigMap, AwsAuthEntry)
"""Resources written through a :class:`~kubetrust.provision.ports.KubePort` (access
entries are EKS API calls, but they are Kubernetes access, so ``--only aws`` skips them)."""


@dataclass(frozen=True, slots=True)
class Item:
    """A desired resource, the unit it belongs to and its phase."""

    resource: Resource
    unit: str
    phase: Phase

    @property
    def kubernetes(self) -> bool:
        return isinstance(
            self.resource, (*KUBE_RESOURCES, AccessEntry, PodIdentityAgent, PodIdentityAssociation)
        )
