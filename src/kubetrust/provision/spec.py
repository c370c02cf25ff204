"""The ``kubetrust.yaml`` spec (``kubetrust.dev/v1alpha1``, kind ``CrossAccountAccess``).

One file declares the whole system of the seed: the source cluster and its service
accounts, the CI role, the federation mode, and per target account its role, its IAM
permissions and the Kubernetes access it gets in each target cluster. docs/spec.md
documents every field; examples/ holds the seed and a three-target spec.

The models here check each field on its own (pydantic: types, patterns, unknown keys);
:mod:`kubetrust.provision.load` reads the file, runs these models, adds the checks that
span fields (uniqueness, federation rules, policy documents and their sizes) and turns
every failure into a ``file:line:col: message`` problem. Values are immutable.

Names follow the AWS APIs' own rules (botocore's IAM/STS/EKS models, reference A.9, B.1,
E.2): a role name is 1-64 characters of ``[\\w+=,.@-]``, a session name 2-64 of the same, a
cluster name ``[0-9A-Za-z][A-Za-z0-9-_]*`` up to 100, an account id 12 digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

from kubetrust import arn
from kubetrust.model import vocabulary
from kubetrust.model.fields import AccountId, ClusterName, Region, RoleName, SessionDuration

API_VERSION = "kubetrust.dev/v1alpha1"
KIND = "CrossAccountAccess"
DEFAULT_AWS_CONFIG_MAP = "awsconfig-configmap"
DEFAULT_KUBECONFIG_MAP = "kubetrust-kubeconfig"
ACCESS_POLICY_NAMES = tuple(
    policy.name
    for policy in (
        vocabulary.CLUSTER_ADMIN_POLICY,
        vocabulary.ADMIN_POLICY,
        vocabulary.EDIT_POLICY,
        vocabulary.VIEW_POLICY,
        vocabulary.ADMIN_VIEW_POLICY,
    )
)
"""The access policies a spec may name without their ARN."""
"""The general-purpose EKS access policies (reference E.4); other ARNs are accepted as ARNs."""
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


def _check(pattern: str, message: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message.format(value=value))
        return value

    return check


SessionName = Annotated[
    str,
    AfterValidator(
        _check(
            r"[\w+=,.@-]{2,64}",
            "`{value}` is not a valid role session name (2-64 characters: letters, digits "
            "and +=,.@_-)",
        )
    ),
]
DnsLabel = Annotated[
    str,
    AfterValidator(
        _check(
            r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
            "`{value}` is not a valid Kubernetes name (a DNS label: at most 63 lowercase "
            "letters, digits and -, starting and ending with a letter or digit)",
        )
    ),
]
DnsSubdomain = Annotated[
    str,
    AfterValidator(
        _check(
            r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            "`{value}` is not a valid Kubernetes object name (a DNS subdomain: lowercase "
            "letters, digits, - and ., at most 253)",
        )
    ),
]
IssuerUrl = Annotated[
    str,
    AfterValidator(
        _check(
            r"https://[^/?#\s]+(/[^?#\s]*)?",
            "`{value}` is not an OIDC issuer URL (https, no query or fragment)",
        )
    ),
]
ManagedPolicyArn = Annotated[
    str,
    AfterValidator(
        _check(
            rf"arn:aws[a-z-]*:iam::({arn.ACCOUNT_ID.pattern}|aws):policy/[\w+=,.@/-]+",
            "`{value}` is not a managed policy ARN (arn:aws:iam::ACCOUNT|aws:policy/NAME)",
        )
    ),
]


def _access_policy(value: str) -> str:
    if value in ACCESS_POLICY_NAMES or re.fullmatch(
        r"arn:aws[a-z-]*:"
        + re.escape(vocabulary.ACCESS_POLICY_ARN_AFTER_PARTITION)
        + r"[A-Za-z0-9]+",
        value,
    ):
        return value
    raise ValueError(
        f"`{value}` is not an EKS access policy: use an ARN or one of "
        + ", ".join(f"`{name}`" for name in ACCESS_POLICY_NAMES)
    )


def _username(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=False
    )


class ServiceAccountRef(_Model):
    """A Kubernetes service account of the source cluster allowed to use the CI role."""

    namespace: DnsLabel
    name: DnsSubdomain

    @property
    def subject(self) -> str:
        """The ``sub`` claim of its tokens (reference C.1)."""
        return vocabulary.service_account_subject(self.namespace, self.name)


class ConfigMapRef(_Model):
    """Where a generated ConfigMap goes (its namespace defaults to the first service
    account's)."""

    name: DnsSubdomain
    namespace: DnsLabel | None = None


class Source(_Model):
    """The CI side: the account and cluster whose pods start the chain."""

    account: AccountId
    region: Region
    cluster: ClusterName
    oidc_issuer: IssuerUrl | None = None
    service_accounts: tuple[ServiceAccountRef, ...]
    role_name: RoleName | None = None
    max_session_duration: SessionDuration = vocabulary.DEFAULT_ROLE_MAX_SESSION
    aws_config_map: ConfigMapRef = ConfigMapRef.model_validate({"name": DEFAULT_AWS_CONFIG_MAP})
    kubeconfig_map: ConfigMapRef = ConfigMapRef.model_validate({"name": DEFAULT_KUBECONFIG_MAP})
    profile: str | None = None
    kube_context: str | None = None
    pod_identity_agent: Literal["require", "install"] | None = None
    """With ``federation: podIdentity``: ``require`` (the default) fails plan and apply when
    the source cluster lacks the ``eks-pod-identity-agent`` add-on; ``install`` creates it."""


class AwsAuthAccess(_Model):
    """A ``mapRoles`` entry in the target cluster's aws-auth ConfigMap (reference D.3)."""

    username: Annotated[str, AfterValidator(_username)]
    groups: tuple[str, ...] = ()


class AccessPolicyRef(_Model):
    """An EKS access policy associated with the access entry, cluster-wide or for some
    namespaces (wildcards such as ``dev-*`` allowed, reference E.4)."""

    policy: Annotated[str, AfterValidator(_access_policy)]
    namespaces: tuple[str, ...] | None = None

    @property
    def arn(self) -> str:
        return (
            self.policy
            if self.policy.startswith("arn:")
            else vocabulary.ACCESS_POLICY_ARN_PREFIX + self.policy
        )


class AccessEntryAccess(_Model):
    """An EKS access entry for the target role, with access policies (reference E.2)."""

    username: str | None = None
    groups: tuple[str, ...] = ()
    access_policies: tuple[AccessPolicyRef, ...] = ()


class TargetCluster(_Model):
    """An EKS cluster of a target account and the Kubernetes access the target role gets."""

    name: ClusterName
    region: Region | None = None
    kube_context: str | None = None
    aws_auth: AwsAuthAccess | None = None
    access_entry: AccessEntryAccess | None = None


class Permissions(_Model):
    """What the target role may do in its account: statements become one inline policy,
    managed policy ARNs are attached."""

    statements: tuple[dict[str, Any], ...] = ()
    managed_policies: tuple[ManagedPolicyArn, ...] = ()


class Target(_Model):
    """One target account (dev, stg, prod...) and its role."""

    name: DnsLabel
    account: AccountId
    role_name: RoleName
    max_session_duration: SessionDuration = vocabulary.DEFAULT_ROLE_MAX_SESSION
    session_name: SessionName | None = None
    permissions: Permissions = Permissions()
    clusters: tuple[TargetCluster, ...] = ()
    profile: str | None = None

    @property
    def profile_name(self) -> str:
        """The pod's AWS config profile for this target (``target-env`` in the seed)."""
        return f"{self.name}-env"


class Metadata(_Model):
    name: DnsLabel


class Body(_Model):
    source: Source
    federation: Literal["chained", "direct", "podIdentity"] = "chained"
    targets: tuple[Target, ...]
    tags: dict[str, str] = {}


class Spec(_Model):
    """A whole ``kubetrust.yaml``."""

    api_version: Literal["kubetrust.dev/v1alpha1"]
    kind: Literal["CrossAccountAccess"]
    metadata: Metadata
    spec: Body
    _origin: Any = PrivateAttr(default=None)
    """The :class:`~kubetrust.provision.source.Source` it was read from, to locate the
    problems found later (a trust policy too large once the issuer is discovered)."""

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def source(self) -> Source:
        return self.spec.source

    @property
    def targets(self) -> tuple[Target, ...]:
        return self.spec.targets

    @property
    def direct(self) -> bool:
        return self.spec.federation == "direct"

    @property
    def pod_identity(self) -> bool:
        """``federation: podIdentity``: EKS Pod Identity associations, no OIDC provider."""
        return self.spec.federation == "podIdentity"

    @property
    def installs_agent(self) -> bool:
        """Whether apply creates the ``eks-pod-identity-agent`` add-on when it is missing."""
        return self.pod_identity and self.source.pod_identity_agent == "install"

    def ci_role_arn(self) -> str | None:
        """The source role: the CI role (``chained``) or the association role
        (``podIdentity``); ``None`` with ``direct``."""
        name = self.source.role_name
        return f"arn:aws:iam::{self.source.account}:role/{name}" if name else None

    def source_cluster_arn(self) -> str:
        """The source cluster's ARN, as EKS sets it in the ``eks-cluster-arn`` session tag."""
        source = self.source
        return f"arn:aws:eks:{source.region}:{source.account}:cluster/{source.cluster}"

    def config_map_namespace(self, ref: ConfigMapRef) -> str:
        return ref.namespace or self.source.service_accounts[0].namespace

    def cluster_region(self, cluster: TargetCluster) -> str:
        return cluster.region or self.source.region


def target_role_arn(target: Target) -> str:
    return f"arn:aws:iam::{target.account}:role/{target.role_name}"


def subjects(source: Source) -> list[str]:
    return [account.subject for account in source.service_accounts]


__all__ = [
    "API_VERSION",
    "KIND",
    "AccessEntryAccess",
    "AccessPolicyRef",
    "AwsAuthAccess",
    "ConfigMapRef",
    "Permissions",
    "ServiceAccountRef",
    "Source",
    "Spec",
    "Target",
    "TargetCluster",
    "subjects",
    "target_role_arn",
]
