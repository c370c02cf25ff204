"""aws-auth → access entries: what each mapping becomes, and what cannot be carried (issue 15).

Pure: the caller reads aws-auth (as the authenticator reads it: :mod:`kubetrust.model.aws_auth`)
and the cluster's access entries, and resolves each principal in IAM (``resolve``: the ARN as
IAM holds it, with its path, or ``None`` when the principal no longer exists). The rules
(reference E; eksctl's ``migrate-to-access-entry`` as the baseline, with its gaps closed):

- a mapping whose principal already has an access entry is left alone: in
  ``API_AND_CONFIG_MAP`` the entry wins over aws-auth already (E.1);
- ``system:node:{{EC2PrivateDNSName}}`` → an ``EC2_LINUX`` entry (``EC2_WINDOWS`` when the
  groups hold ``eks:kube-proxy-windows``): EKS gives node entries their username and groups;
- ``system:masters`` → a ``STANDARD`` entry with ``AmazonEKSClusterAdminPolicy`` on the
  cluster, the username kept and the other groups carried as ``kubernetesGroups``;
- other groups → ``kubernetesGroups`` of a ``STANDARD`` entry (RBAC bindings stay as they are);
- what access entries cannot express is listed with the reason and the manual step, never
  dropped silently: ``mapAccounts``, SSO permission-set patterns, service-linked roles, other
  ``system:`` groups, usernames with a reserved prefix or a template entries do not take, and
  principals that no longer exist. Each of these also keeps the cluster from the ``API`` mode
  (only aws-auth carries it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kubetrust.model.aws_auth.mappings import AwsAuthMap, RoleMapping, UserMapping
from kubetrust.model.vocabulary import CLUSTER_ADMIN_POLICY

__all__ = [
    "EC2_LINUX",
    "EC2_WINDOWS",
    "NODE_NOTE",
    "STANDARD",
    "AccessMigration",
    "NotCarried",
    "PlannedEntry",
    "plan_access_entries",
]

STANDARD = "STANDARD"
EC2_LINUX = "EC2_LINUX"
EC2_WINDOWS = "EC2_WINDOWS"
MASTERS = "system:masters"
NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
FARGATE_USERNAME = "system:node:{{SessionName}}"
WINDOWS_GROUP = "eks:kube-proxy-windows"
RESERVED_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
"""Prefixes an access entry's username may not start with (E.2)."""
ENTRY_TEMPLATE = "{{SessionName}}"
"""[unconfirmed] The one template an access entry's username takes (after a colon, E.2);
aws-auth's others (``{{AccountID}}``, ``{{AccessKeyID}}``, ``{{SessionNameRaw}}``) are not
documented for access entries, so a username holding one is not carried."""


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """An access entry to create: ``username`` ``None`` is EKS's default."""

    principal_arn: str
    type: str
    username: str | None
    kubernetes_groups: tuple[str, ...]
    policies: tuple[str, ...]
    source: str
    """Where in aws-auth it comes from (``mapRoles[2]``)."""
    dropped_groups: tuple[str, ...] = ()
    """A node entry's mapping groups it does not carry: EKS puts a node entry in
    ``system:nodes`` only (``system:bootstrappers`` is the usual one; :data:`NODE_NOTE`)."""


NODE_GROUPS = ("system:nodes",)
"""The groups EKS gives a node access entry (E.2)."""
NODE_NOTE = (
    "an EC2 node entry puts the node in system:nodes only (E.6): upstream Kubernetes binds "
    "nothing to system:bootstrappers, EKS binds its node bootstrap role "
    "(eks:node-bootstrapper) to both groups, and the Node authorizer reads system:nodes and "
    "the system:node: username, both kept; EKS makes this same move for managed node groups "
    "when the cluster leaves CONFIG_MAP. The proof compares what RBAC gives both identities: "
    "a binding of your own to a dropped group shows as lost"
)
"""Why dropping a node mapping's other groups is, on EKS, no loss (reference E.6)."""


@dataclass(frozen=True, slots=True)
class NotCarried:
    """A mapping access entries cannot express: why, and what to do by hand."""

    source: str
    what: str
    reason: str
    manual: str


@dataclass(frozen=True, slots=True)
class AccessMigration:
    """The plan: entries to create, mappings left alone (an entry exists), and the rest."""

    entries: tuple[PlannedEntry, ...]
    already: tuple[str, ...]
    not_carried: tuple[NotCarried, ...]

    @property
    def api_mode_possible(self) -> bool:
        """Whether the cluster could leave aws-auth behind (``API``) without losing a
        mapping: only when everything was carried."""
        return not self.not_carried


def plan_access_entries(
    aws_auth: AwsAuthMap,
    existing: Sequence[str],
    resolve: Callable[[str], str | None],
) -> AccessMigration:
    """The migration of ``aws_auth`` given the principals that have entries (``existing``,
    ARNs as EKS shows them) and IAM (``resolve``). Mappings of one principal: the last wins,
    as the authenticator overwrites earlier ones."""
    entries: list[PlannedEntry] = []
    already: list[str] = []
    left: list[NotCarried] = []
    have = {arn.lower() for arn in existing}
    for source, mapping in _effective(aws_auth):
        outcome = _one(source, mapping, have, resolve)
        if isinstance(outcome, PlannedEntry):
            entries.append(outcome)
        elif isinstance(outcome, NotCarried):
            left.append(outcome)
        else:
            already.append(outcome)
    left += [
        NotCarried(
            f"mapAccounts[{index}]",
            account,
            "access entries have no account-wide mapping: each principal needs its own entry",
            f"create an access entry for each principal of account {account} that must reach "
            "the cluster, then remove the account from mapAccounts",
        )
        for index, account in enumerate(aws_auth.accounts)
    ]
    return AccessMigration(tuple(entries), tuple(already), tuple(left))


Mapping_ = RoleMapping | UserMapping


def _effective(aws_auth: AwsAuthMap) -> list[tuple[str, Mapping_]]:
    """Each principal's mapping the authenticator uses (the last of its key), in file order."""
    last: dict[str, tuple[str, Mapping_]] = {}
    for index, role in enumerate(aws_auth.roles):
        last[f"role:{role.key}"] = (f"mapRoles[{index}]", role)
    for index, user in enumerate(aws_auth.users):
        last[f"user:{user.user_arn.lower()}"] = (f"mapUsers[{index}]", user)
    return list(last.values())


def _one(
    source: str, mapping: Mapping_, have: set[str], resolve: Callable[[str], str | None]
) -> PlannedEntry | NotCarried | str:
    if isinstance(mapping, RoleMapping) and mapping.sso is not None:
        return NotCarried(
            source,
            mapping.key,
            "an SSO permission-set pattern matches roles by a name with a random suffix; an "
            "access entry names one principal exactly",
            "create an access entry for the permission set's role in that account "
            "(arn:aws:iam::ACCOUNT:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_...)",
        )
    written = mapping.role_arn if isinstance(mapping, RoleMapping) else mapping.user_arn
    if ":role/aws-service-role/" in written:
        return NotCarried(
            source,
            written,
            "access entries cannot name a service-linked role",
            "keep it in aws-auth",
        )
    principal = resolve(written)
    if principal is None:
        return NotCarried(
            source,
            written,
            "the principal no longer exists in IAM (an access entry needs an existing one)",
            "remove the mapping from aws-auth, or create the principal again first",
        )
    if principal.lower() in have or written.lower() in have:
        return principal
    return _entry(source, mapping, principal)


def _entry(source: str, mapping: Mapping_, principal: str) -> PlannedEntry | NotCarried:
    groups = mapping.groups
    if mapping.username == NODE_USERNAME:
        kind = EC2_WINDOWS if WINDOWS_GROUP in groups else EC2_LINUX
        dropped = tuple(g for g in groups if g not in NODE_GROUPS)
        return PlannedEntry(principal, kind, None, (), (), source, dropped)
    if mapping.username == FARGATE_USERNAME:
        return NotCarried(
            source,
            principal,
            "a Fargate pod execution role: EKS creates its FARGATE_LINUX entry itself when the "
            "cluster's access entries are turned on",
            "check that the entry exists after the mode change (aws eks list-access-entries)",
        )
    system = [g for g in groups if g.startswith("system:") and g != MASTERS]
    if system:
        return NotCarried(
            source,
            principal,
            f"access entries cannot grant the group(s) {', '.join(system)}",
            "keep the mapping in aws-auth, or bind its permissions to a group of your own",
        )
    username = mapping.username or None
    problem = _username_problem(username)
    if problem is not None:
        return NotCarried(source, principal, problem, "change the username, or keep the mapping")
    policies = (CLUSTER_ADMIN_POLICY.arn,) if MASTERS in groups else ()
    kept = tuple(g for g in groups if g != MASTERS)
    return PlannedEntry(principal, STANDARD, username, kept, policies, source)


def _username_problem(username: str | None) -> str | None:
    """Why an access entry would refuse ``username`` (E.2), or ``None``."""
    if username is None:
        return None
    if username.startswith(RESERVED_PREFIXES):
        return f"an access entry's username may not start with {username.split(':', 1)[0]}:"
    rest = username.replace(":" + ENTRY_TEMPLATE, "")
    if "{{" in rest:
        return (
            "the username holds a template access entries do not take (only "
            f"{ENTRY_TEMPLATE}, after a colon)"
        )
    return None
