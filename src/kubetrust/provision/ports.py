"""What the provisioner needs from AWS and from Kubernetes, as Protocols (ports).

The provisioner plans and applies through these two seams only; :mod:`kubetrust.adapters`
implements them with boto3 and the kubernetes client, the unit tests with in-memory fakes.
Defined here, by their consumer, so that this package never imports an SDK (the layer
contract in pyproject.toml checks it).

- :class:`AwsPort`: one AWS account (IAM, EKS in any region, STS caller identity);
- :class:`KubePort`: one Kubernetes cluster (namespaces, service accounts, ConfigMaps);
- :class:`Ports`: how to get them, per account and per cluster.

Reads return ``None`` for "does not exist"; writes return nothing; any failure raises a
:class:`kubetrust.errors.KubetrustError` (the adapters translate SDK errors at the
boundary), which apply reports against the change that failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubetrust import errors
from kubetrust.model.vocabulary import CONFIG_MAP


class ProvisionError(errors.KubetrustError):
    """Provisioning cannot go on: a missing cluster, a resource owned by someone else, a
    write refused (by the API, or by kubetrust to protect the caller's own access)."""


@dataclass(frozen=True, slots=True)
class ClusterRef:
    """An EKS cluster, and optionally the kubeconfig context that reaches its API server."""

    account: str
    region: str
    name: str
    context: str | None = None

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.name}"


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """What ``eks:DescribeCluster`` says that provisioning needs."""

    name: str
    arn: str
    endpoint: str
    ca_data: str
    issuer: str
    authentication_mode: str = CONFIG_MAP
    status: str = "ACTIVE"


@dataclass(frozen=True, slots=True)
class LiveOidcProvider:
    arn: str
    url: str
    client_ids: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveRole:
    """A role with everything the planner compares: trust, duration, tags, policies."""

    name: str
    arn: str
    trust: Mapping[str, Any]
    max_session_duration: int
    tags: Mapping[str, str]
    inline: Mapping[str, Mapping[str, Any]]
    attached: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """An access policy association: cluster-wide (``namespaces`` ``None``) or namespaced."""

    arn: str
    namespaces: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LiveAccessEntry:
    principal_arn: str
    username: str
    groups: tuple[str, ...]
    policies: tuple[AccessPolicy, ...]


@dataclass(frozen=True, slots=True)
class LivePodIdentityAssociation:
    """An association as ``DescribePodIdentityAssociation`` returns it (``owner_arn`` set
    when an EKS add-on owns it)."""

    association_id: str
    namespace: str
    service_account: str
    role_arn: str
    target_role_arn: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    owner_arn: str | None = None


@dataclass(frozen=True, slots=True)
class LiveAddon:
    name: str
    status: str
    version: str = ""


@dataclass(frozen=True, slots=True)
class LiveObject:
    """A Kubernetes object as far as provisioning reads it."""

    namespace: str | None
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    data: Mapping[str, str] = field(default_factory=dict)
    resource_version: str | None = None


@dataclass(frozen=True, slots=True)
class LivePod:
    """A pod as far as a migration reads it: whose service account it runs as, and what
    owns it (``ReplicaSet/web-5d9c`` — what to restart; empty for a bare pod)."""

    namespace: str
    name: str
    service_account: str
    owner: str = ""
    pod_identity: bool = False
    """Whether EKS's webhook gave it Pod Identity (its ``eks-pod-identity-token`` volume)."""


class AwsPort(Protocol):
    """One AWS account, as its administrator (or the profile given for it) sees it."""

    def caller_arn(self) -> str:
        """``sts:GetCallerIdentity``'s ARN (needs no permission)."""
        ...

    def describe_cluster(self, region: str, name: str) -> ClusterInfo | None:
        """The cluster once it is ``ACTIVE``: one being created or updated is waited for
        (EKS is asynchronous, reference H.2), with a bounded wait that fails clearly."""
        ...

    def get_oidc_provider(self, url: str) -> LiveOidcProvider | None: ...

    def create_oidc_provider(
        self, url: str, client_ids: Sequence[str], tags: Mapping[str, str]
    ) -> None: ...

    def add_oidc_client_id(self, arn: str, client_id: str) -> None: ...

    def tag_oidc_provider(self, arn: str, tags: Mapping[str, str]) -> None: ...

    def delete_oidc_provider(self, arn: str) -> None: ...

    def get_role(self, name: str) -> LiveRole | None: ...

    def create_role(
        self,
        name: str,
        trust: Mapping[str, Any],
        max_session_duration: int,
        tags: Mapping[str, str],
        description: str,
    ) -> None: ...

    def update_trust(self, name: str, trust: Mapping[str, Any]) -> None: ...

    def update_max_session_duration(self, name: str, seconds: int) -> None: ...

    def tag_role(self, name: str, tags: Mapping[str, str]) -> None: ...

    def put_role_policy(self, name: str, policy_name: str, document: Mapping[str, Any]) -> None: ...

    def delete_role_policy(self, name: str, policy_name: str) -> None: ...

    def attach_role_policy(self, name: str, arn: str) -> None: ...

    def detach_role_policy(self, name: str, arn: str) -> None: ...

    def delete_role(self, name: str) -> None: ...

    def get_access_entry(
        self, region: str, cluster: str, principal: str
    ) -> LiveAccessEntry | None: ...

    def create_access_entry(
        self,
        region: str,
        cluster: str,
        principal: str,
        username: str | None,
        groups: Sequence[str],
        tags: Mapping[str, str],
    ) -> None: ...

    def update_access_entry(
        self, region: str, cluster: str, principal: str, username: str | None, groups: Sequence[str]
    ) -> None: ...

    def delete_access_entry(self, region: str, cluster: str, principal: str) -> None: ...

    def associate_access_policy(
        self, region: str, cluster: str, principal: str, policy: AccessPolicy
    ) -> None: ...

    def disassociate_access_policy(
        self, region: str, cluster: str, principal: str, policy_arn: str
    ) -> None: ...

    def get_pod_identity_association(
        self, region: str, cluster: str, namespace: str, service_account: str
    ) -> LivePodIdentityAssociation | None:
        """The association of this service account (EKS allows one), read whole."""
        ...

    def create_pod_identity_association(
        self,
        region: str,
        cluster: str,
        namespace: str,
        service_account: str,
        role_arn: str,
        target_role_arn: str | None,
        tags: Mapping[str, str],
    ) -> None: ...

    def update_pod_identity_association(
        self,
        region: str,
        cluster: str,
        association_id: str,
        role_arn: str,
        target_role_arn: str | None,
    ) -> None:
        """Set the role and, unless ``target_role_arn`` is ``None`` (not sent), the target."""
        ...

    def delete_pod_identity_association(
        self, region: str, cluster: str, association_id: str
    ) -> None: ...

    def get_addon(self, region: str, cluster: str, name: str) -> LiveAddon | None: ...

    def create_addon(
        self, region: str, cluster: str, name: str, tags: Mapping[str, str]
    ) -> None: ...

    def wait_addon_active(self, region: str, cluster: str, name: str) -> None:
        """Return once the add-on is ``ACTIVE``; raise when it fails or the bound is
        reached (a created add-on is ``CREATING`` first, reference H.2)."""
        ...

    # --- migrate access-entries
    def update_authentication_mode(self, region: str, cluster: str, mode: str) -> None:
        """Move the cluster to ``mode`` (one step of ``CONFIG_MAP`` → ``API_AND_CONFIG_MAP``
        → ``API``, reference E.1) and return once the update is ``Successful``; raise when
        it fails or the bound is reached (the update is asynchronous, H.2)."""
        ...

    def create_node_access_entry(
        self, region: str, cluster: str, principal: str, entry_type: str, tags: Mapping[str, str]
    ) -> None:
        """An access entry of a node type (``EC2_LINUX``, ``EC2_WINDOWS``): no username,
        groups or policies (EKS gives them, E.2)."""
        ...

    # --- migrate pod-identity
    def addon_service_account_roles(self, region: str, cluster: str) -> Mapping[str, str]:
        """Each add-on of the cluster that has an IRSA role: add-on name →
        ``serviceAccountRoleArn`` (``DescribeAddon``); add-ons without one are left out."""
        ...


class KubePort(Protocol):
    """One Kubernetes cluster's API server."""

    def get_namespace(self, name: str) -> LiveObject | None: ...

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None: ...

    def get_service_account(self, namespace: str, name: str) -> LiveObject | None: ...

    def create_service_account(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None: ...

    def patch_service_account(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        """Merge-patch the annotations; ``None`` removes one."""
        ...

    def delete_service_account(self, namespace: str, name: str) -> None: ...

    def get_config_map(self, namespace: str, name: str) -> LiveObject | None: ...

    def create_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> None: ...

    def replace_config_map(self, obj: LiveObject) -> None:
        """Replace with ``obj`` (labels, annotations, data); its ``resource_version`` makes
        the write fail if someone changed the ConfigMap since it was read."""
        ...

    def delete_config_map(self, namespace: str, name: str) -> None: ...

    # --- migrate pod-identity
    def list_pods(self, namespace: str) -> tuple[LivePod, ...]:
        """The pods of ``namespace`` (none when it does not exist)."""
        ...


class Ports(Protocol):
    """Where the ports come from: the CLI wires adapters in, tests wire fakes."""

    def aws(self, account: str) -> AwsPort: ...

    def kube(self, cluster: ClusterRef) -> KubePort: ...
