"""``kubetrust plan | apply | destroy -f kubetrust.yaml``: the spec, made real.

Each command: parse options → build the ports (adapters) → one library call
(:mod:`kubetrust.provision`) → render. Exit codes: ``plan`` 0 nothing to do, 2 changes
pending, 1 a conflict or an API failure; ``apply``/``destroy`` 0 done, 1 failure (the
report says which targets are done); all 3 for an invalid spec (``file:line:col: message``).

Where it runs, by AWS CLI and kubectl conventions:

- AWS: ``--profile`` for every account, ``--profile-map KEY=PROFILE`` per account (KEY is an
  account id, a target name or ``source``), or ``profile:`` in the spec; else the default
  credential chain. ``--endpoint-url`` and ``--region`` as in the AWS CLI.
- Kubernetes: ``--context KEY=CONTEXT`` (KEY a cluster name, or ``source``) with
  ``--kubeconfig`` (else ``$KUBECONFIG``), or ``kubeContext:`` in the spec; a cluster
  without a context is reached through its EKS endpoint with an EKS token.
- ``--sandbox``: the sandbox of ``--state-dir`` (started when none runs), its endpoint and
  its per-account admin keys.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kubetrust import errors, provision
from kubetrust.adapters import AwsAccess, PortFactory
from kubetrust.cli import inputs, output
from kubetrust.cli.inputs import pairs, with_options
from kubetrust.cli.options import (
    endpoint_url_option,
    output_option,
    profile_option,
    sandbox_option,
    state_dir_option,
)
from kubetrust.cli.sandbox_state import resolve_state_dir
from kubetrust.provision import eventual

if TYPE_CHECKING:
    from kubetrust.sandbox.client.state import SandboxState

DEFAULT_BACKUP_DIR = Path(".kubetrust") / "backups"


_BACKUP_DIR_OPTION = click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=str(DEFAULT_BACKUP_DIR),
    show_default=True,
    help="Where aws-auth is saved before each edit.",
)


def _common(function: Any) -> Any:
    options = [
        click.option(
            "-f",
            "--filename",
            "spec_file",
            required=True,
            type=click.Path(dir_okay=False),
            help="The spec (kubetrust.yaml).",
        ),
        output_option(),
        profile_option("every account's credentials, unless --profile-map names another"),
        click.option(
            "--profile-map",
            multiple=True,
            metavar="KEY=PROFILE",
            help="Profile for an account id, a target name, or `source`. Repeatable.",
        ),
        click.option(
            "--region", help="Default AWS region of the clients (clusters carry their own)."
        ),
        endpoint_url_option(),
        click.option(
            "--kubeconfig",
            envvar="KUBECONFIG",
            type=click.Path(dir_okay=False),
            help="Kubeconfig for the clusters given a context.",
        ),
        click.option(
            "--context",
            "contexts",
            multiple=True,
            metavar="KEY=CONTEXT",
            help="Kubeconfig context for a cluster name, or `source`. Repeatable.",
        ),
        click.option(
            "--aws-only",
            is_flag=True,
            help="Only the AWS side (IAM, OIDC providers): no Kubernetes objects or access.",
        ),
        sandbox_option("its administrators write (one is started if none runs)"),
        state_dir_option(),
    ]
    return with_options(function, options)


def _setup(kw: dict[str, Any]) -> tuple[provision.Spec, PortFactory]:
    """The spec and the ports the options describe."""
    spec = provision.load_spec(kw["spec_file"])
    profiles = pairs(kw["profile_map"], "--profile-map")
    contexts = pairs(kw["contexts"], "--context")
    if kw["use_sandbox"]:
        ports = _sandbox_ports(spec, kw["state_dir"])
        ports.progress = _progress(kw)
        return spec, ports
    base = AwsAccess(profile=kw["profile"], endpoint_url=kw["endpoint_url"], region=kw["region"])
    accounts: dict[str, AwsAccess] = {}
    named = [("source", spec.source.account, spec.source.profile)]
    named += [(t.name, t.account, t.profile) for t in spec.targets]
    for name, account, spec_profile in named:
        chosen = profiles.get(account) or profiles.get(name) or spec_profile
        if chosen and account not in accounts:
            accounts[account] = AwsAccess(
                chosen, endpoint_url=base.endpoint_url, region=base.region
            )
    if "source" in contexts:
        contexts[spec.source.cluster] = contexts.pop("source")
    factory = PortFactory(base, accounts, kw["kubeconfig"], contexts, progress=_progress(kw))
    return spec, factory


def _sandbox_ports(spec: provision.Spec, state_dir: Path | None) -> PortFactory:
    from kubetrust.sandbox.client.handle import Sandbox
    from kubetrust.sandbox.client.state import read_running

    directory = resolve_state_dir(state_dir)
    state = read_running(directory) or _start_sandbox(spec, directory)
    sandbox = Sandbox(directory, state)
    accounts: dict[str, AwsAccess] = {}
    for account in {spec.source.account, *(t.account for t in spec.targets)}:
        if account not in state.accounts:
            raise provision.ProvisionError(
                f"account {account} is not in the sandbox of {directory} "
                f"(it has {', '.join(sandbox.accounts) or 'none'}); add it to its world file"
            )
        accounts[account] = inputs.sandbox_admin(sandbox, account)
    return PortFactory(AwsAccess(endpoint_url=sandbox.endpoint), accounts)


def _start_sandbox(spec: provision.Spec, directory: Path) -> SandboxState:
    """No sandbox runs there: start one whose world has the spec's accounts and clusters
    (the clusters a spec names must exist before it can be applied), and say so."""
    import yaml

    from kubetrust.sandbox.runtime import process

    clusters: dict[str, list[str]] = {spec.source.account: [spec.source.cluster]}
    for target in spec.targets:
        names = clusters.setdefault(target.account, [])
        names.extend(c.name for c in target.clusters if c.name not in names)
    world = {
        "region": spec.source.region,
        "accounts": [{"id": account, "clusters": names} for account, names in clusters.items()],
    }
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    world_file = directory / "world-from-spec.yaml"
    world_file.write_text(yaml.safe_dump(world, sort_keys=False), encoding="utf-8")
    state: SandboxState = process.start_detached(directory, world_file)
    click.echo(
        f"started a sandbox in {directory} with accounts {', '.join(clusters)} and their "
        f"clusters ({world_file}); stop it with: kubetrust sandbox down --state-dir {directory}",
        err=True,
    )
    return state


def _run(kw: dict[str, Any], action: Any) -> None:
    """Run ``action(spec, ports)`` turning kubetrust errors into exit codes."""
    try:
        spec, ports = _setup(kw)
        code = action(spec, ports)
    except provision.SpecError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(output.ExitCode.INVALID) from None
    except errors.KubetrustError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(output.ExitCode.FAILURE) from None
    raise SystemExit(code)


def _association_settle(kw: dict[str, Any]) -> float:
    """``--association-settle``, else AWS's figure, else (``--sandbox``) the sandbox's own
    delay for associations: none unless its realism is on."""
    if kw["association_settle"] is not None:
        return float(kw["association_settle"])
    if not kw["use_sandbox"]:
        return eventual.ASSOCIATION_SETTLE_SECONDS
    from kubetrust.sandbox.client.state import read_running

    running = read_running(resolve_state_dir(kw["state_dir"]))
    delay = running.eks_propagation_seconds if running is not None else 0.0
    return delay + 1.0 if delay > 0 else 0.0


def _progress(kw: dict[str, Any]) -> Callable[[str], None]:
    """Progress lines (each change, each wait for AWS) to stderr; stdout keeps the report."""
    return lambda line: click.echo(line, err=True)


@click.command()
@_common
def plan(**kw: Any) -> None:
    """Show what apply would change (reads only).

    Exit 0 when nothing is to be done, 2 when changes are pending, 1 on a conflict or
    failure, 3 for an invalid spec.

    \b
    Example:
      kubetrust plan -f examples/seed.yaml --sandbox
    """

    def action(spec: provision.Spec, ports: PortFactory) -> int:
        current = provision.plan(spec, ports, kubernetes=not kw["aws_only"])
        _emit(kw, current.to_json(), render_plan(current))
        if current.conflicts:
            return output.ExitCode.FAILURE
        return output.ExitCode.DENIED if current.pending else output.ExitCode.OK

    _run(kw, action)


@click.command()
@_common
@_BACKUP_DIR_OPTION
@click.option(
    "--artifacts-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the pod's aws-config and kubeconfig here.",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Targets applied at once.",
)
@click.option(
    "--association-settle",
    type=click.FloatRange(0, 600),
    default=None,
    metavar="SECONDS",
    help="How long new Pod Identity associations are given to reach EKS's webhook and EKS "
    "Auth before apply returns (EKS gives no signal; a pod created earlier gets no "
    f"credentials). Default: {eventual.ASSOCIATION_SETTLE_SECONDS:.0f} on AWS; with --sandbox "
    "the sandbox's own delay (none unless its realism is on).",
)
def apply(**kw: Any) -> None:
    """Create or update everything the spec declares, in dependency order.

    Exit 0 when done, 1 when something failed (the report says which targets are done).

    \b
    Example:
      kubetrust apply -f kubetrust.yaml --profile-map source=ci --profile-map prod=target
    """

    def action(spec: provision.Spec, ports: PortFactory) -> int:
        options = provision.Options(
            kubernetes=not kw["aws_only"],
            backup_dir=kw["backup_dir"],
            artifacts_dir=kw["artifacts_dir"],
            parallel=kw["parallel"],
            progress=_progress(kw),
            association_settle_seconds=_association_settle(kw),
        )
        report = provision.apply(spec, ports, options)
        _emit(kw, report.to_json(), render_report(report))
        return output.ExitCode.OK if report.ok else output.ExitCode.FAILURE

    _run(kw, action)


@click.command()
@_common
@_BACKUP_DIR_OPTION
@click.option("--parallel", type=click.IntRange(1, 32), default=4, show_default=True)
def destroy(**kw: Any) -> None:
    """Remove what this spec created (by its tags and labels) and its aws-auth entries.

    Exit 0 when done, 1 when something failed.

    \b
    Example:
      kubetrust destroy -f examples/seed.yaml --sandbox
    """

    def action(spec: provision.Spec, ports: PortFactory) -> int:
        options = provision.Options(
            kubernetes=not kw["aws_only"],
            backup_dir=kw["backup_dir"],
            parallel=kw["parallel"],
            progress=_progress(kw),
        )
        report = provision.destroy(spec, ports, options)
        _emit(kw, report.to_json(), render_report(report))
        return output.ExitCode.OK if report.ok else output.ExitCode.FAILURE

    _run(kw, action)


def _emit(kw: dict[str, Any], data: dict[str, Any], text: str) -> None:
    if kw["output_format"] == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(text + "\n")


def render_plan(current: provision.Plan) -> str:
    counts = current.counts()
    verb = "destroy" if current.operation == "destroy" else "plan"
    lines = [
        f"{verb} `{current.spec_name}`: {counts['create']} to create, {counts['update']} to "
        f"update, {counts['delete']} to delete, {counts['noop']} unchanged"
    ]
    lines += [f"warning: {warning}" for warning in current.warnings]
    for change in current.changes:
        if change.action is provision.Action.NOOP and not change.conflict:
            continue
        symbol = {"create": "+", "update": "~", "delete": "-", "noop": "!"}[str(change.action)]
        action = "conflict" if change.conflict else str(change.action)
        lines.append(f"{symbol} {action:<8} {change.key}  [{change.unit}]")
        if change.conflict:
            lines.append(f"    {change.conflict}")
        if change.note:
            lines.append(f"    ({change.note})")
        lines += [
            "    " + line
            for line in change.diff.splitlines()
            if not line.startswith(("--- live", "+++ desired"))
        ]
    return "\n".join(lines)


def render_report(report: provision.ApplyReport) -> str:
    lines = [render_plan(report.plan), ""]
    state = "done" if report.ok else "NOT done"
    lines.append(f"{report.plan.operation} {state}: {report.writes} writes")
    for unit in report.units:
        status = "done" if unit.done else "not done"
        detail = f": {unit.error}" if unit.error else ""
        lines.append(f"  {unit.unit}: {status} ({unit.applied}/{unit.pending} changes){detail}")
    lines += [f"backup: {path}" for path in report.backups]
    lines += [f"wrote: {path}" for path in report.artifacts]
    return "\n".join(lines)
