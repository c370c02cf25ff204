"""aws-auth → access entries, applied through the provisioning ports (issue 15, items 1, 4).

The steps, in the only safe order, each written ahead into the backup (:mod:`.journal`):

1. the mode to ``API_AND_CONFIG_MAP`` when the cluster is ``CONFIG_MAP`` (access-entry calls
   need it, E.1; undo ``authentication_mode``, which rollback cannot undo);
2. each access entry (undo ``access_entry``), with its access policies; a policy missing on
   an entry that exists already (a run killed between the two calls) is associated as its own
   step (undo ``access_policy``); an entry that exists with the planned content is left as it
   is, so a rerun writes nothing;
3. only when asked, the migrated mappings removed from aws-auth (undo ``config_map`` with the
   whole ``data`` before), refused when it would unmap the caller and no entry maps it;
4. the mode to ``API`` last, only when asked: by then every entry exists.

EKS may not see a principal IAM made a moment ago (reference H.1): ``CreateAccessEntry``'s
"invalid principal" answer is retried within a bounded budget (:mod:`kubetrust.provision.eventual`).

Resuming: a run killed half-way leaves a backup without :data:`FINISHED_FILE`. The next run
of the same migration finds it (:func:`unfinished_backup`), rebuilds the world as it was
before that run (:func:`world_before_backup`: its entries removed, its mode and aws-auth
restored from the undo records), plans from there — so the proof is of the whole migration —
and appends to the same backup, which rollback then undoes whole.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust.chain.access_entries import strip_role_path
from kubetrust.migrate import journal as journals
from kubetrust.migrate.access_after import AccessMove
from kubetrust.migrate.access_plan import STANDARD, PlannedEntry
from kubetrust.model.aws_auth import MAP_ROLES, MAP_USERS, parse_aws_auth
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import API, AUTHENTICATION_MODES
from kubetrust.provision import awsauth, eventual
from kubetrust.provision.handlers_propagation import PRINCIPAL_NOT_VISIBLE
from kubetrust.provision.ports import (
    AccessPolicy,
    AwsPort,
    ClusterRef,
    LiveAccessEntry,
    Ports,
    ProvisionError,
)
from kubetrust.yaml_codec import CODEC

__all__ = [
    "FINISHED_FILE",
    "KIND",
    "Applied",
    "apply_move",
    "finish",
    "migration_header",
    "unfinished_backup",
    "world_before_backup",
]

KIND = "access-entries"
FINISHED_FILE = "finished.json"
"""Written last into a backup whose run went to its end (re-check included)."""
TAGS = {"kubetrust.io/migrated-from": "aws-auth"}


@dataclass(frozen=True, slots=True)
class Applied:
    """One step as this run met it: made now (``changed``), or found done already."""

    what: str
    changed: bool


@dataclass
class _Run:
    ports: Ports
    move: AccessMove
    journal: journals.Journal
    progress: Callable[[str], None]
    budget: eventual.Budget
    steps: list[Applied] = dataclasses.field(default_factory=list)

    @property
    def coordinates(self) -> dict[str, str]:
        info = self.move.cluster.info
        return {"account": info.account, "region": info.region, "cluster": info.name}

    @property
    def aws(self) -> AwsPort:
        return self.ports.aws(self.move.cluster.info.account)

    def step(self, what: str, undo: Mapping[str, Any], change: Callable[[], None]) -> None:
        number = self.journal.started(what, {**undo, **self.coordinates})
        self.progress(f"{what} ...")
        change()
        self.journal.done(number)
        self.steps.append(Applied(what, True))

    def found(self, what: str) -> None:
        self.steps.append(Applied(what, False))


def migration_header(move: AccessMove, proof_before: Mapping[str, Any]) -> dict[str, Any]:
    """``migration.json``: what is migrated, where, and the proof's record of before."""
    info = move.cluster.info
    return {
        "kind": KIND,
        "account": info.account,
        "region": info.region,
        "cluster": info.name,
        "mode_before": move.mode_before,
        "modes": list(move.modes),
        "remove_aws_auth_entries": move.remove_aws_auth,
        "proof_before": dict(proof_before),
    }


def apply_move(
    ports: Ports,
    move: AccessMove,
    journal: journals.Journal,
    *,
    progress: Callable[[str], None] = lambda line: None,
    budget: eventual.Budget | None = None,
) -> list[Applied]:
    """Apply ``move`` (module doc); raises :class:`kubetrust.errors.KubetrustError` on the
    first failure (the backup says what was done)."""
    run = _Run(
        ports, move, journal, progress, budget or eventual.Budget(eventual.IAM_PROPAGATION_SECONDS)
    )
    for mode in move.modes:
        if mode != API:
            _mode(run, mode)
    for entry in move.plan.entries:
        _entry(run, entry)
    if move.removed_keys:
        _aws_auth(run)
    if API in move.modes:
        _mode(run, API)
    return run.steps


def _mode(run: _Run, mode: str) -> None:
    info = run.move.cluster.info
    live = run.aws.describe_cluster(info.region, info.name)
    if live is None:
        raise ProvisionError(
            f"cluster `{info.name}` not found in account {info.account} {info.region}"
        )
    current = live.authentication_mode
    what = f"authentication mode {current} → {mode} (one-way)"
    order: list[str] = list(AUTHENTICATION_MODES)
    if order.index(current) >= order.index(mode):
        run.found(f"authentication mode is {current} already")
        return
    undo = {"kind": "authentication_mode", "before": current, "after": mode}
    run.step(what, undo, lambda: run.aws.update_authentication_mode(info.region, info.name, mode))


def _entry(run: _Run, entry: PlannedEntry) -> None:
    info = run.move.cluster.info
    live = run.aws.get_access_entry(info.region, info.name, entry.principal_arn)
    what = f"access entry {entry.principal_arn} ({entry.type}, from {entry.source})"
    if live is None:
        undo = {"kind": "access_entry", "principal": entry.principal_arn}
        run.step(f"create {what}", undo, lambda: _create(run, entry))
        return
    _check_content(live, entry, info.name)
    missing = [p for p in entry.policies if p not in {a.arn for a in live.policies}]
    for policy in missing:
        _associate_step(run, entry.principal_arn, policy)
    if not missing:
        run.found(f"{what} exists already")


def _associate_step(run: _Run, principal: str, policy: str) -> None:
    undo = {"kind": "access_policy", "principal": principal, "policy_arn": policy}
    what = f"associate {policy} with {principal} (cluster scope)"
    run.step(what, undo, lambda: _associate(run, principal, policy))


def _create(run: _Run, entry: PlannedEntry) -> None:
    info = run.move.cluster.info

    def write() -> None:
        if entry.type == STANDARD:
            run.aws.create_access_entry(
                info.region,
                info.name,
                entry.principal_arn,
                entry.username,
                entry.kubernetes_groups,
                TAGS,
            )
        else:
            run.aws.create_node_access_entry(
                info.region, info.name, entry.principal_arn, entry.type, TAGS
            )

    def told(waited: float) -> None:
        run.progress(
            f"waiting for IAM to propagate {entry.principal_arn} to EKS (AWS is eventually "
            f"consistent) ... {waited:.0f} s"
        )

    eventual.retry_write(
        write,
        PRINCIPAL_NOT_VISIBLE.matches,
        run.budget,
        told,
        why=f"EKS does not see {entry.principal_arn} yet; IAM changes take seconds to propagate",
    )
    for policy in entry.policies:
        _associate(run, entry.principal_arn, policy)


def _associate(run: _Run, principal: str, policy: str) -> None:
    info = run.move.cluster.info
    run.aws.associate_access_policy(info.region, info.name, principal, AccessPolicy(policy))


def _check_content(live: LiveAccessEntry, entry: PlannedEntry, cluster: str) -> None:
    """An entry that exists must be the planned one (a resumed run's): one that differs was
    made by someone else, and is not kubetrust's to change."""
    if entry.type != STANDARD:
        return
    same_groups = sorted(live.groups) == sorted(entry.kubernetes_groups)
    same_name = entry.username is None or live.username == entry.username
    if not (same_groups and same_name):
        raise ProvisionError(
            f"cluster `{cluster}`: the access entry of {entry.principal_arn} exists with username "
            f"{live.username!r} and groups {list(live.groups)}, not the planned "
            f"{entry.username!r} {list(entry.kubernetes_groups)}; someone else made it — "
            "look at it (aws eks describe-access-entry) and run again"
        )


def _aws_auth(run: _Run) -> None:
    info = run.move.cluster.info
    ref = ClusterRef(info.account, info.region, info.name)
    kube = run.ports.kube(ref)
    current = kube.get_config_map(awsauth.NAMESPACE, awsauth.NAME)
    if current is None:
        run.found("aws-auth is gone already")
        return
    data = without_mappings(current.data, run.move.removed_keys, info.name)
    if data == dict(current.data):
        run.found("the migrated mappings are out of aws-auth already")
        return
    caller = strip_role_path(run.move.caller)
    if awsauth.locks_out(current.data, data, caller) and (
        run.aws.get_access_entry(info.region, info.name, run.move.caller) is None
    ):
        raise ProvisionError(
            f"removing the migrated mappings from aws-auth of `{info.name}` would unmap you "
            f"({run.move.caller}) and no access entry maps you: refused"
        )
    undo = {
        "kind": "config_map",
        "namespace": awsauth.NAMESPACE,
        "name": awsauth.NAME,
        "before": dict(current.data),
    }
    count = len(run.move.removed_keys)
    run.step(
        f"remove {count} migrated mapping(s) from kube-system/aws-auth",
        undo,
        lambda: kube.replace_config_map(dataclasses.replace(current, data=data)),
    )


def without_mappings(data: Mapping[str, str], keys: frozenset[str], cluster: str) -> dict[str, str]:
    """aws-auth ``data`` without the ``mapRoles``/``mapUsers`` items whose ARN (compared
    ignoring case) is one of ``keys`` (``role:ARN``/``user:ARN``, lowercased); every other
    item kept as read, and ``mapAccounts`` untouched."""
    result = dict(data)
    for field_name, item_field, prefix in (
        (MAP_ROLES, "rolearn", "role:"),
        (MAP_USERS, "userarn", "user:"),
    ):
        drop = {k.removeprefix(prefix) for k in keys if k.startswith(prefix)}
        if not drop or field_name not in data:
            continue
        items = _items(data, field_name, cluster)
        kept = [i for i in items if _arn_field(i, item_field).lower() not in drop]
        if len(kept) == len(items):
            continue
        if kept:
            result[field_name] = CODEC.dump(kept)
        else:
            result.pop(field_name, None)
    return result


def _items(data: Mapping[str, str], field_name: str, cluster: str) -> list[Any]:
    if field_name == MAP_ROLES:
        return awsauth.entries(data, cluster)
    try:
        loaded = CODEC.load(data[field_name])
    except ValueError:
        loaded = None
    if not isinstance(loaded, list):
        raise ProvisionError(
            f"aws-auth of cluster `{cluster}`: {field_name} is not a YAML list, refusing to "
            "rewrite it"
        )
    return loaded


def _arn_field(item: object, name: str) -> str:
    if not isinstance(item, dict):
        return ""
    for key, value in item.items():
        if str(key).lower() == name and isinstance(value, str):
            return value
    return ""


# ------------------------------------------------------------------ backups: resume, finish


def unfinished_backup(root: Path, account: str, region: str, cluster: str) -> Path | None:
    """The newest backup under ``root`` of this migration of this cluster whose run did
    not finish (no :data:`FINISHED_FILE`) and was not rolled back; ``None`` if there is none."""
    if not root.is_dir():
        return None
    found = []
    for directory in sorted(root.glob(f"migrate-{KIND}-{cluster}-*")):
        if (directory / FINISHED_FILE).exists() or (directory / journals.ROLLBACK_FILE).exists():
            continue
        try:
            header = journals.read_migration(directory)
        except journals.JournalError:
            continue
        coordinates = (header.get("account"), header.get("region"), header.get("cluster"))
        if header.get("kind") == KIND and coordinates == (account, region, cluster):
            found.append(directory)
    return found[-1] if found else None


def world_before_backup(world: Topology, directory: Path, cluster_arn: str) -> Topology:
    """``world`` with the changes the backup's steps may have made undone, in the model:
    the entries it created removed, its first recorded mode and aws-auth restored."""
    steps = journals.read_steps(directory)
    created = {
        strip_role_path(str(s.undo.get("principal", ""))).lower()
        for s in steps
        if s.undo.get("kind") == "access_entry"
    }
    modes = [s.undo for s in steps if s.undo.get("kind") == "authentication_mode"]
    maps = [s.undo for s in steps if s.undo.get("kind") == "config_map"]

    def restore(cluster: Any) -> Any:
        entries = tuple(
            e
            for e in cluster.access_entries
            if strip_role_path(e.principal_arn).lower() not in created
        )
        info = cluster.info
        if modes:
            info = dataclasses.replace(info, authentication_mode=str(modes[0]["before"]))
        aws_auth = cluster.aws_auth
        if maps and isinstance(maps[0].get("before"), dict):
            aws_auth, _ = parse_aws_auth(maps[0]["before"], CODEC)
        return dataclasses.replace(cluster, info=info, access_entries=entries, aws_auth=aws_auth)

    clusters = tuple(restore(c) if c.info.arn == cluster_arn else c for c in world.clusters)
    return dataclasses.replace(world, clusters=clusters)


def finish(directory: Path, report: Mapping[str, Any]) -> None:
    """Mark the backup's run finished, with its re-check (a later run starts afresh)."""
    try:
        (directory / FINISHED_FILE).write_text(
            json.dumps(dict(report), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    except OSError as error:
        raise journals.JournalError(f"cannot write the backup in {directory}: {error}") from None
