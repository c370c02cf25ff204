"""Where explain, audit, graph and snapshot read from: bundles, the sandbox, or live accounts.

- ``--bundle DIR`` (repeatable): offline files (docs/explain.md);
- ``--sandbox [--state-dir DIR]``: the running sandbox, read with each account's
  administrator keys (nothing is started: reading must not change anything);
- ``--profile P`` (repeatable: one profile per account) or ``--live`` (the default
  credential chain: ``AWS_*`` variables, ``AWS_PROFILE``...), with ``--region`` (repeatable)
  and ``--endpoint-url`` as the AWS CLI has them; Kubernetes through ``--context
  CLUSTER=CONTEXT`` of ``--kubeconfig``, else each cluster's endpoint with an EKS token.

Live inputs are read into a temporary bundle by :func:`kubetrust.adapters.snapshot.take_snapshot`
and loaded like any bundle: one loader, whatever the source. Read-only: only ``Get``,
``List`` and ``Describe`` calls.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kubetrust.adapters.aws import AwsAccess, AwsApiError
from kubetrust.adapters.kube import KubeApiError
from kubetrust.adapters.snapshot import (
    DEFAULT_MAX_CONCURRENCY,
    SnapshotError,
    SnapshotOptions,
    SnapshotResult,
    take_snapshot,
)
from kubetrust.cli.options import (
    endpoint_url_option,
    profile_option,
    sandbox_option,
    state_dir_option,
)
from kubetrust.cli.sandbox_state import connect, resolve_state_dir
from kubetrust.explain import bundle, overlay
from kubetrust.iac import cloudformation, terraform
from kubetrust.iac.model import IacWorld, SourceMap, merge_sources
from kubetrust.model.topology import Topology

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox

F = TypeVar("F", bound=Callable[..., Any])
READ_ERRORS = (SnapshotError, AwsApiError, KubeApiError)
"""Live inputs that could not be read: exit 1, not 3 (the input may be fine)."""


def pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a mapping."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key or not item:
            raise click.UsageError(f"{option} takes KEY=VALUE, got `{value}`")
        found[key] = item
    return found


def with_options(function: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """``function`` decorated by ``options``, the first listed shown first in ``--help``."""
    for option in reversed(options):
        function = option(function)
    return function


def live_options(function: F) -> F:
    """The options that name live inputs (without ``--bundle``)."""
    options = [
        sandbox_option("read its accounts and clusters (it must be running)"),
        state_dir_option(),
        profile_option("read the account it reaches (repeatable: one per account)", multiple=True),
        click.option(
            "--live",
            is_flag=True,
            help="Read the account of the current credentials (AWS_* variables, default chain).",
        ),
        click.option(
            "--region",
            "regions",
            multiple=True,
            help="Regions whose EKS clusters are read (repeatable) [default: the profile's].",
        ),
        endpoint_url_option(),
        click.option(
            "--kubeconfig",
            envvar="KUBECONFIG",
            type=click.Path(dir_okay=False),
            help="Kubeconfig for the clusters given a --context.",
        ),
        click.option(
            "--context",
            "contexts",
            multiple=True,
            metavar="CLUSTER=CONTEXT",
            help="Read a cluster (name or ARN) through this kubeconfig context (repeatable); "
            "other clusters through their endpoint with an EKS token.",
        ),
        click.option(
            "--aws-only", is_flag=True, help="Do not read Kubernetes (aws-auth, RBAC, SAs)."
        ),
        click.option(
            "--max-concurrency",
            type=click.IntRange(min=1, max=64),
            default=DEFAULT_MAX_CONCURRENCY,
            show_default=True,
            help="Accounts read at once (each through AWS's throttling, retried).",
        ),
    ]
    return with_options(function, options)


def input_options(function: F) -> F:
    """``--bundle``, the IaC inputs (:func:`iac_options`) and :func:`live_options`."""
    function = live_options(iac_options(function))
    return click.option(
        "--bundle",
        "bundles",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Bundle directory (repeatable: bundles merge). Layout: docs/explain.md.",
    )(function)


def iac_options(function: F) -> F:
    """Terraform plans and CloudFormation templates, alone or over the other inputs."""
    options = [
        click.option(
            "--terraform-plan",
            "terraform_plans",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="`terraform show -json PLANFILE` output, read as the world after apply "
            "(repeatable; over --bundle or live inputs: their changes on top).",
        ),
        click.option(
            "--cloudformation",
            "templates",
            multiple=True,
            metavar="FILE[:ACCOUNT]",
            help="A CloudFormation template (YAML or JSON) deployed in ACCOUNT (repeatable).",
        ),
        click.option(
            "--parameter",
            "parameters",
            multiple=True,
            metavar="[FILE:]KEY=VALUE",
            help="A CloudFormation parameter's deployed value, over its Default (repeatable; "
            "FILE: for one template only).",
        ),
        click.option(
            "--account-map",
            "account_map",
            multiple=True,
            metavar="KEY=ACCOUNT",
            help="The account of resources whose ARN and provider do not say it: KEY is a "
            "Terraform provider (`aws.target`), a module (`module.target`) or a template file.",
        ),
    ]
    return with_options(function, options)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the inputs hold: the topology, and where IaC inputs declared its parts."""

    topology: Topology
    sources: SourceMap = field(default_factory=SourceMap)
    warnings: tuple[str, ...] = ()


def sandbox_accesses(state_dir: Path | None) -> list[AwsAccess]:
    """The administrator keys of every account of the sandbox running in ``state_dir``."""
    sandbox = connect(state_dir)
    return [sandbox_admin(sandbox, account) for account in sandbox.accounts]


def sandbox_admin(sandbox: Sandbox, account: str, region: str | None = None) -> AwsAccess:
    """The administrator of ``account`` in ``sandbox``, for boto3 (region: the sandbox's,
    unless given)."""
    keys = sandbox.admin(account)
    return AwsAccess(
        access_key_id=keys.access_key_id,
        secret_access_key=keys.secret_access_key,
        endpoint_url=sandbox.endpoint,
        region=region or sandbox.region,
    )


def sandbox_organization(state_dir: Path | None, result: SnapshotResult) -> None:
    """Write each snapshotted account's ``organization.json`` (SCP/RCP levels, organization
    id and path) from the world the sandbox runs: the sandbox serves no Organizations API
    to read them from (:func:`kubetrust.sandbox.world.organization_json`)."""
    import json

    from kubetrust.sandbox import world
    from kubetrust.sandbox.client.state import read_running

    state = read_running(resolve_state_dir(state_dir))
    running = world.load_world(state.world_file if state is not None else None)
    for account in result.accounts:
        found = world.organization_json(running, account)
        if found is not None:
            path = result.root / "accounts" / account / "organization.json"
            path.write_text(json.dumps(found, indent=2), encoding="utf-8")


def sandbox_nodes(state_dir: Path | None, result: SnapshotResult) -> None:
    """Complete each snapshotted cluster's ``nodes.json`` from the world the sandbox runs:
    the nodes' IMDS settings live in the world, and the sandbox serves no EC2 API to read
    a launch template from (:func:`kubetrust.sandbox.world.nodes_json`). A node group
    ``describe-nodegroup`` listed with the world's instance role and no settings gets the
    world's; without any listed node group, the world's nodes are the file."""
    import json

    from kubetrust.sandbox import world
    from kubetrust.sandbox.client.state import read_running

    state = read_running(resolve_state_dir(state_dir))
    running = world.load_world(state.world_file if state is not None else None)
    for describe in sorted((result.root / "clusters").glob("*/describe-cluster.json")):
        cluster = json.loads(describe.read_text(encoding="utf-8"))["cluster"]
        account = str(cluster["arn"]).split(":")[4]
        found = world.nodes_json(running, account, str(cluster["name"]))
        if found is None:
            continue
        path = describe.parent / "nodes.json"
        listed = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        for entry in listed:
            if entry.get("instance_role_arn") == found["instance_role_arn"]:
                entry.setdefault("imds", found["imds"])
        path.write_text(json.dumps(listed or [found], indent=2), encoding="utf-8")


def accesses(kw: dict[str, Any]) -> list[AwsAccess]:
    """The accounts the live options name (:func:`live_options`)."""
    region = kw["regions"][0] if kw["regions"] else None
    if kw["use_sandbox"]:
        if kw["profiles"] or kw["live"]:
            raise click.UsageError("--sandbox reads the sandbox: drop --profile and --live")
        return sandbox_accesses(kw["state_dir"])
    if kw["profiles"]:
        return [
            AwsAccess(profile=p, endpoint_url=kw["endpoint_url"], region=region)
            for p in kw["profiles"]
        ]
    if kw["live"]:
        return [AwsAccess(endpoint_url=kw["endpoint_url"], region=region)]
    return []


def snapshot_options(kw: dict[str, Any]) -> SnapshotOptions:
    return SnapshotOptions(
        regions=tuple(kw["regions"]),
        kubernetes=not kw["aws_only"],
        kubeconfig=kw["kubeconfig"],
        contexts=pairs(kw["contexts"], "--context"),
        max_concurrency=kw.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY,
    )


def snapshot(kw: dict[str, Any], out: Path) -> SnapshotResult:
    """Read the live inputs into the bundle ``out``; warnings go to stderr."""
    found = accesses(kw)
    if not found:
        raise click.UsageError("give --sandbox, --profile or --live")
    result = take_snapshot(found, out, snapshot_options(kw))
    if kw["use_sandbox"]:
        sandbox_organization(kw["state_dir"], result)
        sandbox_nodes(kw["state_dir"], result)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result


def describe_inputs(kw: dict[str, Any]) -> tuple[str, ...]:
    """One line per input the options name (``bundle ./org``, ``sandbox http://…``,
    ``profile ci``, ``terraform plan plan.json``…): what a report says was read."""
    where = f" at {kw['endpoint_url']}" if kw.get("endpoint_url") else ""
    regions = f" ({', '.join(kw['regions'])})" if kw.get("regions") else ""
    lines = [f"bundle {path}" for path in kw.get("bundles") or ()]
    if kw.get("use_sandbox"):
        lines.append(_sandbox_line(kw.get("state_dir")))
    lines += [f"profile {profile}{regions}{where}" for profile in kw.get("profiles") or ()]
    if kw.get("live"):
        lines.append(f"live: the current credentials{regions}{where}")
    lines += [f"terraform plan {path}" for path in kw.get("terraform_plans") or ()]
    lines += [f"cloudformation template {spec}" for spec in kw.get("templates") or ()]
    return tuple(lines)


def _sandbox_line(state_dir: Path | None) -> str:
    from kubetrust.sandbox.client.state import read_running

    state = read_running(resolve_state_dir(state_dir))
    return f"sandbox {state.endpoint}" if state is not None else "sandbox"


def load_topology(kw: dict[str, Any]) -> Topology:
    """The topology of ``--bundle`` directories, or of the live inputs (module doc)."""
    return load_inputs(kw).topology


def load_inputs(kw: dict[str, Any]) -> Loaded:
    """The topology of the inputs: IaC inputs (:func:`iac_options`) alone, or as an overlay
    on the bundles or live inputs; with where the IaC inputs declared each part."""
    read = _read_iac(kw)
    live = kw["use_sandbox"] or kw["profiles"] or kw["live"]
    if not read:
        return Loaded(_base_topology(kw, live))
    base = _base_topology(kw, live) if (kw["bundles"] or live) else None
    sources = merge_sources(read)
    warnings = tuple(w for world in read for w in world.warnings)
    return Loaded(overlay.apply_overlay(base, read), sources, warnings)


def _read_iac(kw: dict[str, Any]) -> list[IacWorld]:
    account_map = pairs(tuple(kw.get("account_map") or ()), "--account-map")
    read: list[IacWorld] = []
    if kw.get("terraform_plans"):
        read += terraform.read_plans(kw["terraform_plans"], account_map)
    if kw.get("parameters") and not kw.get("templates"):
        raise click.UsageError("--parameter sets CloudFormation parameters: give --cloudformation")
    if kw.get("templates"):
        read += cloudformation.read_templates(
            kw["templates"], account_map, tuple(kw.get("parameters") or ())
        )
    return read


def _base_topology(kw: dict[str, Any], live: bool) -> Topology:
    if kw["bundles"] and live:
        raise click.UsageError("give --bundle or live inputs (--sandbox, --profile, --live)")
    if kw["bundles"]:
        return bundle.load_bundle(kw["bundles"])
    if not live:
        raise click.UsageError(
            "give --bundle DIR, --sandbox, --profile PROFILE, --live, --terraform-plan FILE "
            "or --cloudformation FILE"
        )
    with tempfile.TemporaryDirectory(prefix="kubetrust-snapshot-") as scratch:
        out = Path(scratch) / "bundle"
        snapshot(kw, out)
        return bundle.load_bundle([out])
