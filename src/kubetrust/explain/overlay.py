"""IaC inputs over a bundle or live snapshot: the world as it will be after apply.

Each :class:`~kubetrust.iac.model.IacWorld` is loaded like any world (written as a bundle by
:mod:`kubetrust.explain.worlds` and read back by :mod:`kubetrust.explain.bundle`, so its
documents go through the very parsers a real export does), then laid over the base, thing
by thing: a role, managed policy, OIDC provider, cluster, aws-auth ConfigMap, access entry,
Pod Identity association or service account the input declares replaces the base's of the
same key; one it deletes is removed; everything else of the base stays. Parts marked
``partial`` (an input that plans policies for a role it does not declare, access policies
for an entry, entries for a cluster) are added to the base's thing instead of replacing it.
``base`` ``None``: the inputs alone.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubetrust.explain import bundle, worlds
from kubetrust.iac import model
from kubetrust.iac.model import IacWorld
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, AccessEntry, OidcProvider
from kubetrust.model.iam import AccountIam, Problem, Role
from kubetrust.model.topology import Cluster, Topology

__all__ = ["apply_overlay", "planned_addons", "world_topology"]

_EMPTY_TRUST = {"Version": "2012-10-17", "Statement": []}
_MARKS = ("partial", "removed_policies", "removed_managed", "managed_exclusive", "inline_exclusive")


def apply_overlay(base: Topology | None, worlds_in: Sequence[IacWorld]) -> Topology:
    """``base`` with each world laid over it in order (module doc)."""
    topology = base if base is not None else Topology()
    for world in worlds_in:
        topology = _lay(topology, world, world_topology(world.world))
    return topology


def world_topology(world: Mapping[str, Any]) -> Topology:
    """A world (with ``partial`` marks) loaded as a topology of its own."""
    clean = _unmarked(world)
    if not clean.get("accounts") and not clean.get("clusters"):
        return Topology()
    with tempfile.TemporaryDirectory(prefix="kubetrust-iac-") as scratch:
        root = worlds.write_bundle(clean, Path(scratch) / "bundle")
        loaded = bundle.load_bundle([root])
    scratch_prefix = f"{root}/"
    problems = [
        dataclasses.replace(p, where=p.where.replace(scratch_prefix, "")) for p in loaded.problems
    ]
    return dataclasses.replace(loaded, problems=tuple(problems))


def _unmarked(world: Mapping[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(dict(world))
    for account in clean.get("accounts") or []:
        for role in account.get("roles") or []:
            role.setdefault("trust", _EMPTY_TRUST)
            for mark in _MARKS:
                role.pop(mark, None)
    for cluster in clean.get("clusters") or []:
        cluster.pop("partial", None)
        addons = planned_addons(None, cluster, existed=False)
        for mark in ("addons", "removed_addons", "addons_complete"):
            cluster.pop(mark, None)
        if addons is not None:
            cluster["addons"] = list(addons)
        for entry in cluster.get("access_entries") or []:
            entry.pop("partial", None)
    return clean


def planned_addons(
    base: tuple[str, ...] | None, cluster: Mapping[str, Any], *, existed: bool
) -> tuple[str, ...] | None:
    """A cluster's add-ons after an input's changes (reference F.2: the Pod Identity Agent
    is the ``eks-pod-identity-agent`` add-on); ``base``: those the cluster had before
    (``None``: unknown), ``existed``: whether the inputs underneath hold the cluster.

    Known before: those, plus the input's, minus those it deletes (the snapshot's stand).
    Unknown before: an input that creates the cluster (``addons_complete``) where nothing
    underneath holds it knows them all; otherwise the input tells only of what it
    declares — an agent add-on it creates or deletes decides the agent, anything else
    leaves the add-ons unknown (the agent may be installed outside the input: claiming it
    missing would be a guess)."""
    added = [str(name) for name in cluster.get("addons") or []]
    removed = {str(name) for name in cluster.get("removed_addons") or []}
    if base is not None:
        kept = [name for name in base if name not in removed]
        return (*kept, *(n for n in added if n not in kept and n not in removed))
    present = tuple(name for name in added if name not in removed)
    complete = bool(cluster.get("addons_complete")) and not existed
    if complete or POD_IDENTITY_AGENT_ADDON in (*added, *removed):
        return present
    return None


# ---------------------------------------------------------------------- IAM
def _lay(base: Topology, world: IacWorld, layer: Topology) -> Topology:
    deleted = world.deleted
    accounts = dict(base.accounts)
    declared = {str(a["id"]): a for a in world.world.get("accounts") or []}
    for account_id, account in declared.items():
        accounts[account_id] = _account(
            accounts.get(account_id) or AccountIam(account_id),
            layer.accounts.get(account_id) or AccountIam(account_id),
            account,
            deleted,
        )
    providers = _providers(base, layer, deleted)
    clusters = _clusters(base, layer, world)
    return Topology.build(
        [_without_deleted_roles(a, deleted) for a in accounts.values()],
        providers=providers,
        clusters=clusters,
        org=base.org,
        resource_policies=list(base.resource_policies.values()),
        profiles=base.profiles,
        problems=[*base.problems, *(_problem_located(p, world) for p in layer.problems)],
    )


def _problem_located(problem: Problem, world: IacWorld) -> Problem:
    """A problem of the loaded world (``clusters/NAME/aws-auth.yaml: ...``) located at the
    resource that declared it."""
    parts = problem.where.split("/")
    if len(parts) >= 3 and parts[0] == "clusters":
        for key, location in world.sources.locations.items():
            if key.startswith("aws-auth:") and key.endswith(f":cluster/{parts[1]}"):
                rest = problem.where.split(": ", 1)[1] if ": " in problem.where else ""
                return dataclasses.replace(problem, where=f"{location.describe()} {rest}".strip())
    return problem


def _account(
    base: AccountIam, layer: AccountIam, declared: Mapping[str, Any], deleted: frozenset[str]
) -> AccountIam:
    roles = dict(base.roles)
    for entry in declared.get("roles") or []:
        key = str(entry["name"]).lower()
        planned = layer.roles.get(key)
        if planned is None:
            continue
        roles[key] = (
            _partial_role(roles[key], planned, entry)
            if (entry.get("partial") and key in roles)
            else planned
        )
    policies = {**base.policies, **layer.policies}
    for policy_arn in deleted & policies.keys():
        del policies[policy_arn]
    return dataclasses.replace(base, roles=roles, policies=policies)


def _partial_role(base: Role, planned: Role, entry: Mapping[str, Any]) -> Role:
    """The base role with the policies an input plans for it (module doc)."""
    dropped = {*planned_names(planned), *(entry.get("removed_policies") or [])}
    inline = [d for d in base.inline if _inline_name(d.name) not in dropped]
    if "inline_exclusive" in entry:
        inline = [d for d in inline if _inline_name(d.name) in entry["inline_exclusive"]]
    attached = [a for a in base.attached if a not in (entry.get("removed_managed") or [])]
    if entry.get("managed_exclusive"):
        attached = []
    attached += [a for a in planned.attached if a not in attached]
    return dataclasses.replace(base, inline=(*inline, *planned.inline), attached=tuple(attached))


def planned_names(role: Role) -> list[str]:
    """The names of the inline policies an input plans for a role, as IAM names them."""
    return [_inline_name(document.name) for document in role.inline]


def _inline_name(document_name: str) -> str:
    """An inline policy's IAM name: the loader names its document ``inline NAME``."""
    return document_name.removeprefix("inline ")


def _without_deleted_roles(account: AccountIam, deleted: frozenset[str]) -> AccountIam:
    gone = [key for key, role in account.roles.items() if role.arn in deleted]
    if not gone:
        return account
    return dataclasses.replace(
        account, roles={k: v for k, v in account.roles.items() if k not in gone}
    )


def _providers(base: Topology, layer: Topology, deleted: frozenset[str]) -> list[OidcProvider]:
    found: dict[tuple[str, str], OidcProvider] = {}
    for source in (base, layer):
        for providers in source.providers.values():
            for provider in providers:
                found[(provider.account, provider.url)] = provider
    return [p for p in found.values() if p.arn not in deleted]


# ---------------------------------------------------------------------- EKS
def _clusters(base: Topology, layer: Topology, world: IacWorld) -> list[Cluster]:
    declared = {
        f"arn:aws:eks:{c['region']}:{c['account']}:cluster/{c['name']}": c
        for c in world.world.get("clusters") or []
    }
    by_arn = {c.info.arn: c for c in base.clusters}
    for planned in map(lambda c: _located(c, world), layer.clusters):
        entry = declared.get(planned.info.arn, {})
        existing = by_arn.get(planned.info.arn)
        by_arn[planned.info.arn] = (
            _cluster(existing, planned, entry, world.deleted) if existing else planned
        )
    return [
        _deleted_parts(cluster, world.deleted)
        for arn, cluster in by_arn.items()
        if arn not in world.deleted
    ]


def _cluster(
    base: Cluster, planned: Cluster, entry: Mapping[str, Any], deleted: frozenset[str]
) -> Cluster:
    changes: dict[str, Any] = {}
    if not entry.get("partial"):
        changes["info"] = planned.info
    if "aws_auth" in entry:
        changes["aws_auth"] = planned.aws_auth
        changes["aws_auth_problems"] = planned.aws_auth_problems
        changes["aws_auth_source"] = planned.aws_auth_source
    entries = {e.principal_arn: e for e in base.access_entries}
    partial = {e["principalArn"] for e in entry.get("access_entries") or [] if e.get("partial")}
    for access in planned.access_entries:
        existing = entries.get(access.principal_arn)
        if access.principal_arn in partial and existing is not None:
            entries[access.principal_arn] = _with_policies(existing, access)
        else:
            entries[access.principal_arn] = access
    changes["access_entries"] = tuple(entries.values())
    if "pod_identity_associations" in entry:
        associations = {a.key: a for a in base.pod_identity_associations}
        associations.update({a.key: a for a in planned.pod_identity_associations})
        changes["pod_identity_associations"] = tuple(associations.values())
        changes["associations_known"] = True
    changes["service_accounts"] = {**base.service_accounts, **planned.service_accounts}
    changes["addons"] = planned_addons(base.addons, entry, existed=True)
    return dataclasses.replace(base, **changes)


def _located(cluster: Cluster, world: IacWorld) -> Cluster:
    """Where the input declared the cluster's aws-auth and service accounts, in place of
    the scratch bundle's file names (findings and explanations name them)."""
    cluster_arn = cluster.info.arn
    found = world.sources.locations.get(model.aws_auth_key(cluster_arn))
    source = found.describe() if found is not None else cluster.aws_auth_source
    accounts = {}
    for key, account in cluster.service_accounts.items():
        where = world.sources.locations.get(model.service_account_key(cluster_arn, *key))
        accounts[key] = dataclasses.replace(account, source=where.describe()) if where else account
    return dataclasses.replace(cluster, aws_auth_source=source, service_accounts=accounts)


def _with_policies(base: AccessEntry, planned: AccessEntry) -> AccessEntry:
    mine = {p[0] for p in planned.policies}
    kept = tuple(p for p in base.policies if p[0] not in mine)
    return dataclasses.replace(base, policies=(*kept, *planned.policies))


def _deleted_parts(cluster: Cluster, deleted: frozenset[str]) -> Cluster:
    """The cluster without the entries, access policies, associations and service
    accounts the input deletes."""
    cluster_arn = cluster.info.arn
    entries = []
    for entry in cluster.access_entries:
        if model.access_entry_key(cluster_arn, entry.principal_arn) in deleted:
            continue
        policies = tuple(
            p
            for p in entry.policies
            if model.access_policy_key(cluster_arn, entry.principal_arn, p[0]) not in deleted
        )
        entries.append(dataclasses.replace(entry, policies=policies))
    associations = tuple(
        a
        for a in cluster.pod_identity_associations
        if model.association_key(cluster_arn, *a.key) not in deleted
    )
    accounts = {
        key: account
        for key, account in cluster.service_accounts.items()
        if model.service_account_key(cluster_arn, *key) not in deleted
    }
    aws_auth = cluster.aws_auth
    if model.aws_auth_key(cluster_arn) in deleted:
        aws_auth = None
    return dataclasses.replace(
        cluster,
        access_entries=tuple(entries),
        pod_identity_associations=associations,
        service_accounts=accounts,
        aws_auth=aws_auth,
    )
