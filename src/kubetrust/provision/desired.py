"""Spec + discovered facts → the ordered list of resources that should exist.

Pure: the only inputs are the spec and :class:`Facts` (the source cluster's OIDC issuer,
the target clusters' endpoints, CAs and authentication modes), read once through the ports
by :func:`gather_facts`. The same inputs give the same resources, field for field, which is
what makes a second plan empty.

Federation modes (the seed's step 3-4, and the alternative it closes with):

- ``chained``: an OIDC provider for the source cluster in the source account; the CI role
  trusts it for the spec's service accounts; each target role trusts exactly the CI role;
  the CI role may ``sts:AssumeRole`` the target roles. The service accounts are annotated
  with the CI role; the pod's AWS config has ``ci-env`` (web identity) and one
  ``<target>-env`` profile per target (``source_profile = ci-env``).
- ``direct``: an OIDC provider for the source cluster in *each target account*; each target
  role trusts its own account's provider for the service accounts; there is no CI role. A
  service account can carry one ``eks.amazonaws.com/role-arn`` annotation only, so it names
  the **first** target's role (that is what the pod identity webhook puts in
  ``AWS_ROLE_ARN``, and what makes it mount the token); every target, the first included,
  has its own web-identity profile ``<target>-env`` in the pod's AWS config, which is how a
  pod reaches the others.
- ``podIdentity`` (EKS Pod Identity, reference F): no OIDC provider; the source role
  (``roleName``, the association role) trusts ``pods.eks.amazonaws.com`` for the spec's
  service accounts (:func:`~.documents.pod_identity_trust`); each target role trusts the
  source role with ``sts:AssumeRole`` and ``sts:TagSession``, which the source role may
  do on them. EKS allows one association per service account, so several targets map
  as follows: with **one** target, each service account's association has
  ``targetRoleArn`` = the target role, EKS makes both hops, the pod's default credentials
  are the target role's and it needs no AWS config file; with **several**, the
  associations have no target role, the pod's default credentials are the source role's,
  and its AWS config has one ``<target>-env`` profile per target with
  ``credential_source = EcsContainer``. Service accounts carry no role annotation; the
  source cluster must run the ``eks-pod-identity-agent`` add-on (checked, or installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kubetrust.model.aws_auth import RoleMapping
from kubetrust.model.vocabulary import IRSA_AUDIENCE
from kubetrust.provision import documents, rules
from kubetrust.provision.ports import AccessPolicy, ClusterInfo, ClusterRef, Ports, ProvisionError
from kubetrust.provision.resources import (
    CHAIN_POLICY,
    PERMISSIONS_POLICY,
    SOURCE_UNIT,
    AccessEntry,
    AwsAuthEntry,
    ConfigMap,
    InlinePolicy,
    Item,
    ManagedPolicies,
    Namespace,
    OidcProvider,
    Phase,
    PodIdentityAgent,
    PodIdentityAssociation,
    Role,
    ServiceAccount,
    ownership_labels,
    ownership_tags,
)
from kubetrust.provision.source import SpecError
from kubetrust.provision.spec import Spec, Target, TargetCluster, subjects, target_role_arn


@dataclass(frozen=True, slots=True)
class Facts:
    """What the spec leaves to discovery. ``issuer`` is empty when it could not be found
    (destroy of a deleted cluster); ``clusters`` lacks the target clusters not found."""

    issuer: str
    clusters: Mapping[str, ClusterInfo] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def source_cluster(spec: Spec) -> ClusterRef:
    source = spec.source
    return ClusterRef(source.account, source.region, source.cluster, source.kube_context)


def target_cluster(spec: Spec, target: Target, cluster: TargetCluster) -> ClusterRef:
    region = spec.cluster_region(cluster)
    return ClusterRef(target.account, region, cluster.name, cluster.kube_context)


def gather_facts(spec: Spec, ports: Ports, *, kubernetes: bool, strict: bool = True) -> Facts:
    """Read the source issuer (unless the spec gives it) and, for the Kubernetes side, every
    target cluster. ``strict`` (plan, apply) raises for a missing cluster; destroy is not
    strict and skips what it cannot find."""
    warnings: list[str] = []
    issuer = spec.source.oidc_issuer or ""
    if spec.pod_identity:
        _check_source_cluster(spec, ports, strict, warnings)
    elif not issuer:
        ref = source_cluster(spec)
        info = ports.aws(ref.account).describe_cluster(ref.region, ref.name)
        if info is None or not info.issuer:
            message = (
                f"source cluster `{ref.name}` not found in account {ref.account} region "
                f"{ref.region} (its OIDC issuer is needed; or set `source.oidcIssuer`)"
            )
            if strict:
                raise ProvisionError(message)
            warnings.append(message)
        else:
            issuer = info.issuer
    clusters: dict[str, ClusterInfo] = {}
    for target in spec.targets if kubernetes else ():
        for cluster in target.clusters:
            ref = target_cluster(spec, target, cluster)
            found = ports.aws(ref.account).describe_cluster(ref.region, ref.name)
            if found is None:
                message = (
                    f"target cluster `{ref.name}` of target `{target.name}` not found in "
                    f"account {ref.account} region {ref.region}"
                )
                if strict:
                    raise ProvisionError(message)
                warnings.append(message)
                continue
            clusters[ref.key] = found
    if issuer and not spec.pod_identity:
        _check_trust_size(spec, issuer)
    return Facts(issuer, clusters, tuple(warnings))


def _check_source_cluster(spec: Spec, ports: Ports, strict: bool, warnings: list[str]) -> None:
    """Pod Identity needs no issuer, but the cluster its associations are made in."""
    ref = source_cluster(spec)
    if ports.aws(ref.account).describe_cluster(ref.region, ref.name) is not None:
        return
    message = f"source cluster `{ref.name}` not found in account {ref.account} region {ref.region}"
    if strict:
        raise ProvisionError(message)
    warnings.append(message)


def _check_trust_size(spec: Spec, issuer: str) -> None:
    size = rules.trust_size(spec, issuer)
    if size > documents.TRUST_POLICY_LIMIT:
        message = (
            f"the web identity trust policy would be {size} characters for issuer `{issuer}`; "
            f"IAM's default limit is {documents.TRUST_POLICY_LIMIT} (fewer service accounts)"
        )
        origin = spec._origin
        path = ("spec", "source", "serviceAccounts")
        if origin is not None:
            raise SpecError([origin.problem(path, message)])
        raise ProvisionError(message)


def desired(spec: Spec, facts: Facts, *, kubernetes: bool = True) -> list[Item]:
    """Every resource of ``spec``, in apply order (phase, then spec order)."""
    items = _iam(spec, facts)
    if kubernetes:
        items += _kubernetes(spec, facts)
    return sorted(items, key=lambda item: item.phase)


def _iam(spec: Spec, facts: Facts) -> list[Item]:
    tags = {**spec.spec.tags, **ownership_tags(spec.name)}
    description = f"managed by kubetrust (spec {spec.name})"
    source = spec.source
    items: list[Item] = []
    target_arns = [target_role_arn(target) for target in spec.targets]
    if spec.spec.federation == "chained" and facts.issuer:
        items.append(_provider(source.account, facts.issuer, tags, SOURCE_UNIT))
    ci_arn = spec.ci_role_arn()
    if ci_arn is not None and source.role_name is not None:
        if spec.pod_identity:
            cluster_arn = spec.source_cluster_arn()
            trust = documents.pod_identity_trust(source.account, cluster_arn, pairs(spec))
            chain = documents.pod_identity_chain_policy(target_arns)
        else:
            provider = documents.oidc_provider_arn(source.account, facts.issuer)
            trust = documents.web_identity_trust(provider, facts.issuer, subjects(source))
            chain = documents.chain_policy(target_arns)
        role = Role(
            source.account, source.role_name, trust, source.max_session_duration, tags, description
        )
        items.append(Item(role, SOURCE_UNIT, Phase.CI_ROLE))
        policy = InlinePolicy(source.account, source.role_name, CHAIN_POLICY, chain)
        items.append(Item(policy, SOURCE_UNIT, Phase.CHAIN_POLICY))
    for target in spec.targets:
        if spec.direct:
            if facts.issuer:
                items.append(_provider(target.account, facts.issuer, tags, target.name))
            provider = documents.oidc_provider_arn(target.account, facts.issuer)
            trust = documents.web_identity_trust(provider, facts.issuer, subjects(source))
        elif spec.pod_identity:
            trust = documents.pod_identity_target_trust(
                ci_arn or "", spec.source_cluster_arn(), pairs(spec)
            )
        else:
            trust = documents.role_trust(ci_arn or "")
        role = Role(
            target.account, target.role_name, trust, target.max_session_duration, tags, description
        )
        statements = target.permissions.statements
        document = documents.permissions_policy(statements) if statements else None
        policy = InlinePolicy(target.account, target.role_name, PERMISSIONS_POLICY, document)
        managed = ManagedPolicies(
            target.account, target.role_name, tuple(target.permissions.managed_policies)
        )
        items += [Item(r, target.name, Phase.TARGET_ROLES) for r in (role, policy, managed)]
    return items


def pairs(spec: Spec) -> list[tuple[str, str]]:
    """The service accounts as ``(namespace, name)``."""
    return [(account.namespace, account.name) for account in spec.source.service_accounts]


def _provider(account: str, issuer: str, tags: Mapping[str, str], unit: str) -> Item:
    provider = OidcProvider(account, issuer, (IRSA_AUDIENCE,), tags)
    return Item(provider, unit, Phase.OIDC_PROVIDER)


def _kubernetes(spec: Spec, facts: Facts) -> list[Item]:
    labels = ownership_labels(spec.name)
    source = spec.source
    cluster = source_cluster(spec)
    annotated = (
        None if spec.pod_identity else spec.ci_role_arn() or target_role_arn(spec.targets[0])
    )
    namespaces = [account.namespace for account in source.service_accounts]
    maps = [(source.aws_config_map, {"config": aws_config(spec)})] if needs_aws_config(spec) else []
    contexts = kube_contexts(spec, facts)
    if contexts:
        maps.append((source.kubeconfig_map, {"config": documents.kubeconfig(contexts)}))
    namespaces += [spec.config_map_namespace(ref) for ref, _ in maps]
    items = [
        Item(Namespace(cluster, name, labels), SOURCE_UNIT, Phase.SERVICE_ACCOUNT)
        for name in dict.fromkeys(namespaces)
    ]
    items += [
        Item(
            ServiceAccount(cluster, account.namespace, account.name, annotated, spec.name),
            SOURCE_UNIT,
            Phase.SERVICE_ACCOUNT,
        )
        for account in source.service_accounts
    ]
    items += [
        Item(
            ConfigMap(cluster, spec.config_map_namespace(ref), ref.name, data, labels),
            SOURCE_UNIT,
            Phase.CONFIG_MAPS,
        )
        for ref, data in maps
    ]
    for target in spec.targets:
        for entry in target.clusters:
            ref = target_cluster(spec, target, entry)
            info = facts.clusters.get(ref.key)
            if info is not None:
                access = _access(spec, target, entry, ref, info.authentication_mode)
                items.append(Item(access, target.name, Phase.CLUSTER_ACCESS))
    if spec.pod_identity:
        items += _pod_identity(spec)
    return items


def _pod_identity(spec: Spec) -> list[Item]:
    """The agent add-on and one association per service account (module doc)."""
    cluster = source_cluster(spec)
    role_arn = spec.ci_role_arn() or ""
    target = target_role_arn(spec.targets[0]) if len(spec.targets) == 1 else None
    tags = {**spec.spec.tags, **ownership_tags(spec.name)}
    agent = PodIdentityAgent(cluster, spec.installs_agent)
    items = [Item(agent, SOURCE_UNIT, Phase.POD_IDENTITY_AGENT)]
    for account in spec.source.service_accounts:
        association = PodIdentityAssociation(
            cluster, account.namespace, account.name, role_arn, target, tags
        )
        items.append(Item(association, SOURCE_UNIT, Phase.POD_IDENTITY_ASSOCIATIONS))
    return items


def _access(
    spec: Spec, target: Target, entry: TargetCluster, ref: ClusterRef, mode: str
) -> AwsAuthEntry | AccessEntry:
    arn = target_role_arn(target)
    if entry.aws_auth is not None:
        mapping = RoleMapping(
            role_arn=arn, username=entry.aws_auth.username, groups=entry.aws_auth.groups
        )
        return AwsAuthEntry(ref, mapping, mode)
    access = entry.access_entry
    assert access is not None  # INVARIANT: rules.check demands exactly one of the two
    policies = tuple(AccessPolicy(p.arn, p.namespaces) for p in access.access_policies)
    tags = ownership_tags(spec.name)
    return AccessEntry(ref, arn, access.username, access.groups, policies, tags, mode)


def needs_aws_config(spec: Spec) -> bool:
    """Whether the pod needs an AWS config file: always, except with Pod Identity and one
    target, where its default credentials are the target role's (module doc)."""
    return not (spec.pod_identity and len(spec.targets) == 1)


def aws_config(spec: Spec) -> str:
    """The pod's AWS config file (the seed's ``awsconfig-configmap``)."""
    profiles: list[tuple[str, dict[str, str]]] = []
    ci_arn = spec.ci_role_arn()
    if ci_arn is not None and spec.spec.federation == "chained":
        profiles.append(
            (
                documents.SOURCE_PROFILE,
                {"role_arn": ci_arn, "web_identity_token_file": documents.TOKEN_FILE},
            )
        )
    for target in spec.targets:
        keys = {"role_arn": target_role_arn(target)}
        if spec.direct:
            keys["web_identity_token_file"] = documents.TOKEN_FILE
        elif spec.pod_identity:
            keys["credential_source"] = documents.CONTAINER_CREDENTIALS
        else:
            keys["source_profile"] = documents.SOURCE_PROFILE
        if target.session_name:
            keys["role_session_name"] = target.session_name
        profiles.append((target.profile_name, keys))
    return documents.aws_config(profiles)


def kube_contexts(spec: Spec, facts: Facts) -> list[dict[str, str]]:
    """One kubeconfig context per target cluster found, named ``<target>-<cluster>``."""
    contexts = []
    for target in spec.targets:
        for entry in target.clusters:
            ref = target_cluster(spec, target, entry)
            info = facts.clusters.get(ref.key)
            if info is None:
                continue
            contexts.append(
                {
                    "name": f"{target.name}-{entry.name}",
                    "arn": info.arn or ref.arn,
                    "endpoint": info.endpoint,
                    "ca_data": info.ca_data,
                    "region": ref.region,
                    "cluster": ref.name,
                    "profile": target.profile_name if needs_aws_config(spec) else "",
                }
            )
    return contexts
