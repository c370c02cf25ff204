"""``kubetrust migrate rollback``: undo a migration from its backup, then re-check.

Exit codes as the other migrations (:mod:`kubetrust.cli.migrate_common`): 0 every step
undone (or nothing to undo) and every principal's access as before the migration; 2 the
plan has steps to undo (without ``--apply``), or the re-check finds a difference (an
authentication mode move it cannot undo, a kept entry, a change made since); 1 a failure
(an API error: ``rollback.json`` lists what was undone, rerun to go on); 3 not a backup or
another invalid input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kubetrust import errors
from kubetrust.cli import inputs
from kubetrust.cli.inputs import with_options
from kubetrust.cli.migrate_common import progress_to_stderr, read_world, write_ports
from kubetrust.cli.options import output_option
from kubetrust.cli.output import ExitCode
from kubetrust.migrate import equivalence
from kubetrust.migrate import rollback as undo
from kubetrust.migrate.rollback import DONE, Backup, Outcome


def _options(function: Any) -> Any:
    options = [
        click.option(
            "--backup",
            "backup_dir",
            required=True,
            type=click.Path(path_type=Path),
            help="The backup directory a migration's --apply printed.",
        ),
        click.option(
            "--apply",
            "do_apply",
            is_flag=True,
            help="Undo the changes (without it: print what would be undone, change nothing).",
        ),
        output_option(),
    ]
    return inputs.live_options(with_options(function, options))


@click.command("rollback")
@_options
def rollback(**kw: Any) -> None:
    """Undo a migration from its backup, newest change first, and re-check that every
    principal has the access it had before the migration.

    Steps a killed migration started but never finished are undone too; each undo writes
    only what differs from the backup, so a rerun changes nothing. An authentication mode
    move cannot be undone (EKS modes only move forward): rollback says so and goes on.

    Exit 0 back as before, 2 steps pending (plan) or a difference remains, 1 failure,
    3 not a backup.

    \b
    Examples:
      kubetrust migrate rollback --backup .kubetrust/backups/migrate-... --sandbox
      kubetrust migrate rollback --backup .kubetrust/backups/migrate-... --sandbox --apply
    """
    try:
        backup = undo.read_backup(kw["backup_dir"])
    except errors.InputError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(ExitCode.INVALID) from None
    try:
        ports = write_ports(kw, progress_to_stderr)
        outcomes = undo.rollback(backup, ports, apply=kw["do_apply"], progress=progress_to_stderr)
        differences = _recheck(backup, kw) if kw["do_apply"] else None
    except errors.InputError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(ExitCode.INVALID) from None
    except errors.KubetrustError as error:
        click.echo(f"error: {error} (rerun to go on: the backup says what was undone)", err=True)
        raise SystemExit(ExitCode.FAILURE) from None
    _emit(kw, backup, outcomes, differences)
    raise SystemExit(_exit_code(kw["do_apply"], outcomes, differences))


def _recheck(backup: Backup, kw: dict[str, Any]) -> list[equivalence.Difference] | None:
    """The world now against the recorded before (``proof_before``), or ``None`` when the
    backup holds no proof."""
    record = backup.migration.get("proof_before")
    if not isinstance(record, dict):
        return None
    return equivalence.compare_with_record(record, read_world(kw))


def _exit_code(
    applied: bool, outcomes: list[Outcome], differences: list[equivalence.Difference] | None
) -> int:
    if not applied:
        pending = any(o.result == DONE for o in outcomes)
        return ExitCode.DENIED if pending else ExitCode.OK
    if differences and any(d.verdict != "same" for d in differences):
        return ExitCode.DENIED
    return ExitCode.OK


def _emit(
    kw: dict[str, Any],
    backup: Backup,
    outcomes: list[Outcome],
    differences: list[equivalence.Difference] | None,
) -> None:
    if kw["output_format"] == "json":
        document = {
            "backup": str(backup.directory),
            "migration": {k: backup.migration.get(k) for k in ("kind", "cluster", "account")},
            "applied": kw["do_apply"],
            "steps": [
                {"step": o.step, "what": o.what, "result": o.result, "detail": o.detail}
                for o in outcomes
            ],
            "recheck": None if differences is None else equivalence.as_json(differences),
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(undo.render(outcomes, apply=kw["do_apply"]))
    if differences is None:
        if kw["do_apply"]:
            click.echo("re-check: the backup holds no proof_before, so nothing to compare")
        return
    click.echo("re-check against the access before the migration:")
    click.echo(equivalence.render_text(differences))
