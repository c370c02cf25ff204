"""Audit rules over cluster access: aws-auth and access entries.

- ``system:masters`` in aws-auth: a superuser group that no RBAC binding can revoke (D.3);
  EKS recommends access policies (E.4), which can be scoped and cannot grant it.
- aws-auth entries that never match, and other problems the authenticator would log
  (:func:`kubetrust.model.aws_auth.parse_aws_auth`): a role ARN with a path, an
  assumed-role session ARN, malformed entries.
- ``API_AND_CONFIG_MAP``: an access entry for a principal that aws-auth also maps wins
  silently (E.1); ``API``: aws-auth is not read at all.
- aws-auth mapping a node instance role to more than the node groups: every pod on those
  nodes gets the extra groups.
"""

from __future__ import annotations

from collections.abc import Iterator

from kubetrust.chain import kube_identity as kid
from kubetrust.explain.audit.context import AuditContext
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.model.topology import Cluster
from kubetrust.model.vocabulary import API, API_AND_CONFIG_MAP

MASTERS = "system:masters"
NODE_GROUPS = frozenset({"system:bootstrappers", "system:nodes"})


def _where(cluster: Cluster, entry: str) -> str:
    source = cluster.aws_auth_source or f"cluster {cluster.name} aws-auth"
    return f"{source} {entry}"


def aws_auth_masters(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.topology.clusters:
        if cluster.aws_auth is None:
            continue
        for index, role in enumerate(cluster.aws_auth.roles):
            node = ctx.topology.role(kid.strip_role_path(role.role_arn)) if role.role_arn else None
            extra = sorted(set(role.groups) - NODE_GROUPS)
            if node is not None and node.is_instance_role and extra:
                yield Finding(
                    "node-role-cluster-access",
                    Severity.HIGH,
                    _where(cluster, f"mapRoles[{index}]"),
                    f"node instance role `{node.name}` is mapped with groups {extra}: every pod "
                    f"on those nodes gets them in cluster `{cluster.name}`",
                    "map node roles to system:bootstrappers and system:nodes only",
                    {"cluster": cluster.info.arn, "groups": extra},
                )
            elif MASTERS in role.groups:
                yield _masters(cluster, f"mapRoles[{index}]", role.role_arn or role.key)
        for index, user in enumerate(cluster.aws_auth.users):
            if MASTERS in user.groups:
                yield _masters(cluster, f"mapUsers[{index}]", user.user_arn)


def _masters(cluster: Cluster, entry: str, principal: str) -> Finding:
    return Finding(
        "aws-auth-system-masters",
        Severity.MEDIUM,
        _where(cluster, entry),
        f"`{principal}` is mapped to system:masters in cluster `{cluster.name}`: unrestricted "
        "and not revocable through RBAC",
        "map it to a group bound to a scoped role, or use an access entry with an access "
        "policy (AmazonEKSViewPolicy/EditPolicy, namespace scope)",
        {"cluster": cluster.info.arn, "principal": principal},
    )


def aws_auth_problems(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.topology.clusters:
        for problem in cluster.aws_auth_problems:
            never = "never matches" in problem.message
            yield Finding(
                "aws-auth-entry-never-matches" if never else "aws-auth-problem",
                Severity.MEDIUM if never else Severity.LOW,
                _where(cluster, problem.path),
                problem.message,
                "write the role's ARN without its path (arn:aws:iam::ACCOUNT:role/NAME)"
                if "path" in problem.message
                else "use the role ARN, not a session ARN"
                if "session ARN" in problem.message
                else "correct the entry",
                {"cluster": cluster.info.arn},
            )


def access_entry_overrides(ctx: AuditContext) -> Iterator[Finding]:
    for cluster in ctx.topology.clusters:
        mode = cluster.info.authentication_mode
        aws_auth = cluster.aws_auth
        if aws_auth is None or not (aws_auth.roles or aws_auth.users):
            continue
        if mode == API:
            yield Finding(
                "aws-auth-ignored",
                Severity.LOW,
                _where(cluster, ""),
                f"cluster `{cluster.name}` authenticates with access entries only (API): its "
                f"aws-auth ConfigMap ({len(aws_auth.roles)} roles, {len(aws_auth.users)} users) "
                "is not read",
                "delete the ConfigMap, or create access entries for the principals it maps",
            )
            continue
        if mode != API_AND_CONFIG_MAP:
            continue
        for entry in cluster.access_entries:
            canonical = kid.strip_role_path(entry.principal_arn)
            mapped = aws_auth.find_role(canonical) or aws_auth.find_user(canonical)
            if mapped is None:
                continue
            entry_groups = set(entry.kubernetes_groups)
            same = entry_groups == set(mapped.groups)
            yield Finding(
                "access-entry-overrides-aws-auth",
                Severity.LOW if same else Severity.MEDIUM,
                f"cluster {cluster.name} access entry {entry.principal_arn}",
                f"`{entry.principal_arn}` has an access entry and an aws-auth mapping; the entry "
                "wins silently"
                + ("" if same else f" (aws-auth groups {list(mapped.groups)} are not applied)"),
                "remove the aws-auth mapping (migrated), or the access entry",
                {"cluster": cluster.info.arn, "awsAuthGroups": list(mapped.groups)},
            )
