"""``kubetrust migrate access-entries``: aws-auth → access entries, proven (issue 15, item 1).

Reads the world (:func:`~kubetrust.cli.migrate_common.read_world`), plans and proves
(:mod:`kubetrust.migrate.access_after`, :mod:`kubetrust.migrate.access_proof`), and with
``--apply`` writes through the ports with a backup (:mod:`kubetrust.migrate.access_apply`),
then re-reads the world and re-checks. Exit codes: :mod:`kubetrust.cli.migrate_common`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from kubetrust import errors
from kubetrust.cli.inputs import with_options
from kubetrust.cli.migrate_common import (
    backup_directory,
    migrate_options,
    progress_to_stderr,
    read_world,
    write_ports,
)
from kubetrust.cli.output import ExitCode
from kubetrust.migrate import access_after, access_apply, access_proof, access_report, equivalence
from kubetrust.migrate.access_report import Report
from kubetrust.migrate.journal import Journal
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import API, API_AND_CONFIG_MAP


def _options(function: Any) -> Any:
    options = [
        click.option("--cluster", "cluster_name", required=True, help="The cluster to migrate."),
        click.option(
            "--account",
            help="The cluster's account, when several accounts have a cluster of that name.",
        ),
        click.option(
            "--mode",
            type=click.Choice([API_AND_CONFIG_MAP, API]),
            help="Move the authentication mode to this one (one-way). Default: to "
            "API_AND_CONFIG_MAP only when the cluster is CONFIG_MAP and entries are created; "
            "API only when asked, and refused while a mapping is not carried.",
        ),
        click.option(
            "--remove-aws-auth-entries",
            "remove_aws_auth",
            is_flag=True,
            help="Remove the migrated mappings from aws-auth (never the ones not carried).",
        ),
    ]
    return migrate_options(with_options(function, options))


@click.command("access-entries")
@_options
def access_entries(**kw: Any) -> None:
    """Move a cluster's aws-auth mappings to EKS access entries, and prove that every
    principal keeps exactly the access it had.

    system:masters becomes an entry with AmazonEKSClusterAdminPolicy, other groups
    kubernetesGroups of a STANDARD entry (RBAC bindings stay), node roles EC2_LINUX or
    EC2_WINDOWS entries; usernames and {{SessionName}} templates are kept. What access
    entries cannot express (mapAccounts, other system: groups, other templates, principals
    gone from IAM, ...) is listed with the reason and the manual step, and stays in aws-auth.

    Without --apply: the plan and the proof, nothing changed. With --apply: refused when
    anyone would lose access (unless --accept-loss names them; never for your own access),
    else a backup, the changes, and a re-check of the live state. A run killed half-way is
    resumed by the next one (same --backup-dir).

    Exit 0 nothing lost (plan) or applied and re-checked the same; 2 a loss, a refusal or a
    re-check that differs; 1 a failure (the backup says what was done); 3 invalid input.

    \b
    Examples:
      kubetrust migrate access-entries --cluster target-cluster --sandbox
      kubetrust migrate access-entries --cluster target-cluster --sandbox --apply
      kubetrust migrate access-entries --cluster prod --profile prod --mode API --apply
    """
    try:
        report = _run(kw)
    except errors.InputError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(ExitCode.INVALID) from None
    except errors.KubetrustError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(ExitCode.FAILURE) from None
    if kw["output_format"] == "json":
        click.echo(json.dumps(access_report.as_json(report), indent=2))
    else:
        click.echo(access_report.render_text(report))
    raise SystemExit(_exit_code(report))


def _exit_code(report: Report) -> int:
    if report.refused or report.unexpected:
        return ExitCode.DENIED
    if not report.applied and report.losses:
        return ExitCode.DENIED
    return ExitCode.OK


def _run(kw: dict[str, Any]) -> Report:
    world = read_world(kw)
    found = access_after.find_cluster(world, kw["cluster_name"], kw["account"])
    info = found.info
    ports = write_ports(kw, progress_to_stderr)
    caller_arn = ports.aws(info.account).caller_arn()
    root: Path = kw["backup_dir"]
    unfinished = access_apply.unfinished_backup(root, info.account, info.region, info.name)
    before = world
    if unfinished is not None:
        before = access_apply.world_before_backup(world, unfinished, info.arn)
    cluster = access_after.find_cluster(before, info.name, info.account)
    move = access_after.decide(
        before,
        cluster,
        caller_arn=caller_arn,
        requested_mode=kw["mode"],
        remove_aws_auth=kw["remove_aws_auth"],
    )
    resumed = str(unfinished) if unfinished is not None else None
    if move.nothing_to_do and unfinished is None:
        return Report(move, applied=kw["do_apply"])
    proof = access_proof.prove(before, move)
    losses = access_proof.losses(proof.differences, move)
    refused = access_proof.refusal(losses, kw["accept_loss"], move)
    report = Report(move, proof.differences, tuple(losses), tuple(refused), resumed=resumed)
    if not kw["do_apply"] or refused:
        return report
    return _apply(kw, ports, move, proof, report, unfinished)


def _apply(
    kw: dict[str, Any],
    ports: Any,
    move: access_after.AccessMove,
    proof: access_proof.Proof,
    report: Report,
    unfinished: Path | None,
) -> Report:
    info = move.cluster.info
    directory = unfinished or backup_directory(kw["backup_dir"], access_apply.KIND, info.name)
    record = equivalence.proof_record(proof.before, proof.after, proof.principals)
    journal = Journal.create(directory, access_apply.migration_header(move, record))
    progress_to_stderr(f"backup: {directory}")
    try:
        steps = access_apply.apply_move(ports, move, journal, progress=progress_to_stderr)
    except errors.KubetrustError:
        progress_to_stderr(
            f"the backup {directory} says what was done: run again to resume, or "
            f"`kubetrust migrate rollback --backup {directory}`"
        )
        raise
    now: Topology = read_world(kw)
    recheck, unexpected = access_proof.recheck(proof, move, now)
    done = dataclasses.replace(
        report,
        applied=True,
        steps=tuple(steps),
        backup=str(directory),
        recheck=tuple(recheck),
        unexpected=tuple(unexpected),
    )
    access_apply.finish(directory, access_report.as_json(done))
    return done
