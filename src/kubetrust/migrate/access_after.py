"""aws-auth → access entries: the world the plan leaves, and who is affected (issue 15).

Pure. From the world as it is (a :class:`~kubetrust.model.topology.Topology`, read as
explain reads it) and the plan (:mod:`.access_plan`), this module decides the whole
migration of one cluster (:class:`AccessMove`: entries, modes, the aws-auth edit) and builds
the world after it, so that :func:`kubetrust.migrate.equivalence.compare` can prove, with the
chain code explain uses, what every affected principal keeps.

Two facts of EKS that no API shows are modelled here (reference D.3, E.1):

- the **cluster creator** of a ``CONFIG_MAP`` cluster is ``system:masters`` through a mapping
  that appears nowhere, and EKS gives it an ``AmazonEKSClusterAdminPolicy`` access entry
  when the cluster leaves ``CONFIG_MAP``. The creator cannot be read; it is *assumed* to be
  the caller when aws-auth, which the caller read, does not map the caller. Both worlds then
  carry the creator's invisible mapping (:func:`with_creator`), and the world after also the
  entry EKS makes;
- the authentication modes go one way only (``CONFIG_MAP`` → ``API_AND_CONFIG_MAP`` →
  ``API``), one step per update: ``API`` needs the entries first, so it is the last step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kubetrust import arn, errors
from kubetrust.chain import kube_identity as kid
from kubetrust.migrate import access_plan
from kubetrust.migrate.access_plan import AccessMigration, PlannedEntry
from kubetrust.model.aws_auth import AwsAuthMap, RoleMapping, UserMapping
from kubetrust.model.eks import AccessEntry
from kubetrust.model.topology import Cluster, Topology
from kubetrust.model.vocabulary import (
    API_AND_CONFIG_MAP,
    AUTHENTICATION_MODES,
    CLUSTER_ADMIN_POLICY,
    CONFIG_MAP,
)

__all__ = [
    "AccessMove",
    "affected_principals",
    "creator_entry",
    "decide",
    "find_cluster",
    "iam_resolver",
    "mode_path",
    "principal_of_caller",
    "with_creator",
    "world_after",
]

MASTERS = "system:masters"


@dataclass(frozen=True, slots=True)
class AccessMove:
    """Everything one run decides for one cluster."""

    cluster: Cluster
    plan: AccessMigration
    modes: tuple[str, ...]
    """The authentication modes to pass through, in order (empty: the mode stays)."""
    remove_aws_auth: bool
    caller: str
    """The caller's IAM principal ARN (role path included when IAM is known)."""
    creator: str | None
    """The principal assumed to be the cluster's creator (module doc), or ``None``."""

    @property
    def mode_before(self) -> str:
        return self.cluster.info.authentication_mode

    @property
    def mode_after(self) -> str:
        return self.modes[-1] if self.modes else self.mode_before

    @property
    def removed_keys(self) -> frozenset[str]:
        """The aws-auth keys (lowercased ARNs) whose mappings the edit removes: the mappings
        migrated by this run, never the ones not carried."""
        if not self.remove_aws_auth or self.cluster.aws_auth is None:
            return frozenset()
        return frozenset(
            _key(_mapping_at(self.cluster.aws_auth, e.source)) for e in self.plan.entries
        )

    @property
    def nothing_to_do(self) -> bool:
        return not (self.plan.entries or self.modes or self.removed_keys)


def find_cluster(topology: Topology, name: str, account: str | None) -> Cluster:
    """The cluster ``name`` (of ``account`` when given). Several of that name without
    ``--account`` is an error that lists their accounts."""
    found = [c for c in topology.clusters if c.name == name and account in (None, c.info.account)]
    if not found:
        where = f" in account {account}" if account else ""
        known = ", ".join(sorted(f"{c.name} ({c.info.account})" for c in topology.clusters))
        raise errors.InputError(f"no cluster `{name}`{where} (known: {known or 'none'})")
    if len(found) > 1:
        accounts = ", ".join(sorted(c.info.account for c in found))
        raise errors.InputError(
            f"several accounts have a cluster `{name}` ({accounts}): pick one with --account"
        )
    return found[0]


def iam_resolver(topology: Topology) -> Callable[[str], str | None]:
    """aws-auth ARN → the ARN IAM holds (with the role's path: access entries need it,
    reference E.2), ``None`` when the principal does not exist. A principal of an account
    the inputs do not hold is taken as written: nothing says it is gone."""

    def resolve(written: str) -> str | None:
        try:
            parsed = arn.parse(written)
        except errors.InvalidArnError:
            return None
        if parsed.account not in topology.accounts:
            return written
        if parsed.resource_type == "role":
            role = topology.role(written)
            return role.arn if role is not None else None
        if parsed.resource_type == "user":
            user = topology.user(written)
            return user.arn if user is not None else None
        return None

    return resolve


def principal_of_caller(topology: Topology, caller_arn: str) -> str:
    """The IAM principal behind ``sts:GetCallerIdentity``'s ARN: a session's role (with
    its path when IAM is known), or the user."""
    try:
        canonical = arn.canonicalize(caller_arn)
    except errors.InvalidArnError:
        return caller_arn
    return iam_resolver(topology)(canonical) or canonical


def mode_path(current: str, requested: str | None, creates: bool) -> tuple[str, ...]:
    """The modes to go through (E.1): to ``requested`` one step at a time; without a
    request, to ``API_AND_CONFIG_MAP`` only when the cluster is ``CONFIG_MAP`` and entries
    are to be created (access-entry calls need it). Never backwards: a request below the
    current mode is an input error (EKS refuses it)."""
    order: list[str] = list(AUTHENTICATION_MODES)
    if requested is None:
        return (API_AND_CONFIG_MAP,) if current == CONFIG_MAP and creates else ()
    if order.index(requested) < order.index(current):
        raise errors.InputError(
            f"the cluster is in {current} mode: it cannot go back to {requested} (authentication "
            "modes change one way only, CONFIG_MAP → API_AND_CONFIG_MAP → API)"
        )
    return tuple(order[order.index(current) + 1 : order.index(requested) + 1])


def decide(
    topology: Topology,
    cluster: Cluster,
    *,
    caller_arn: str,
    requested_mode: str | None,
    remove_aws_auth: bool,
    ours: Sequence[str] = (),
) -> AccessMove:
    """The migration of ``cluster``. ``ours``: principals whose entries an unfinished run of
    this migration created (its backup says so); they are planned again, not left alone,
    so that a resumed run completes them."""
    if cluster.aws_auth is None:
        raise errors.InputError(
            f"the aws-auth ConfigMap of cluster `{cluster.name}` could not be read (see the "
            "warnings above): without it nothing can be migrated or proven"
        )
    mine = {p.lower() for p in ours}
    existing = [
        e.principal_arn for e in cluster.access_entries if e.principal_arn.lower() not in mine
    ]
    plan = access_plan.plan_access_entries(cluster.aws_auth, existing, iam_resolver(topology))
    caller = principal_of_caller(topology, caller_arn)
    modes = mode_path(cluster.info.authentication_mode, requested_mode, bool(plan.entries))
    creator = _assumed_creator(cluster, caller_arn, caller)
    return AccessMove(cluster, plan, modes, remove_aws_auth, caller, creator)


def _assumed_creator(cluster: Cluster, caller_arn: str, caller: str) -> str | None:
    """The caller, when the cluster is ``CONFIG_MAP`` and aws-auth does not map it (module
    doc); else ``None``."""
    if cluster.info.authentication_mode != CONFIG_MAP or cluster.aws_auth is None:
        return None
    chain = kid.mapper_chain(CONFIG_MAP, aws_auth=cluster.aws_auth)
    identity = kid.map_caller(chain, _caller(caller_arn, cluster.info.account))
    return caller if isinstance(identity, kid.NotMapped) else None


def _caller(caller_arn: str, account: str) -> kid.Caller:
    try:
        acct = arn.parse(caller_arn).account
    except errors.InvalidArnError:
        acct = account
    return kid.Caller.of(
        caller_arn, account=acct, principal_id="", session_name="kubetrust", access_key_id=""
    )


def affected_principals(move: AccessMove) -> list[str]:
    """Every principal the migration may change: each one aws-auth maps (roles and users;
    ``mapAccounts`` is reported as not carried), each one with an access entry, the
    creator and the caller — ARNs as IAM holds them, each once."""
    resolve_written = {e.source: e.principal_arn for e in move.plan.entries}
    found: list[str] = []
    aws_auth = move.cluster.aws_auth or AwsAuthMap()
    for index, role in enumerate(aws_auth.roles):
        if role.role_arn:
            found.append(resolve_written.get(f"mapRoles[{index}]", role.role_arn))
    for index, user in enumerate(aws_auth.users):
        found.append(resolve_written.get(f"mapUsers[{index}]", user.user_arn))
    found += [e.principal_arn for e in move.cluster.access_entries]
    found += [p for p in (move.creator, move.caller) if p]
    unique: dict[str, str] = {}
    for principal in found:
        unique.setdefault(kid.strip_role_path(principal).lower(), principal)
    return list(unique.values())


def creator_entry(creator: str) -> AccessEntry:
    """The entry EKS gives the creator when the cluster leaves ``CONFIG_MAP`` (E.1):
    ``STANDARD``, EKS's username, ``AmazonEKSClusterAdminPolicy`` on the cluster."""
    return AccessEntry(
        creator, None, (), access_plan.STANDARD, ((CLUSTER_ADMIN_POLICY.arn, "cluster", ()),)
    )


def with_creator(topology: Topology, cluster_arn: str, creator: str | None) -> Topology:
    """``topology`` with the creator's invisible ``system:masters`` mapping written into
    the cluster's aws-auth (D.3), so that the proof sees the access it has in
    ``CONFIG_MAP``; unchanged without a creator or when aws-auth maps it already."""
    if creator is None:
        return topology

    def change(cluster: Cluster) -> Cluster:
        aws_auth = cluster.aws_auth or AwsAuthMap()
        if _maps(aws_auth, creator):
            return cluster
        canonical = kid.strip_role_path(creator)
        if ":role/" in canonical:
            extra = RoleMapping(role_arn=canonical, username=creator, groups=(MASTERS,))
            mapped = dataclasses.replace(aws_auth, roles=(*aws_auth.roles, extra))
        else:
            user = UserMapping(user_arn=creator, username=creator, groups=(MASTERS,))
            mapped = dataclasses.replace(aws_auth, users=(*aws_auth.users, user))
        return dataclasses.replace(cluster, aws_auth=mapped)

    return _replace_cluster(topology, cluster_arn, change)


def _maps(aws_auth: AwsAuthMap, principal: str) -> bool:
    canonical = kid.strip_role_path(principal)
    return aws_auth.find_role(canonical) is not None or aws_auth.find_user(canonical) is not None


def world_after(before: Topology, move: AccessMove) -> Topology:
    """``before`` with the cluster as the migration leaves it: its mode, the planned entries
    (and the creator's, made by EKS when leaving ``CONFIG_MAP``), and aws-auth without the
    removed mappings."""

    def change(cluster: Cluster) -> Cluster:
        entries = list(cluster.access_entries) + [_entry(e) for e in move.plan.entries]
        have = {kid.strip_role_path(e.principal_arn).lower() for e in entries}
        leaves_config_map = move.mode_before == CONFIG_MAP and move.mode_after != CONFIG_MAP
        creator = move.creator if leaves_config_map else None
        if creator is not None and kid.strip_role_path(creator).lower() not in have:
            entries.append(creator_entry(creator))
        info = dataclasses.replace(cluster.info, authentication_mode=move.mode_after)
        aws_auth = _without(cluster.aws_auth, move.removed_keys)
        return dataclasses.replace(
            cluster, info=info, access_entries=tuple(entries), aws_auth=aws_auth
        )

    return _replace_cluster(before, move.cluster.info.arn, change)


def _entry(planned: PlannedEntry) -> AccessEntry:
    policies = tuple((arn_, "cluster", ()) for arn_ in planned.policies)
    return AccessEntry(
        planned.principal_arn,
        planned.username,
        planned.kubernetes_groups,
        planned.type,
        policies,
    )


def _without(aws_auth: AwsAuthMap | None, keys: frozenset[str]) -> AwsAuthMap | None:
    if aws_auth is None or not keys:
        return aws_auth
    return dataclasses.replace(
        aws_auth,
        roles=tuple(r for r in aws_auth.roles if _key(r) not in keys),
        users=tuple(u for u in aws_auth.users if _key(u) not in keys),
    )


def _key(mapping: RoleMapping | UserMapping) -> str:
    if isinstance(mapping, RoleMapping):
        return f"role:{mapping.key}"
    return f"user:{mapping.user_arn.lower()}"


def _mapping_at(aws_auth: AwsAuthMap, source: str) -> RoleMapping | UserMapping:
    """The mapping a plan's ``source`` (``mapRoles[2]``) names."""
    kind, _, rest = source.partition("[")
    index = int(rest.rstrip("]"))
    return aws_auth.roles[index] if kind == "mapRoles" else aws_auth.users[index]


def _replace_cluster(
    topology: Topology, cluster_arn: str, change: Callable[[Cluster], Cluster]
) -> Topology:
    clusters = tuple(change(c) if c.info.arn == cluster_arn else c for c in topology.clusters)
    return dataclasses.replace(topology, clusters=clusters)
