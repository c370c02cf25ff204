"""IRSA → Pod Identity, planned from the world as it is (pure).

Per service account (every IRSA-annotated one of the cluster, or those named): its IRSA
role (the ``eks.amazonaws.com/role-arn`` annotation) becomes its Pod Identity association
role, and

- the role's trust gets the Pod Identity statement for this service account, once
  (:func:`~.pod_identity_documents.pods_statement`); the web-identity statement stays
  unless ``remove_irsa`` (then only this service account's ``:sub`` goes, and its
  annotation);
- the association ``(cluster, namespace, service account) → role`` is made, with
  ``targetRoleArn`` when ``auto`` and the role's sessions go on to exactly one role of
  another account and nothing else (:func:`choose_target`);
- every later ``sts:AssumeRole`` of the chain gets ``sts:TagSession`` where it lacks it
  (:mod:`.pod_identity_reach`);
- the pod's AWS config (a spec's ``awsConfigMap``, which kubetrust wrote) moves from
  ``web_identity_token_file`` to the container credentials (:mod:`.pod_identity_config`).

Skipped, each with its rule and reason, never silently: service accounts that are not
there, not IRSA, owned by an EKS add-on (an add-on's ``serviceAccountRoleArn``, or an
add-on's well-known service account — eksctl #7752 migrated them), whose role is missing
or in another account (an association role must be in the cluster's account, reference
F.1), or already associated with another role.

A rerun plans from the world after the first run: statements already there, associations
already made with the same role, configs already moved are no changes (eksctl #7753 was a
409 on a rerun).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors
from kubetrust.migrate import pod_identity_config as config
from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate import pod_identity_reach as reaching
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, ServiceAccount
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology
from kubetrust.provision import documents

TARGET_AUTO = "auto"
TARGET_NONE = "none"
TARGET_MODES = (TARGET_AUTO, TARGET_NONE)

WELL_KNOWN_ADDON_ACCOUNTS: Mapping[tuple[str, str], str] = {
    ("kube-system", "aws-node"): "vpc-cni",
    ("kube-system", "ebs-csi-controller-sa"): "aws-ebs-csi-driver",
    ("kube-system", "efs-csi-controller-sa"): "aws-efs-csi-driver",
    ("kube-system", "s3-csi-driver-sa"): "aws-mountpoint-s3-csi-driver",
    ("amazon-cloudwatch", "cloudwatch-agent"): "amazon-cloudwatch-observability",
}
"""Service accounts EKS add-ons create: an add-on's IRSA role is moved through the add-on
(``aws eks update-addon --pod-identity-associations``), never by editing its service
account, which the add-on owns (eksctl #7752). Named explicitly, they are migrated."""


@dataclass(frozen=True, slots=True)
class Request:
    """What to migrate and how (the CLI's options, or a spec)."""

    cluster: str
    service_accounts: tuple[tuple[str, str], ...] = ()
    """``(namespace, name)``; empty: every IRSA-annotated service account of the cluster."""
    target_role_arn: str = TARGET_AUTO
    remove_irsa: bool = False
    addon_roles: Mapping[str, str] = field(default_factory=dict)
    """Add-on name → its ``serviceAccountRoleArn``."""
    pod_config: config.PodConfig | None = None
    spec_federation: str | None = None
    no_target: frozenset[tuple[str, str]] = frozenset()
    """Service accounts ``auto`` must plan without a target role (the proof showed a loss)."""


@dataclass(frozen=True, slots=True)
class Skip:
    namespace: str
    name: str
    rule: str
    reason: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Migration:
    """One service account moved: its association and why it has (no) target role."""

    namespace: str
    name: str
    role_arn: str
    target_role_arn: str | None
    targets: tuple[str, ...]
    """The roles of other accounts the role's sessions assume (the chain's targets)."""
    target_reason: str
    association_exists: bool
    annotated: bool

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class TrustEdit:
    """A role's trust: statements to add, ``:sub`` values to drop (``remove_irsa``)."""

    account: str
    role_name: str
    role_arn: str
    add: tuple[dict[str, Any], ...] = ()
    drop: tuple[tuple[str, str, str], ...] = ()
    """``(provider ARN, issuer host/path, subject)``."""
    why: str = ""

    def edited(self, trust: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``trust`` after this edit, and what could not be narrowed."""
        result = docs.add_statements(trust, self.add)
        notes: list[str] = []
        for provider, host, subject in self.drop:
            result, found = docs.drop_subject(result, provider, host, subject)
            notes += found
        return result, notes


@dataclass(frozen=True, slots=True)
class PolicyEdit:
    """``sts:TagSession`` on these roles, in the caller's inline policy
    :data:`~.pod_identity_documents.TAG_SESSION_POLICY`."""

    account: str
    role_name: str
    role_arn: str
    resources: tuple[str, ...]
    why: str

    def edited(self, current: Mapping[str, Any] | None) -> dict[str, Any]:
        present = _resources(current) if current is not None else ()
        return docs.tag_session_policy(sorted({*present, *self.resources}))


def _resources(document: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for statement in docs.statements(document):
        value = statement.get("Resource")
        found += [value] if isinstance(value, str) else [str(v) for v in value or ()]
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Plan:
    account: str
    region: str
    cluster: str
    cluster_arn: str
    agent: str
    """``present``, ``install`` (missing) or ``unknown`` (apply looks)."""
    migrations: tuple[Migration, ...] = ()
    skipped: tuple[Skip, ...] = ()
    trust_edits: tuple[TrustEdit, ...] = ()
    policy_edits: tuple[PolicyEdit, ...] = ()
    irsa_edits: tuple[TrustEdit, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    """Service accounts whose ``eks.amazonaws.com/role-arn`` goes (``remove_irsa``)."""
    config_edit: config.ConfigEdit | None = None
    notes: tuple[str, ...] = ()
    before: Topology = field(default_factory=Topology, compare=False, repr=False)

    @property
    def associations(self) -> tuple[Migration, ...]:
        return tuple(m for m in self.migrations if not m.association_exists)

    @property
    def has_changes(self) -> bool:
        return bool(
            self.agent == "install"
            or self.associations
            or self.trust_edits
            or self.policy_edits
            or self.irsa_edits
            or self.annotations
            or self.config_edit
        )


# ---------------------------------------------------------------------- the plan


def plan(before: Topology, request: Request) -> Plan:
    """The migration of ``request`` over the world ``before`` (module doc)."""
    if request.target_role_arn not in TARGET_MODES:
        raise errors.InputError(f"--target-role-arn must be one of {', '.join(TARGET_MODES)}")
    cluster = before.cluster(request.cluster)
    info = cluster.info
    explicit = bool(request.service_accounts)
    wanted = request.service_accounts or _annotated(cluster)
    migrations: list[Migration] = []
    skipped: list[Skip] = []
    for namespace, name in wanted:
        found = _classify(before, cluster, request, namespace, name, explicit)
        (migrations if isinstance(found, Migration) else skipped).append(found)  # type: ignore[arg-type]
    edits = _trust_edits(before, cluster, migrations)
    policies, gap_edits = _tag_session_edits(before, migrations)
    irsa = _irsa_edits(before, cluster, migrations) if request.remove_irsa else []
    annotations = [(m.namespace, m.name) for m in migrations if request.remove_irsa and m.annotated]
    edit = config.rewrite(request.pod_config, migrations_roles(migrations))
    return Plan(
        account=info.account,
        region=info.region,
        cluster=info.name,
        cluster_arn=info.arn,
        agent=_agent(cluster),
        migrations=tuple(migrations),
        skipped=tuple(skipped),
        trust_edits=tuple(_merged([*edits, *gap_edits])),
        policy_edits=tuple(policies),
        irsa_edits=tuple(irsa),
        annotations=tuple(annotations),
        config_edit=edit,
        notes=tuple(_notes(request, migrations, edit)),
        before=before,
    )


def migrations_roles(migrations: list[Migration]) -> dict[str, str | None]:
    """Role → its target role (``None``: the pod chains itself), for the config rewrite."""
    return {m.role_arn: m.target_role_arn for m in migrations}


def _annotated(cluster: Cluster) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(key for key, sa in cluster.service_accounts.items() if sa.role_arn))


def _agent(cluster: Cluster) -> str:
    present = cluster.has_addon(POD_IDENTITY_AGENT_ADDON)
    return "unknown" if present is None else "present" if present else "install"


def _classify(
    before: Topology,
    cluster: Cluster,
    request: Request,
    namespace: str,
    name: str,
    explicit: bool,
) -> Migration | Skip:
    """The service account's migration, or why it is skipped (module doc)."""
    account = cluster.service_accounts.get((namespace, name))
    association = cluster.association_for(namespace, name)
    skip = _skip_reason(cluster, request, account, association, explicit)
    if skip is not None:
        return Skip(namespace, name, *skip)
    role_arn = (account.role_arn if account else None) or (
        association.role_arn if association else None
    )
    if role_arn is None:
        return Skip(namespace, name, "not-irsa", "no eks.amazonaws.com/role-arn annotation")
    role = before.role(role_arn)
    if role is None:
        return Skip(namespace, name, "role-missing", f"its role `{role_arn}` does not exist")
    if role.account != cluster.info.account:
        return Skip(
            namespace,
            name,
            "cross-account-role",
            f"its role is in account {role.account}, but a Pod Identity association role must "
            f"be in the cluster's account {cluster.info.account} (reference F.1): create a role "
            f"there trusting {documents.POD_IDENTITY_ACTIONS} for pods.eks.amazonaws.com and "
            f"associate it with targetRoleArn `{role_arn}` (not done automatically)",
        )
    if association is not None and association.role_arn not in (None, role.arn):
        return Skip(
            namespace,
            name,
            "associated",
            f"already associated with `{association.role_arn}` "
            f"({association.association_id or 'id unknown'}): not changed",
        )
    hops = reaching.reach(before, role)
    targets = tuple(r.arn for r in reaching.first_hops(hops, role))
    if association is not None:
        target, why = association.target_role_arn, "the existing association's"
    else:
        target, why = choose_target(before, request, role, targets, (namespace, name))
    return Migration(
        namespace,
        name,
        role.arn,
        target,
        targets,
        why,
        association_exists=association is not None,
        annotated=bool(account and account.role_arn),
    )


def _skip_reason(
    cluster: Cluster,
    request: Request,
    account: ServiceAccount | None,
    association: Any,
    explicit: bool,
) -> tuple[str, str] | None:
    if account is None and association is None:
        return "not-found", "no such service account in the cluster"
    role_arn = account.role_arn if account else None
    owners = [name for name, arn in request.addon_roles.items() if role_arn and arn == role_arn]
    if owners:
        return (
            "addon-role",
            f"its role is the serviceAccountRoleArn of the EKS add-on `{owners[0]}`: move it "
            f"with `aws eks update-addon --cluster-name {cluster.name} --addon-name "
            f"{owners[0]} --pod-identity-associations ...` (the add-on owns the service "
            "account; eksctl #7752 broke add-ons this way)",
        )
    if association is not None and association.owner_arn:
        return "addon-association", f"its association is owned by `{association.owner_arn}`"
    addon = WELL_KNOWN_ADDON_ACCOUNTS.get(
        (account.namespace, account.name) if account else ("", "")
    )
    if addon and not explicit:
        return (
            "well-known-addon",
            f"the service account of the EKS add-on `{addon}`: move it through the add-on "
            "(name it with --serviceaccount to migrate it anyway, e.g. a self-managed install)",
        )
    return None


def choose_target(
    before: Topology,
    request: Request,
    role: Role,
    targets: tuple[str, ...],
    key: tuple[str, str],
) -> tuple[str | None, str]:
    """The association's ``targetRoleArn`` under ``--target-role-arn``, and why.

    ``auto`` gives the one target only when nothing else of the role is in use: with a
    target role the pod holds *only* the target's session (EKS makes both hops, reference
    F.4), so permissions of the role itself, or a pod profile acting as the role, would be
    lost — the proof would show a loss nobody asked for. Then, and with several targets
    (one association per service account, one target per association, F.5), there is no
    target role: the pod keeps chaining itself, from the Pod Identity session.
    """
    if request.target_role_arn == TARGET_NONE:
        return None, "--target-role-arn none"
    if key in request.no_target:
        return None, "with a target role the proof shows a loss (see below): the pod chains itself"
    if not targets:
        return None, "the role assumes no role of another account"
    if len(targets) > 1:
        return None, (
            f"the role reaches {len(targets)} target roles; an association has at most one, "
            "so the pod keeps chaining itself from the Pod Identity session (AWS config "
            "profiles with `credential_source = EcsContainer`)"
        )
    own = reaching.own_permissions(before, role)
    if own:
        return None, (
            f"the role also has permissions of its own ({', '.join(own[:3])}) that a "
            "targetRoleArn association would take from the pod"
        )
    acting = config.profiles_acting_as(request.pod_config, role.arn)
    if acting:
        return None, (
            f"the pod's AWS config profile `{acting[0]}` acts as the role itself, which a "
            "targetRoleArn association would take from the pod"
        )
    return targets[0], "the role's only use is assuming this one target role"


# ---------------------------------------------------------------------- the edits


def _trust(role: Role) -> dict[str, Any]:
    if not role.trust_text:
        problem = role.trust_problem or "missing"
        raise errors.InputError(f"role `{role.arn}`: its trust policy cannot be read ({problem})")
    loaded: dict[str, Any] = json.loads(role.trust_text)
    return loaded


def _trust_edits(
    before: Topology, cluster: Cluster, migrations: list[Migration]
) -> list[TrustEdit]:
    edits: list[TrustEdit] = []
    for migration in migrations:
        role = before.role(migration.role_arn)
        assert role is not None  # INVARIANT: _classify checked it
        statement = docs.pods_statement(
            cluster.info.account, cluster.info.arn, migration.namespace, migration.name
        )
        if not docs.contains(_trust(role), statement):
            why = f"Pod Identity for {migration.key} (reference F.1)"
            edits.append(TrustEdit(role.account, role.name, role.arn, (statement,), why=why))
    return edits


def _tag_session_edits(
    before: Topology, migrations: list[Migration]
) -> tuple[list[PolicyEdit], list[TrustEdit]]:
    """``sts:TagSession`` where the new path's hops lack it (:mod:`.pod_identity_reach`)."""
    trusts: dict[str, TrustEdit] = {}
    policies: dict[str, PolicyEdit] = {}
    for migration in migrations:
        role = before.role(migration.role_arn)
        assert role is not None  # INVARIANT: _classify checked it
        for gap in reaching.tag_session_gaps(before, reaching.reach(before, role)):
            callee, caller = gap.hop.role, gap.hop.caller
            why = f"`{caller.name}`'s Pod Identity session carries transitive tags (B.6, F.4)"
            if gap.trust:
                statement = docs.tag_session_statement(caller.arn)
                edit = TrustEdit(callee.account, callee.name, callee.arn, (statement,), why=why)
                trusts[f"{callee.arn} {caller.arn}"] = edit
            if gap.identity:
                known = policies.get(caller.arn)
                resources = (*(known.resources if known else ()), callee.arn)
                policies[caller.arn] = PolicyEdit(
                    caller.account, caller.name, caller.arn, tuple(sorted(set(resources))), why
                )
    return list(policies.values()), list(trusts.values())


def _irsa_edits(before: Topology, cluster: Cluster, migrations: list[Migration]) -> list[TrustEdit]:
    """``remove_irsa``: this service account's ``:sub`` out of each role's trust."""
    issuer = cluster.info.issuer
    if not issuer:
        return []
    provider = documents.oidc_provider_arn(cluster.info.account, issuer)
    host = documents.issuer_host_path(issuer)
    edits: list[TrustEdit] = []
    for migration in migrations:
        role = before.role(migration.role_arn)
        assert role is not None  # INVARIANT: _classify checked it
        subject = f"system:serviceaccount:{migration.namespace}:{migration.name}"
        drop = ((provider, host, subject),)
        edit = TrustEdit(role.account, role.name, role.arn, drop=drop, why="--remove-irsa")
        edited, _ = edit.edited(_trust(role))
        if not docs.same(edited, _trust(role)):
            edits.append(edit)
    return _merged(edits)


def _merged(edits: list[TrustEdit]) -> list[TrustEdit]:
    """One edit per role, its additions and drops together, in first-seen order."""
    merged: dict[str, TrustEdit] = {}
    for edit in edits:
        known = merged.get(edit.role_arn)
        if known is None:
            merged[edit.role_arn] = edit
            continue
        whys = known.why if edit.why in known.why else f"{known.why}; {edit.why}"
        merged[edit.role_arn] = TrustEdit(
            known.account,
            known.role_name,
            known.role_arn,
            known.add + edit.add,
            known.drop + edit.drop,
            whys,
        )
    return list(merged.values())


def _notes(
    request: Request, migrations: list[Migration], edit: config.ConfigEdit | None
) -> list[str]:
    notes: list[str] = []
    if request.spec_federation == "chained" and migrations:
        notes.append(
            "the spec still says `federation: chained`: its next `kubetrust apply` would "
            "undo this migration (drop the Pod Identity statements, rewrite the pod's AWS "
            "config for web identity) — keep the spec out of apply, or move it to "
            "`federation: podIdentity` and check `kubetrust plan` first"
        )
    if edit is not None:
        notes += list(edit.notes)
    if any(m.target_role_arn for m in migrations if not m.association_exists):
        notes.append(
            "with a targetRoleArn the pod's default credentials are the target role's: a "
            "pod that assumes the target itself (a profile with source_profile) must drop "
            "that step"
        )
    return notes
