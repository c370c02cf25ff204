"""What the ``kubetrust migrate`` commands share: their options, where they read the world
from (a snapshot, as explain reads it), where they write (the provisioning ports), and the
exit codes.

Reads: ``--sandbox`` (every sandbox account, its administrators), ``--profile`` (repeatable:
one per account the migration touches) or ``--live`` (the current credentials), as for
``explain``. Writes go through the same credentials: each profile's account is learnt from
``sts:GetCallerIdentity`` before anything is written.

Exit codes: 0 nothing lost (plan) or done and re-checked the same (apply); 2 the plan would
lose access, or the re-check found a difference; 1 a failure (an API error: the backup says
what was done); 3 invalid input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kubetrust.adapters import AwsAccess, PortFactory
from kubetrust.adapters.aws import BotoAwsPort, session
from kubetrust.cli import inputs
from kubetrust.cli.inputs import with_options
from kubetrust.cli.options import output_option
from kubetrust.model.topology import Topology

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BACKUP_ROOT = Path(".kubetrust") / "backups"


def migrate_options(function: F) -> F:
    """The options every migration takes: where to read and write (as ``explain``'s live
    inputs), ``--apply``, ``--accept-loss``, ``--backup-dir`` and ``--output``."""
    options = [
        click.option(
            "--apply",
            "do_apply",
            is_flag=True,
            help="Make the changes (without it: print the plan and the proof, change nothing).",
        ),
        click.option(
            "--accept-loss",
            "accept_loss",
            multiple=True,
            metavar="PRINCIPAL",
            help="Let --apply go on although PRINCIPAL (an IAM ARN, or NAMESPACE/SA) loses "
            "access the proof shows. Repeatable. Never accepted for your own access.",
        ),
        click.option(
            "--backup-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=str(DEFAULT_BACKUP_ROOT),
            show_default=True,
            help="Where --apply writes its backup (a new directory inside, printed), for "
            "`kubetrust migrate rollback --backup DIR`.",
        ),
        output_option(),
    ]
    return inputs.live_options(with_options(function, options))


def read_world(kw: dict[str, Any]) -> Topology:
    """The world as it is now: a snapshot of the live inputs (or the sandbox), loaded as
    explain loads a bundle — the same reader, so the proof and explain see the same world."""
    return inputs.load_topology({**kw, "bundles": ()})


def write_ports(kw: dict[str, Any], progress: Callable[[str], None]) -> PortFactory:
    """The provisioning ports over the accounts the live options name: the sandbox's
    administrators, one per account; else each profile's account (asked of STS first)."""
    found = inputs.accesses(kw)
    if not found:
        raise click.UsageError("give --sandbox, --profile or --live")
    accounts: dict[str, AwsAccess] = {}
    for access in found:
        account = BotoAwsPort(
            "", session(access), endpoint_url=access.endpoint_url
        ).caller_account()
        accounts.setdefault(account, access)
    return PortFactory(
        found[0],
        accounts,
        kw["kubeconfig"],
        inputs.pairs(kw["contexts"], "--context"),
        progress=progress,
    )


def backup_directory(root: Path, kind: str, cluster: str) -> Path:
    """A new backup directory under ``root`` for one run:
    ``migrate-<kind>-<cluster>-<UTC time>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / f"migrate-{kind}-{cluster}-{stamp}"


def progress_to_stderr(line: str) -> None:
    """Progress lines go to stderr; stdout keeps the plan, the proof and the report."""
    click.echo(line, err=True)
