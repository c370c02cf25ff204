"""``kubetrust migrate pod-identity``: IRSA → EKS Pod Identity, proven (issue 15, item 2).

Reads the world (:func:`~kubetrust.cli.migrate_common.read_world`) and, through the ports,
what the snapshot does not hold (the add-ons' IRSA roles, the pod's AWS config, the pods);
plans and proves (:mod:`kubetrust.migrate.pod_identity_proof`); with ``--apply`` writes
with a backup (:mod:`kubetrust.migrate.pod_identity_apply`), re-reads the world and
re-checks. Exit codes: :mod:`kubetrust.cli.migrate_common`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kubetrust import errors, provision
from kubetrust.cli.inputs import READ_ERRORS, with_options
from kubetrust.cli.migrate_common import (
    backup_directory,
    migrate_options,
    progress_to_stderr,
    read_world,
    write_ports,
)
from kubetrust.cli.output import ExitCode
from kubetrust.cli.sandbox_state import resolve_state_dir
from kubetrust.migrate import equivalence
from kubetrust.migrate import pod_identity_apply as applying
from kubetrust.migrate import pod_identity_report as report
from kubetrust.migrate.journal import Journal
from kubetrust.migrate.pod_identity_config import PodConfig
from kubetrust.migrate.pod_identity_plan import TARGET_AUTO, TARGET_MODES, Request
from kubetrust.migrate.pod_identity_proof import Proven, prove
from kubetrust.model.topology import Cluster, Topology
from kubetrust.provision import eventual
from kubetrust.provision.ports import ClusterRef, Ports
from kubetrust.provision.resources import ownership_tags

KIND = "pod-identity"
COMPLETE = "complete"
"""A file a finished run leaves in its backup: a backup without it was killed, and the
next run continues it (so that one rollback undoes both)."""


def _options(function: Any) -> Any:
    options = [
        click.option(
            "-f",
            "--file",
            "spec_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A kubetrust spec: its source cluster and service accounts (and awsConfigMap).",
        ),
        click.option("--cluster", "cluster_name", help="The cluster (without -f)."),
        click.option("--account", help="The cluster's account, when several have that name."),
        click.option("--namespace", help="The namespace of the --serviceaccount names."),
        click.option(
            "--serviceaccount",
            "service_accounts",
            multiple=True,
            metavar="[NS/]SA",
            help="Only these service accounts (repeatable) [default: every IRSA-annotated one "
            "of the cluster except EKS add-ons'].",
        ),
        click.option(
            "--target-role-arn",
            "target_mode",
            type=click.Choice(TARGET_MODES),
            default=TARGET_AUTO,
            show_default=True,
            help="auto: targetRoleArn when the role's only use is assuming one role of another "
            "account and the proof shows no loss; none: never (the pod chains itself).",
        ),
        click.option(
            "--remove-irsa",
            is_flag=True,
            help="Also drop each service account's web-identity trust and its "
            "eks.amazonaws.com/role-arn annotation (default: IRSA stays usable).",
        ),
    ]
    return migrate_options(with_options(function, options))


@click.command("pod-identity")
@_options
def pod_identity(**kw: Any) -> None:
    """Move service accounts from IRSA to EKS Pod Identity, and prove that each keeps
    exactly the AWS and Kubernetes access it had.

    Per service account: the Pod Identity statement on its role's trust (once; the
    web-identity statement stays unless --remove-irsa), an association (with targetRoleArn
    when the role only chains into one target), sts:TagSession where the chain's next hops
    need it (Pod Identity sessions carry transitive tags), the pod's AWS config moved to the
    container credentials (-f with awsConfigMap), the eks-pod-identity-agent add-on if
    missing. Add-ons' service accounts are skipped, each with the reason.

    Without --apply: the plan and the proof, nothing changed. With --apply: refused when a
    service account would lose access (unless --accept-loss NS/SA), else a backup, the
    changes, a re-check of the live state, and the pods to restart. Rerunnable: a second
    run changes nothing; a run killed half-way is resumed by the next.

    Exit 0 nothing lost (plan) or applied and re-checked the same; 2 a loss, a refusal or
    a re-check that differs; 1 a failure (the backup says what was done); 3 invalid input.

    \b
    Examples:
      kubetrust migrate pod-identity -f examples/seed.yaml --sandbox
      kubetrust migrate pod-identity -f examples/seed.yaml --sandbox --apply
      kubetrust migrate pod-identity --cluster ci-cluster --profile ci --apply
    """
    try:
        code = _run(kw)
    except provision.SpecError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        code = ExitCode.INVALID
    except errors.InputError as error:
        click.echo(f"error: {error}", err=True)
        code = ExitCode.INVALID
    except (errors.KubetrustError, *READ_ERRORS) as error:
        click.echo(f"error: {error}", err=True)
        code = ExitCode.FAILURE
    raise SystemExit(code)


def _run(kw: dict[str, Any]) -> ExitCode:
    before = read_world(kw)
    ports = write_ports(kw, progress_to_stderr)
    request, tags = _request(kw, before, ports)
    proven = prove(before, request)
    plan = proven.plan
    if not kw["do_apply"]:
        _emit(kw, report.as_json(plan, proven.differences), _text(proven))
        return ExitCode.DENIED if proven.lost() else ExitCode.OK
    refused = proven.lost(frozenset(kw["accept_loss"]))
    if refused:
        _emit(kw, report.as_json(plan, proven.differences), _text(proven, refused=True))
        return ExitCode.DENIED
    journal = None
    if plan.has_changes:
        journal = _journal(kw, proven)
        settings = applying.Settings(tags, _settle(kw))
        applied = applying.apply(plan, ports, journal, settings, progress_to_stderr)
    else:
        applied = applying.Applied()
    now = read_world(kw)
    recheck = equivalence.compare(before, now, proven.principals)
    restart = applying.pods_to_restart(plan, ports)
    if journal is not None:
        (journal.directory / COMPLETE).write_text("", encoding="utf-8")
    backup = str(journal.directory) if journal is not None else None
    data = report.as_json(plan, proven.differences, applied, recheck, restart, backup)
    _emit(kw, data, _applied_text(proven, applied, recheck, restart, backup))
    differs = [
        r for r, p in zip(recheck, proven.differences, strict=True) if r.verdict != p.verdict
    ]
    return ExitCode.DENIED if differs else ExitCode.OK


def _request(kw: dict[str, Any], before: Topology, ports: Ports) -> tuple[Request, dict[str, str]]:
    """What to migrate: from the spec, or from --cluster and --serviceaccount."""
    spec = provision.load_spec(kw["spec_file"]) if kw["spec_file"] else None
    if spec is None and not kw["cluster_name"]:
        raise click.UsageError("give -f SPEC or --cluster NAME")
    if spec is not None and kw["cluster_name"]:
        raise click.UsageError("give -f SPEC or --cluster NAME, not both")
    name = spec.source.cluster if spec else kw["cluster_name"]
    account = spec.source.account if spec else kw["account"]
    cluster = _cluster(before, name, account)
    info = cluster.info
    pairs = (
        tuple((sa.namespace, sa.name) for sa in spec.source.service_accounts)
        if spec
        else _named(kw["namespace"], kw["service_accounts"])
    )
    where = ClusterRef(info.account, info.region, info.name)
    pod_config = None
    if spec is not None and spec.spec.federation == "chained":
        ref = spec.source.aws_config_map
        namespace = spec.config_map_namespace(ref)
        live = ports.kube(where).get_config_map(namespace, ref.name)
        pod_config = PodConfig(namespace, ref.name, dict(live.data) if live else None)
    request = Request(
        cluster=info.arn,
        service_accounts=pairs,
        target_role_arn=kw["target_mode"],
        remove_irsa=kw["remove_irsa"],
        addon_roles=ports.aws(info.account).addon_service_account_roles(info.region, info.name),
        pod_config=pod_config,
        spec_federation=spec.spec.federation if spec else None,
    )
    return request, dict(ownership_tags(spec.name)) if spec else {}


def _cluster(before: Topology, name: str, account: str | None) -> Cluster:
    found = [c for c in before.clusters if name in (c.name, c.info.arn)]
    if account:
        found = [c for c in found if c.info.account == account]
    if len(found) == 1:
        return found[0]
    return before.cluster(name)  # raises the clear error: none, or several


def _named(namespace: str | None, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name in names:
        ns, sep, sa = name.rpartition("/")
        if not sep:
            if not namespace:
                raise click.UsageError(f"--serviceaccount {name}: give NS/SA or --namespace")
            ns, sa = namespace, name
        if not ns or not sa:
            raise click.UsageError(f"--serviceaccount {name}: give NS/SA")
        pairs.append((ns, sa))
    return tuple(pairs)


def _settle(kw: dict[str, Any]) -> float:
    """How long associations settle: against a sandbox its own delay (none unless its
    realism is on), else AWS's figure — the rule of ``kubetrust apply``."""
    if not kw["use_sandbox"]:
        return eventual.ASSOCIATION_SETTLE_SECONDS
    from kubetrust.sandbox.client.state import read_running

    running = read_running(resolve_state_dir(kw["state_dir"]))
    delay = running.eks_propagation_seconds if running is not None else 0.0
    return delay + 1.0 if delay > 0 else 0.0


def _journal(kw: dict[str, Any], proven: Proven) -> Journal:
    """The backup: the last one of this cluster when it was killed (resume), else new."""
    plan = proven.plan
    root: Path = kw["backup_dir"]
    prefix = f"migrate-{KIND}-{plan.cluster}-"
    killed = [
        d for d in sorted(root.glob(prefix + "*")) if d.is_dir() and not (d / COMPLETE).exists()
    ]
    directory = killed[-1] if killed else backup_directory(root, KIND, plan.cluster)
    if killed:
        click.echo(f"resuming the backup {directory} (its run did not finish)", err=True)
    header = {
        "kind": KIND,
        "cluster": plan.cluster,
        "account": plan.account,
        "region": plan.region,
        "principals": [p.as_json() for p in proven.principals],
        "proof_before": equivalence.proof_record(plan.before, proven.after, proven.principals),
    }
    return Journal.create(directory, header)


def _text(proven: Proven, *, refused: bool = False) -> str:
    lines = [report.render_plan(proven.plan), "", equivalence.render_text(proven.differences)]
    if refused:
        lines.append("")
        for difference in proven.lost():
            lines.append(
                f"refused: {difference.principal.key} would lose {len(difference.lost)} "
                f"allowed actions (first: {difference.lost[0]}); the plan above says why "
                "(its role, trust and target); rerun with --accept-loss "
                f"{difference.principal.key} to accept it"
            )
    return "\n".join(lines)


def _applied_text(
    proven: Proven,
    applied: applying.Applied,
    recheck: list[equivalence.Difference],
    restart: list[Any],
    backup: str | None,
) -> str:
    lines = [report.render_plan(proven.plan), ""]
    lines.append(f"applied: {len(applied.done)} changes, {len(applied.already)} already there")
    lines += [f"  done: {what}" for what in applied.done]
    if backup:
        lines.append(f"backup: {backup} (kubetrust migrate rollback --backup {backup})")
    lines += ["", "re-check against the live state:", equivalence.render_text(recheck)]
    lines += ["", report.render_restart(restart)]
    return "\n".join(lines)


def _emit(kw: dict[str, Any], data: dict[str, Any], text: str) -> None:
    if kw["output_format"] == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text)
