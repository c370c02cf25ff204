"""The backup of a migration: a write-ahead journal of what it changed and how to undo it.

A migration writes into its backup directory *before* each change what the change will be
and what undoes it (``started``), and *after* it that it is done (``done``), one JSON line
per event, flushed and synced at once. So a migration killed half-way leaves a backup that
says exactly what may have been changed, and ``kubetrust migrate rollback --backup DIR``
undoes the started steps too (each undo is idempotent: undoing a change that never happened
changes nothing). The directory also holds ``migration.json`` (what was migrated, where,
when) and, once rollback ran, ``rollback.json`` (what each rollback run undid).

``migration.json`` is what :meth:`Journal.create` is given, plus ``created``. Every
migration puts there (rollback reads them, :func:`read_migration` checks them):

- ``kind``: ``"access-entries"`` or ``"pod-identity"``;
- ``cluster``, ``account``, ``region``: the migrated cluster and where it is;
- ``principals``: the affected principals, each
  :meth:`kubetrust.migrate.equivalence.Principal.as_json`;
- ``proof_before``: :func:`kubetrust.migrate.equivalence.proof_record` (world before,
  planned world after, principals) — the probe universe and every principal's
  capabilities before the change, so that rollback can tell whether the access is back
  (:func:`kubetrust.migrate.equivalence.compare_with_record` against the live world).

Undo records (``undo.kind``), each with the coordinates it needs; rollback
(:mod:`kubetrust.migrate.rollback`) reads exactly these keys, and refuses a record that
lacks one:

- ``config_map`` (``account``, ``region``, ``cluster``, ``namespace``, ``name``,
  ``before``): the whole ConfigMap's ``data`` before the change, or ``None`` when it did
  not exist — aws-auth;
- ``trust`` (``account``, ``role``: the role *name*, ``before``): the trust policy
  document before the change;
- ``role_policy`` (``account``, ``role``, ``policy_name``, ``before``): the inline policy
  document before the change (``None``: it did not exist, undo deletes it);
- ``access_entry`` (``account``, ``region``, ``cluster``, ``principal``, optional
  ``before``): an access entry the migration created (no ``before``, or ``None``: undo
  deletes it) or updated (``before``: ``{"username": ..., "groups": [...]}``);
- ``access_policy`` (``account``, ``region``, ``cluster``, ``principal``,
  ``policy_arn``): an access policy the migration associated (undo: disassociate it);
- ``association`` (``account``, ``region``, ``cluster``, ``namespace``,
  ``service_account``, optional ``before``): a Pod Identity association the migration
  created (undo: delete it) or updated (``before``: ``{"role_arn": ...,
  "target_role_arn": ...}``);
- ``service_account`` (``account``, ``region``, ``cluster``, ``namespace``, ``name``,
  ``before``): the annotations the change touches, each with its value before (``None``:
  it was absent);
- ``authentication_mode`` (``account``, ``region``, ``cluster``, ``before``): the
  cluster's mode before the change — one-way in EKS (reference E.1): rollback cannot undo
  it and says so.

Backups hold policies and ConfigMap data, never credentials; the directory is made 0700.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors

__all__ = [
    "DONE",
    "MIGRATION_FILE",
    "ROLLBACK_FILE",
    "STARTED",
    "UNDO_KINDS",
    "Journal",
    "JournalError",
    "Step",
    "read_migration",
    "read_steps",
]

MIGRATION_FILE = "migration.json"
JOURNAL_FILE = "journal.jsonl"
ROLLBACK_FILE = "rollback.json"
STARTED = "started"
DONE = "done"
UNDO_KINDS = (
    "config_map",
    "trust",
    "role_policy",
    "access_entry",
    "access_policy",
    "association",
    "service_account",
    "authentication_mode",
)


class JournalError(errors.InputError):
    """A backup directory that cannot be written or read back."""


@dataclass(frozen=True, slots=True)
class Step:
    """One change of a migration as the journal holds it."""

    number: int
    what: str
    """What the change does, as the migration printed it."""
    undo: Mapping[str, Any]
    done: bool


class Journal:
    """The backup directory of one migration run, appended to as the run goes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._next = len(read_steps(directory)) + 1 if (directory / JOURNAL_FILE).exists() else 1

    @classmethod
    def create(cls, directory: Path, migration: Mapping[str, Any]) -> Journal:
        """Start a backup in ``directory`` (made if missing; an existing backup of the same
        migration is continued, so that a rerun after a kill appends to it)."""
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            header = directory / MIGRATION_FILE
            if not header.exists():
                record = {**migration, "created": _now()}
                header.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        except OSError as error:
            raise JournalError(f"cannot write the backup in {directory}: {error}") from None
        return cls(directory)

    def started(self, what: str, undo: Mapping[str, Any]) -> int:
        """Record, before making it, the change ``what`` and how to undo it; its number."""
        kind = undo.get("kind")
        if kind not in UNDO_KINDS:
            raise ValueError(f"unknown undo kind {kind!r}")
        number = self._next
        self._next += 1
        self._append({"event": STARTED, "step": number, "what": what, "undo": dict(undo)})
        return number

    def done(self, number: int) -> None:
        """Record that step ``number`` was made."""
        self._append({"event": DONE, "step": number})

    def _append(self, event: Mapping[str, Any]) -> None:
        line = json.dumps({**event, "at": _now()}, sort_keys=True) + "\n"
        try:
            with open(self.directory / JOURNAL_FILE, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise JournalError(f"cannot write the backup in {self.directory}: {error}") from None


def read_migration(directory: Path) -> dict[str, Any]:
    """The ``migration.json`` of a backup directory."""
    path = directory / MIGRATION_FILE
    try:
        data = errors.decode_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JournalError(
            f"{directory} is not a kubetrust migration backup (no {MIGRATION_FILE})"
        ) from None
    except (OSError, ValueError) as error:
        raise JournalError(f"{path}: cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise JournalError(f"{path}: not a JSON object")
    return data


def read_steps(directory: Path) -> list[Step]:
    """The steps of a backup in the order they were started; a step whose ``done`` line is
    missing (the run was killed) has ``done`` False. A torn last line (killed while writing)
    is ignored: its change was not started."""
    path = directory / JOURNAL_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise JournalError(f"{path}: cannot be read: {error}") from None
    started: dict[int, Step] = {}
    finished: set[int] = set()
    for number, event in _events(path, lines):
        if event.get("event") == STARTED:
            undo = event.get("undo")
            if not isinstance(undo, dict) or undo.get("kind") not in UNDO_KINDS:
                raise JournalError(f"{path}:{number}: an undo record kubetrust does not know")
            step = int(event["step"])
            started[step] = Step(step, str(event.get("what", "")), undo, False)
        elif event.get("event") == DONE:
            finished.add(int(event["step"]))
    return [
        Step(s.number, s.what, s.undo, s.number in finished)
        for s in sorted(started.values(), key=lambda s: s.number)
    ]


def _events(path: Path, lines: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, 1):
        try:
            event = errors.decode_json(line)
        except errors.NestingError as error:  # whole, not torn: refused even when last
            raise JournalError(f"{path}:{number}: not a journal event: {error}") from None
        except ValueError:
            if number == len(lines):
                return  # torn by a kill mid-write
            raise JournalError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(event, dict) or not isinstance(event.get("step"), int):
            raise JournalError(f"{path}:{number}: not a journal event")
        yield number, event


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
