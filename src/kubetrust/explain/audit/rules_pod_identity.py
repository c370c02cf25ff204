"""Audit rules for EKS Pod Identity (reference F.1, F.4; EKS user guide ``pod-id-role``,
``pod-id-assign-target-role``; EKS best practices guide, IAM).

- ``pod-identity-trust-open``: a trust statement admitting ``pods.eks.amazonaws.com`` with
  no condition on the request's source or its session tags: *any* association in the
  account can use the role (EKS checks only ``iam:PassRole`` of whoever creates the
  association), so any cluster, namespace and service account of the account may get it.
- ``pod-identity-target-trust``: the trust of a target role (``targetRoleArn`` of an
  association, or a role whose trust admits an association role) admitting the association
  role without the conditions the user guide shows — the cluster (``eks-cluster-arn``),
  namespace and service account tags, or, with session tags disabled, ``sts:ExternalId``:
  every association using that association role then reaches the target.
- ``irsa-and-pod-identity``: a service account with both an IRSA annotation and a Pod
  Identity association; the webhook gives its pods the association's credentials only, so
  the annotation misleads whoever reads it.
- ``pod-identity-agent-missing``: a cluster with associations and, in the inputs, no
  ``eks-pod-identity-agent`` add-on: no pod gets credentials.
"""

from __future__ import annotations

from collections.abc import Iterator

from kubetrust import arn
from kubetrust.chain import pod_identity
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.audit.context import AuditContext
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON
from kubetrust.model.iam import Role
from kubetrust.policy.document import Statement

SERVICE = pod_identity.SERVICE_PRINCIPAL
SCOPING_KEYS = (
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
)
"""Condition keys that tie the service principal's request to a source (hop 1)."""
TAG_KEYS = tuple(f"aws:requesttag/{k}" for k in pod_identity.SESSION_TAG_KEYS) + tuple(
    f"aws:principaltag/{k}" for k in pod_identity.SESSION_TAG_KEYS
)
TARGET_SCOPES = (
    pod_identity.CLUSTER_ARN_TAG,
    pod_identity.NAMESPACE_TAG,
    pod_identity.SERVICE_ACCOUNT_TAG,
)
"""The tags the user guide's target trust conditions on (variant with session tags)."""


def _admits_service(statement: Statement) -> bool:
    return (
        ta.allows(statement, "sts:AssumeRole")
        and statement.principal is not None
        and SERVICE in (s.lower() for s in statement.principal.service)
    )


def _keys(statement: Statement) -> set[str]:
    return {condition.key.lower() for condition in statement.conditions}


def association_roles(ctx: AuditContext) -> list[Role]:
    """Roles whose trust admits ``pods.eks.amazonaws.com``, and roles associations name."""
    found: dict[str, Role] = {}
    for role in ctx.topology.roles():
        if role.trust is not None and any(_admits_service(s) for s in role.trust.statements):
            found[role.arn] = role
    for cluster in ctx.topology.clusters:
        for association in cluster.pod_identity_associations:
            named = ctx.topology.role(association.role_arn or "")
            if named is not None:
                found.setdefault(named.arn, named)
    return [found[k] for k in sorted(found)]


def open_trusts(ctx: AuditContext) -> Iterator[Finding]:
    for role in ctx.topology.roles():
        if role.trust is None:
            continue
        for statement in role.trust.statements:
            if not _admits_service(statement):
                continue
            keys = _keys(statement)
            if keys & set(SCOPING_KEYS) or keys & set(TAG_KEYS):
                continue
            yield Finding(
                "pod-identity-trust-open",
                Severity.MEDIUM,
                f"{role.arn} trust {statement.label}",
                f"the trust admits `{SERVICE}` with no condition on the source or the session "
                f"tags: any pod identity association in account {role.account} (any cluster, "
                f"namespace, service account) can use `{role.name}`",
                f'add conditions: "StringEquals": {{"aws:SourceAccount": "{role.account}", '
                '"aws:RequestTag/eks-cluster-arn": "CLUSTER_ARN", '
                '"aws:RequestTag/kubernetes-namespace": "NAMESPACE", '
                '"aws:RequestTag/kubernetes-service-account": "NAME"} (or aws:SourceOrgID '
                "for an organization)",
            )


def _target_roles(ctx: AuditContext, sources: list[Role]) -> dict[str, set[str]]:
    """Target role ARN → the association roles it is meant for (an association's
    ``targetRoleArn``, or a trust naming an association role)."""
    targets: dict[str, set[str]] = {}
    for cluster in ctx.topology.clusters:
        for association in cluster.pod_identity_associations:
            if association.target_role_arn and association.role_arn:
                targets.setdefault(association.target_role_arn, set()).add(association.role_arn)
    for source in sources:
        for role in ctx.index.naming(source):
            targets.setdefault(role.arn, set()).add(source.arn)
    return targets


def target_trusts(ctx: AuditContext) -> Iterator[Finding]:
    sources = association_roles(ctx)
    for target_arn, callers in sorted(_target_roles(ctx, sources).items()):
        target = ctx.topology.role(target_arn)
        if target is None or target.trust is None:
            continue
        for statement in target.trust.statements:
            if not ta.allows(statement, "sts:AssumeRole") or statement.principal is None:
                continue
            if not _names_any(statement, callers):
                continue
            missing = _missing_scopes(statement)
            if not missing:
                continue
            names = ", ".join(f"`{arn_name(c)}`" for c in sorted(callers))
            yield Finding(
                "pod-identity-target-trust",
                Severity.MEDIUM,
                f"{target.arn} trust {statement.label}",
                f"the trust admits the association role(s) {names} for the targetRoleArn hop "
                f"without conditions on {', '.join(missing)}: every association using that "
                f"role (any cluster, namespace, service account) reaches `{target.name}`",
                'add "StringEquals": {"aws:RequestTag/eks-cluster-arn": "CLUSTER_ARN", '
                '"aws:RequestTag/kubernetes-namespace": "NAMESPACE", '
                '"aws:RequestTag/kubernetes-service-account": "NAME"} (EKS user guide, '
                '"pod-id-assign-target-role"); with disableSessionTags, "sts:ExternalId": '
                "the association's externalId",
            )


def arn_name(role_arn: str) -> str:
    try:
        return arn.parse(role_arn).resource_name
    except Exception:
        return role_arn


def _names_any(statement: Statement, callers: set[str]) -> bool:
    """Whether the statement's principal names one of ``callers`` (its ARN, or its
    account's root, or ``*``)."""
    block = statement.principal
    assert block is not None
    if block.everyone:
        return True
    for entry in block.aws:
        for caller in callers:
            parsed = arn.parse(caller)
            if entry in (caller, parsed.account, f"arn:aws:iam::{parsed.account}:root"):
                return True
            if entry.endswith(f":role/{parsed.resource_name}") and f"::{parsed.account}:" in entry:
                return True
    return False


def _missing_scopes(statement: Statement) -> list[str]:
    keys = _keys(statement)
    if "sts:externalid" in keys:
        return []
    missing = []
    for tag in TARGET_SCOPES:
        if f"aws:requesttag/{tag}" not in keys and f"aws:principaltag/{tag}" not in keys:
            missing.append(tag)
    return missing


def both_federations(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.topology.clusters:
        for (namespace, name), account in sorted(cluster.service_accounts.items()):
            association = cluster.association_for(namespace, name)
            if association is None or not account.role_arn:
                continue
            same = account.role_arn == association.role_arn
            yield Finding(
                "irsa-and-pod-identity",
                Severity.LOW if same else Severity.MEDIUM,
                f"{cluster.info.arn} serviceaccount {namespace}/{name}",
                f"the service account has the IRSA annotation `{account.role_arn}` and the pod "
                f"identity association {association.association_id} (role "
                f"`{association.role_arn}`): the EKS webhook injects Pod Identity only, so the "
                "annotation is ignored" + ("" if same else " and names another role"),
                "remove the eks.amazonaws.com/role-arn annotation (kubectl annotate "
                f"serviceaccount -n {namespace} {name} eks.amazonaws.com/role-arn-), or delete "
                "the association to keep IRSA",
            )


def agent_missing(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.topology.clusters:
        if (
            cluster.pod_identity_associations
            and cluster.has_addon(POD_IDENTITY_AGENT_ADDON) is False
        ):
            yield Finding(
                "pod-identity-agent-missing",
                Severity.MEDIUM,
                cluster.info.arn,
                f"the cluster has {len(cluster.pod_identity_associations)} pod identity "
                f"association(s) but no `{POD_IDENTITY_AGENT_ADDON}` add-on: no pod gets "
                "their credentials",
                f"aws eks create-addon --cluster-name {cluster.name} --addon-name "
                f"{POD_IDENTITY_AGENT_ADDON}",
            )
