"""Undo a migration from its backup (:mod:`.journal`), through the provisioning ports.

Every step the journal holds — done, or started and never marked done (the run was killed
between the two) — is undone in reverse order by its undo record. Each undo reads the
current state first and writes only when it differs from the recorded one, so undoing a
change that never happened, or was undone already, writes nothing: rollback is rerunnable.
Each run that applies appends what it undid to ``rollback.json``; a step listed there is
not undone again (someone may have changed the object since, on purpose).

What rollback cannot undo, it says and goes on:

- an authentication mode move (EKS modes only move forward, reference E.1);
- deleting an access entry the migration created while the cluster is in ``API`` mode:
  aws-auth is no longer read there (E.1), so the delete would lock its principal out — the
  entry is kept and reported.

Pure of SDKs: writes go through :class:`kubetrust.provision.ports.Ports`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors
from kubetrust.migrate import journal
from kubetrust.migrate.journal import JournalError, Step
from kubetrust.model.vocabulary import API
from kubetrust.provision.ports import (
    AwsPort,
    ClusterRef,
    LiveObject,
    LivePodIdentityAssociation,
    Ports,
)

DONE, KEPT, NOTHING, CANNOT = "undone", "kept", "nothing to undo", "cannot undo"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What rollback did (or, without apply, would do) for one step."""

    step: int
    what: str
    result: str
    """:data:`DONE` (written, or would be), :data:`NOTHING` (already as before),
    :data:`KEPT` (left on purpose) or :data:`CANNOT`."""
    detail: str


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup directory read back: its header, its steps, the steps undone already."""

    directory: Path
    migration: Mapping[str, Any]
    steps: tuple[Step, ...]
    undone: frozenset[int]


def read_backup(directory: Path) -> Backup:
    """The backup in ``directory``; raises :class:`JournalError` (an input error) when it
    is not one, or cannot be read."""
    if not directory.is_dir():
        raise JournalError(f"{directory} is not a directory (give the backup a migration printed)")
    migration = journal.read_migration(directory)
    steps = tuple(journal.read_steps(directory))
    return Backup(directory, migration, steps, frozenset(_undone(directory)))


def _undone(directory: Path) -> list[int]:
    path = directory / journal.ROLLBACK_FILE
    if not path.exists():
        return []
    try:
        runs = errors.decode_json(path.read_text(encoding="utf-8"))
        return [int(n) for run in runs for n in run["undone"]]
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise JournalError(f"{path}: cannot be read: {error}") from None


def rollback(
    backup: Backup, ports: Ports, *, apply: bool, progress: Callable[[str], None] = print
) -> list[Outcome]:
    """Undo the backup's steps in reverse order (module doc); without ``apply`` nothing is
    written and each outcome says what would be done. An API failure raises as it is:
    ``rollback.json`` then lists the steps undone before it, and a rerun goes on."""
    outcomes: list[Outcome] = []
    undone: list[int] = []
    try:
        for step in reversed(backup.steps):
            if step.number in backup.undone:
                outcomes.append(
                    Outcome(step.number, step.what, NOTHING, "undone by an earlier rollback")
                )
                continue
            outcome = undo_step(step, ports, apply=apply)
            outcomes.append(outcome)
            progress(f"step {step.number} ({step.what}): {outcome.result}: {outcome.detail}")
            if apply and outcome.result in (DONE, NOTHING):
                undone.append(step.number)
    finally:
        if apply and undone:
            _record(backup.directory, undone, outcomes)
    return outcomes


def _record(directory: Path, undone: Sequence[int], outcomes: Sequence[Outcome]) -> None:
    path = directory / journal.ROLLBACK_FILE
    runs: list[Any] = errors.decode_json(path.read_text(encoding="utf-8")) if path.exists() else []
    runs.append(
        {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "undone": list(undone),
            "outcomes": [
                {"step": o.step, "what": o.what, "result": o.result, "detail": o.detail}
                for o in outcomes
            ],
        }
    )
    try:
        path.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise JournalError(f"cannot write {path}: {error}") from None


# ------------------------------------------------------------------ one step


def undo_step(step: Step, ports: Ports, *, apply: bool) -> Outcome:
    """Undo one step by its record (:mod:`.journal`'s kinds)."""
    record = step.undo
    kind = str(record.get("kind"))
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise JournalError(f"step {step.number}: an undo record kubetrust does not know ({kind!r})")
    try:
        result, detail = handler(record, ports, apply)
    except KeyError as missing:
        raise JournalError(f"step {step.number}: its {kind} undo record lacks {missing}") from None
    return Outcome(step.number, step.what, result, detail)


Handler = Callable[[Mapping[str, Any], Ports, bool], tuple[str, str]]


def _cluster(record: Mapping[str, Any]) -> ClusterRef:
    return ClusterRef(str(record["account"]), str(record["region"]), str(record["cluster"]))


def _config_map(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    kube = ports.kube(_cluster(record))
    namespace, name, before = str(record["namespace"]), str(record["name"]), record["before"]
    current = kube.get_config_map(namespace, name)
    where = f"ConfigMap {namespace}/{name}"
    if before is None:
        if current is None:
            return NOTHING, f"{where} does not exist, as before"
        if apply:
            kube.delete_config_map(namespace, name)
        return DONE, f"{where} deleted (it did not exist before)"
    data = {str(k): str(v) for k, v in dict(before).items()}
    if current is None:
        if apply:
            kube.create_config_map(namespace, name, data, {})
        return DONE, f"{where} recreated with its data before"
    if dict(current.data) == data:
        return NOTHING, f"{where} holds its data before"
    if apply:
        kube.replace_config_map(
            LiveObject(
                current.namespace,
                current.name,
                current.labels,
                current.annotations,
                data,
                current.resource_version,
            )
        )
    return DONE, f"{where} restored ({', '.join(sorted(data)) or 'no keys'})"


def _trust(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    aws = ports.aws(str(record["account"]))
    name, before = str(record["role"]), record["before"]
    role = aws.get_role(name)
    if role is None:
        return CANNOT, f"role {name} no longer exists: its trust cannot be restored"
    if dict(role.trust) == dict(before):
        return NOTHING, f"role {name}'s trust is as before"
    if apply:
        aws.update_trust(name, before)
    return DONE, f"role {name}'s trust restored"


def _role_policy(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    aws = ports.aws(str(record["account"]))
    name, policy_name, before = str(record["role"]), str(record["policy_name"]), record["before"]
    role = aws.get_role(name)
    what = f"role {name}'s inline policy {policy_name}"
    if role is None:
        return CANNOT, f"role {name} no longer exists: {what} cannot be restored"
    current = role.inline.get(policy_name)
    if before is None:
        if current is None:
            return NOTHING, f"{what} does not exist, as before"
        if apply:
            aws.delete_role_policy(name, policy_name)
        return DONE, f"{what} deleted (it did not exist before)"
    if current is not None and dict(current) == dict(before):
        return NOTHING, f"{what} is as before"
    if apply:
        aws.put_role_policy(name, policy_name, before)
    return DONE, f"{what} restored"


def _locks_out(record: Mapping[str, Any], ports: Ports) -> bool:
    """Whether deleting an access entry would lock its principal out: in ``API`` mode the
    cluster reads no aws-auth (E.1)."""
    info = ports.aws(str(record["account"])).describe_cluster(
        str(record["region"]), str(record["cluster"])
    )
    return info is not None and info.authentication_mode == API


def _access_entry(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    aws = ports.aws(str(record["account"]))
    region, cluster, principal = (
        str(record["region"]),
        str(record["cluster"]),
        str(record["principal"]),
    )
    before = record.get("before")
    entry = aws.get_access_entry(region, cluster, principal)
    what = f"access entry {principal} on {cluster}"
    if before is not None:
        if entry is None:
            return CANNOT, f"{what} no longer exists: it cannot be restored"
        groups = tuple(str(g) for g in before.get("groups") or ())
        username = before.get("username")
        if entry.groups == groups and (not username or entry.username == username):
            return NOTHING, f"{what} is as before"
        if apply:
            aws.update_access_entry(region, cluster, principal, username, groups)
        return DONE, f"{what} restored (groups {list(groups)})"
    if entry is None:
        return NOTHING, f"{what} does not exist, as before"
    if _locks_out(record, ports):
        return KEPT, (
            f"{what} kept: the cluster is in API mode, which reads no aws-auth (E.1), so "
            "deleting it would lock its principal out"
        )
    if apply:
        aws.delete_access_entry(region, cluster, principal)
    return DONE, f"{what} deleted (the migration created it)"


def _access_policy(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    aws = ports.aws(str(record["account"]))
    region, cluster, principal = (
        str(record["region"]),
        str(record["cluster"]),
        str(record["principal"]),
    )
    policy_arn = str(record["policy_arn"])
    entry = aws.get_access_entry(region, cluster, principal)
    what = f"access policy {policy_arn.rpartition('/')[2]} of {principal} on {cluster}"
    if entry is None or all(p.arn != policy_arn for p in entry.policies):
        return NOTHING, f"{what} is not associated, as before"
    if _locks_out(record, ports):
        return KEPT, f"{what} kept: the cluster is in API mode (E.1), removing it may lock out"
    if apply:
        aws.disassociate_access_policy(region, cluster, principal, policy_arn)
    return DONE, f"{what} disassociated"


def _association(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    aws = ports.aws(str(record["account"]))
    region, cluster = str(record["region"]), str(record["cluster"])
    namespace, service_account = str(record["namespace"]), str(record["service_account"])
    before = record.get("before")
    found = aws.get_pod_identity_association(region, cluster, namespace, service_account)
    what = f"Pod Identity association of {namespace}/{service_account} on {cluster}"
    if before is not None:
        if found is None:
            return CANNOT, f"{what} no longer exists: it cannot be restored"
        role_arn = str(before["role_arn"])
        raw_target = before.get("target_role_arn")
        target = str(raw_target) if raw_target else None
        if found.role_arn == role_arn and found.target_role_arn == target:
            return NOTHING, f"{what} is as before"
        if apply:
            _restore_association(aws, region, cluster, found, role_arn, target)
        return DONE, f"{what} restored (role {role_arn}, target {target or 'none'})"
    if found is None:
        return NOTHING, f"{what} does not exist, as before"
    if apply:
        aws.delete_pod_identity_association(region, cluster, found.association_id)
    return DONE, f"{what} deleted (the migration created it)"


def _restore_association(
    aws: AwsPort,
    region: str,
    cluster: str,
    found: LivePodIdentityAssociation,
    role_arn: str,
    target: str | None,
) -> None:
    """Set the association back; a target it did not have is cleared by recreating it
    (the port's update never sends an empty target)."""
    if target is None and found.target_role_arn is not None:
        aws.delete_pod_identity_association(region, cluster, found.association_id)
        aws.create_pod_identity_association(
            region, cluster, found.namespace, found.service_account, role_arn, None, found.tags
        )
        return
    aws.update_pod_identity_association(region, cluster, found.association_id, role_arn, target)


def _service_account(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    kube = ports.kube(_cluster(record))
    namespace, name = str(record["namespace"]), str(record["name"])
    before: dict[str, str | None] = {
        str(k): (None if v is None else str(v)) for k, v in dict(record["before"]).items()
    }
    current = kube.get_service_account(namespace, name)
    what = f"service account {namespace}/{name}"
    if current is None:
        return CANNOT, f"{what} no longer exists: its annotations cannot be restored"
    changed = {k: v for k, v in before.items() if current.annotations.get(k) != v}
    if not changed:
        return NOTHING, f"{what}'s annotations are as before"
    if apply:
        kube.patch_service_account(namespace, name, changed)
    return DONE, f"{what}'s annotations restored ({', '.join(sorted(changed))})"


def _authentication_mode(record: Mapping[str, Any], ports: Ports, apply: bool) -> tuple[str, str]:
    del ports, apply  # nothing can be written: the move is one-way
    return CANNOT, (
        f"cluster {record['cluster']}'s authentication mode was {record['before']}: EKS "
        "authentication modes only move forward (E.1), so it stays as the migration set it"
    )


_HANDLERS: dict[str, Handler] = {
    "config_map": _config_map,
    "trust": _trust,
    "role_policy": _role_policy,
    "access_entry": _access_entry,
    "access_policy": _access_policy,
    "association": _association,
    "service_account": _service_account,
    "authentication_mode": _authentication_mode,
}
assert set(_HANDLERS) == set(journal.UNDO_KINDS)


def render(outcomes: Sequence[Outcome], *, apply: bool) -> str:
    """One line per step, newest first, then a summary."""
    if not outcomes:
        return "the backup holds no step: nothing to undo"
    verb = "" if apply else "(plan) "
    lines = [f"{verb}step {o.step}: {o.result}: {o.detail}" for o in outcomes]
    done = sum(1 for o in outcomes if o.result == DONE)
    if done == 0:
        lines.append("nothing to undo: every step is as it was before the migration")
    elif not apply:
        lines.append(f"{done} steps to undo: rerun with --apply to undo them")
    else:
        lines.append(f"{done} steps undone")
    return "\n".join(lines)


__all__ = [
    "CANNOT",
    "DONE",
    "KEPT",
    "NOTHING",
    "Backup",
    "Outcome",
    "read_backup",
    "render",
    "rollback",
    "undo_step",
]
