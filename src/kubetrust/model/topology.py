"""The modelled world in one value: accounts, OIDC providers, clusters, organization policies.

A :class:`Topology` is what explain and audit reason over. It is built from offline inputs
(:mod:`kubetrust.explain.bundle`) and could equally be built from live reads; nothing in it
knows where its data came from. It only holds and looks up: deciding is
:mod:`kubetrust.chain`'s job (style habit 2: the authorizer never looks things up, the
topology never decides).

Pure: no I/O, no YAML.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from kubetrust import arn, errors
from kubetrust.model.aws_auth import AwsAuthMap
from kubetrust.model.aws_auth import Problem as AwsAuthProblem
from kubetrust.model.eks import (
    AccessEntry,
    ClusterInfo,
    NodeGroup,
    OidcProvider,
    PodIdentityAssociation,
    ServiceAccount,
)
from kubetrust.model.iam import AccountIam, ManagedPolicy, Permissions, Problem, Role, User
from kubetrust.model.kube import RbacObjects
from kubetrust.policy import PolicyDocument

Levels = tuple[tuple[PolicyDocument, ...], ...]
"""SCP or RCP levels: organization root → OUs → account, each a list of documents."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cluster:
    """An EKS cluster with its Kubernetes-side access configuration."""

    info: ClusterInfo
    aws_auth: AwsAuthMap | None = None
    aws_auth_problems: tuple[AwsAuthProblem, ...] = ()
    aws_auth_source: str = ""
    access_entries: tuple[AccessEntry, ...] = ()
    rbac: RbacObjects = field(default_factory=RbacObjects)
    service_accounts: Mapping[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    pod_identity_associations: tuple[PodIdentityAssociation, ...] = ()
    associations_known: bool = False
    """Whether the inputs hold the cluster's Pod Identity associations (a bundle without
    the file says nothing about them: explain then follows IRSA only)."""
    addons: tuple[str, ...] | None = None
    """The cluster's EKS add-on names; ``None`` when the inputs do not say."""
    node_groups: tuple[NodeGroup, ...] | None = None
    """The cluster's node groups (instance role, IMDS settings); ``None`` when the inputs
    do not say, so explain and audit say nothing of the node role."""

    @property
    def name(self) -> str:
        return self.info.name

    def association_for(self, namespace: str, name: str) -> PodIdentityAssociation | None:
        """The service account's Pod Identity association (EKS allows one), if any."""
        return next((a for a in self.pod_identity_associations if a.key == (namespace, name)), None)

    def exposed_node_groups(self) -> tuple[NodeGroup, ...]:
        """The node groups whose instance role pods reach through IMDS (reference H.5)."""
        return tuple(group for group in self.node_groups or () if group.exposed)

    def has_addon(self, name: str) -> bool | None:
        """Whether the cluster runs the add-on ``name``; ``None`` when unknown."""
        return None if self.addons is None else name in self.addons


@dataclass(frozen=True, slots=True)
class OrgPolicies:
    """One account's place in AWS Organizations: the SCP and RCP levels that bind it
    (reference A.1 steps 3–4) and, when known, the organization's id and the account's
    path (``o-…/r-…/ou-…/``), the values of ``aws:PrincipalOrgID``/``aws:ResourceOrgID``
    and their ``…OrgPaths`` keys. ``org_id`` ``None``: membership unknown (older bundles
    hold only the levels), so those keys stay absent."""

    scps: Levels = ()
    rcps: Levels = ()
    org_id: str | None = None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsProfile:
    """One ``[profile NAME]`` of an AWS CLI config file (reference G.2, G.3)."""

    name: str
    source: str
    role_arn: str | None = None
    source_profile: str | None = None
    credential_source: str | None = None
    web_identity_token_file: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """A resource-based policy given for one resource ARN (a bucket policy, a key policy)."""

    resource: str
    account: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class Topology:
    """Everything known, indexed for lookups (see module doc)."""

    accounts: Mapping[str, AccountIam] = field(default_factory=dict)
    providers: Mapping[str, tuple[OidcProvider, ...]] = field(default_factory=dict)
    clusters: tuple[Cluster, ...] = ()
    org: Mapping[str, OrgPolicies] = field(default_factory=dict)
    resource_policies: Mapping[str, ResourcePolicy] = field(default_factory=dict)
    profiles: tuple[AwsProfile, ...] = ()
    problems: tuple[Problem, ...] = ()
    shared_policies: Mapping[str, ManagedPolicy] = field(default_factory=dict)
    memo: dict[str, object] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Indexes derived from this topology, built once by whoever needs them (the trust
    index that audit and every explain search: ``chain.graph.TrustIndex.of``). A topology
    does not change once built; ``dataclasses.replace`` starts an empty memo."""

    @classmethod
    def build(
        cls,
        accounts: Sequence[AccountIam],
        *,
        providers: Sequence[OidcProvider] = (),
        clusters: Sequence[Cluster] = (),
        org: Mapping[str, OrgPolicies] | None = None,
        resource_policies: Sequence[ResourcePolicy] = (),
        profiles: Sequence[AwsProfile] = (),
        problems: Sequence[Problem] = (),
    ) -> Topology:
        """A topology from its parts; AWS managed policies are shared across accounts."""
        by_account: dict[str, list[OidcProvider]] = {}
        for provider in providers:
            by_account.setdefault(provider.account, []).append(provider)
        shared = {
            policy_arn: managed
            for account in accounts
            for policy_arn, managed in account.policies.items()
            if policy_arn.split(":")[4:5] == ["aws"] and managed.document is not None
        }
        return cls(
            {a.account: a for a in accounts},
            {k: tuple(v) for k, v in by_account.items()},
            tuple(clusters),
            dict(org or {}),
            {p.resource: p for p in resource_policies},
            tuple(profiles),
            tuple(problems),
            shared,
        )

    # ------------------------------------------------------------------ IAM
    def role(self, role_arn: str) -> Role | None:
        """The role with this ARN (names compare ignoring case, as IAM keeps them unique)."""
        try:
            parsed = arn.parse(role_arn)
        except errors.InvalidArnError:
            return None
        if parsed.service != "iam" or parsed.resource_type != "role":
            return None
        account = self.accounts.get(parsed.account)
        return account.role(parsed.resource_name) if account is not None else None

    def user(self, user_arn: str) -> User | None:
        try:
            parsed = arn.parse(user_arn)
        except errors.InvalidArnError:
            return None
        account = self.accounts.get(parsed.account)
        return account.user(parsed.resource_name) if account is not None else None

    def roles(self) -> Iterator[Role]:
        for account in self.accounts.values():
            yield from account.roles.values()

    def users(self) -> Iterator[User]:
        for account in self.accounts.values():
            yield from account.users.values()

    def permissions(self, identity: Role | User) -> Permissions:
        """Identity documents and boundary of a role or user of a known account."""
        account = self.accounts.get(identity.account)
        if account is None:
            return Permissions((), None)
        return account.permissions(identity, self.shared_policies)

    def scps(self, account: str) -> Levels:
        policies = self.org.get(account)
        return policies.scps if policies is not None else ()

    def rcps(self, account: str) -> Levels:
        policies = self.org.get(account)
        return policies.rcps if policies is not None else ()

    def membership(self, account: str | None) -> OrgPolicies | None:
        """``account``'s organization facts when the inputs say it is a member (an
        organization id is known), else ``None``."""
        policies = self.org.get(account) if account else None
        return policies if policies is not None and policies.org_id else None

    # ------------------------------------------------------------------ OIDC and EKS
    def provider(self, account: str, url: str) -> OidcProvider | None:
        """The IAM OIDC provider for ``url`` (no ``https://``) in ``account``."""
        wanted = url.removeprefix("https://").rstrip("/")
        return next((p for p in self.providers.get(account, ()) if p.url == wanted), None)

    def providers_for(self, url: str) -> list[OidcProvider]:
        """Every account's provider for ``url``."""
        wanted = url.removeprefix("https://").rstrip("/")
        return [p for ps in self.providers.values() for p in ps if p.url == wanted]

    def cluster(self, name_or_arn: str) -> Cluster:
        """The cluster with this name or ARN; raises :class:`errors.InputError` when there
        is none, or several of that name (then the ARN must be given)."""
        found = [c for c in self.clusters if name_or_arn in (c.info.name, c.info.arn)]
        if not found:
            known = ", ".join(sorted(c.info.name for c in self.clusters)) or "none"
            raise errors.InputError(f"no cluster `{name_or_arn}` in the inputs (known: {known})")
        if len(found) > 1:
            arns = ", ".join(c.info.arn for c in found)
            raise errors.InputError(
                f"several clusters are named `{name_or_arn}`: use one of {arns}"
            )
        return found[0]
