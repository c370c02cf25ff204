"""``kubetrust sandbox ...``: a local multi-account AWS that enforces like AWS.

This module holds the group and its AWS-side subcommands (``up``, ``down``, ``status``,
``reset``, ``env``, ``token``); the Kubernetes-side ones (``kubeconfig``, ``eks-token``,
``exec``) live in :mod:`kubetrust.cli.sandbox_kube` and are registered on the group below.
The sandbox package (moto, werkzeug, cryptography, PyJWT) is imported lazily, so that the
rest of the CLI works without the ``sandbox`` extra installed.
"""

from __future__ import annotations

import json
import shlex
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kubetrust import errors
from kubetrust.cli import output
from kubetrust.cli.options import output_option, state_dir_option
from kubetrust.cli.sandbox_kube import eks_token_command, exec_command, kubeconfig
from kubetrust.cli.sandbox_state import (
    resolve_state_dir,
    running_sandbox,
    sandbox_process,
)
from kubetrust.model.vocabulary import IRSA_AUDIENCE

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox


@click.group()
def sandbox() -> None:
    """A local multi-account AWS (IAM, STS, S3, EKS) on loopback, with AWS's enforcement.

    The real aws CLI, boto3 and kubectl work against it; they fail exactly where AWS would.
    Default world: accounts 111111111111 and 222222222222, each with an administrator.

    \b
    Examples:
      kubetrust sandbox up --detach --state-dir /tmp/kt
      eval "$(kubetrust sandbox env --account 111111111111 --state-dir /tmp/kt)"
    """


@sandbox.command()
@state_dir_option()
@click.option("--detach", is_flag=True, help="Run in the background; return once it answers.")
@click.option(
    "--world",
    "world_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="World file (YAML/JSON): accounts, region, organization policies.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the AWS endpoint on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--issuer-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the clusters' OIDC issuers (HTTPS) on 127.0.0.1.",
)
@click.option(
    "--realism",
    type=click.Choice(["aws", "off"]),
    default=None,
    help="aws: AWS's timing (IAM propagation delays, clusters CREATING then ACTIVE, "
    "updates in the background, throttling, AWS's page sizes); off: none, whatever the "
    "world file's `realism:` says. Default: the world file decides (off without one).",
)
@output_option()
def up(
    state_dir: Path | None,
    detach: bool,
    world_file: Path | None,
    port: int,
    issuer_port: int,
    realism: str | None,
    output_format: str,
) -> None:
    """Start the sandbox (in the foreground unless --detach).

    \b
    Examples:
      kubetrust sandbox up --detach --world world.yaml --output json
      kubetrust sandbox up --detach --realism aws   # fails and waits where AWS would
    """
    process = sandbox_process()
    from kubetrust.sandbox.client.handle import Sandbox
    from kubetrust.sandbox.world import load_world

    directory = resolve_state_dir(state_dir)
    try:
        world = load_world(world_file)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    if detach:
        try:
            state = process.start_detached(
                directory, world_file, port=port, issuer_port=issuer_port, realism=realism
            )
        except errors.KubetrustError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(output.ExitCode.FAILURE) from None
        _show(Sandbox(directory, state), output_format)
        return
    if process.read_state(directory) is not None:
        raise click.ClickException(f"a sandbox already runs in {directory}")
    click.echo(f"kubetrust sandbox starting (state: {directory}); Ctrl-C stops it", err=True)
    ready = threading.Event()

    def announce() -> None:
        if ready.wait(timeout=120):
            state = process.read_state(directory)
            if state is not None:
                _show(Sandbox(directory, state), output_format)

    threading.Thread(target=announce, daemon=True).start()
    process.run_foreground(
        directory,
        world,
        port=port,
        issuer_port=issuer_port,
        world_file=world_file,
        ready=ready,
        realism=realism,
    )


def _show(sandbox: Sandbox, fmt: str) -> None:
    from kubetrust.sandbox.eks import clusters

    directory, state = sandbox.state_dir, sandbox.state
    records = clusters.every(directory)
    if fmt == "json":
        public = {
            "pid": state.pid,
            "endpoint": state.endpoint,
            "issuer_base": state.issuer_base,
            "region": state.region,
            "world_file": None if state.world_file is None else str(state.world_file),
            "ca_file": str(state.ca_file),
            "accounts": sandbox.accounts,
            "state_dir": str(directory),
        }
        public["clusters"] = [
            {
                "account": r.account,
                "name": r.name,
                "endpoint": r.endpoint,
                "issuer": r.issuer.issuer_url,
            }
            for r in records
        ]
        click.echo(json.dumps(public, indent=2))
        return
    where = shlex.quote(str(directory))
    click.echo(f"sandbox running (pid {state.pid})")
    click.echo(f"  AWS endpoint : {state.endpoint}")
    click.echo(f"  OIDC issuers : {state.issuer_base}/id/<cluster id>")
    click.echo(f"  accounts     : {', '.join(sandbox.accounts)}")
    for record in records:
        click.echo(f"  cluster      : {record.name} ({record.account}) {record.endpoint}")
    click.echo(f"  state        : {directory}")
    click.echo(
        f'credentials    : eval "$(kubetrust sandbox env --account ACCOUNT --state-dir {where})"'
    )
    if records:
        click.echo(
            f"kubeconfig     : kubetrust sandbox kubeconfig --cluster NAME --state-dir {where} "
            "--out FILE"
        )


@sandbox.command()
@state_dir_option()
def down(state_dir: Path | None) -> None:
    """Stop the sandbox cleanly.

    \b
    Example:
      kubetrust sandbox down --state-dir /tmp/kt
    """
    directory = resolve_state_dir(state_dir)
    if sandbox_process().stop(directory):
        click.echo(f"sandbox in {directory} stopped")
    else:
        click.echo(f"no sandbox was running in {directory}")


@sandbox.command()
@state_dir_option()
@output_option()
def status(state_dir: Path | None, output_format: str) -> None:
    """Say whether a sandbox runs, and where. Exit 1 if none runs.

    \b
    Example:
      kubetrust sandbox status --output json
    """
    directory = resolve_state_dir(state_dir)
    state = sandbox_process().read_state(directory)
    if state is None:
        if output_format == "json":
            click.echo(json.dumps({"running": False, "state_dir": str(directory)}))
        else:
            click.echo(f"no sandbox running in {directory}")
        raise SystemExit(output.ExitCode.FAILURE)
    from kubetrust.sandbox.client.handle import Sandbox

    _show(Sandbox(directory, state), output_format)


@sandbox.command()
@state_dir_option()
def reset(state_dir: Path | None) -> None:
    """Forget every resource and session: restart the sandbox on the same ports and keys.

    \b
    Example:
      kubetrust sandbox reset --state-dir /tmp/kt
    """
    process = sandbox_process()
    running = running_sandbox(state_dir)
    directory, state = running.state_dir, running.state
    port = int(state.endpoint.rsplit(":", 1)[1])
    issuer_port = int(state.issuer_base.rsplit(":", 1)[1])
    process.stop(directory)
    process.start_detached(
        directory, state.world_file, port=port, issuer_port=issuer_port, realism=state.realism
    )
    click.echo(f"sandbox in {directory} reset")


@sandbox.command()
@state_dir_option()
@click.option("--account", required=True, help="The 12-digit account whose admin to use.")
def env(state_dir: Path | None, account: str) -> None:
    """Print `export` lines for the aws CLI and boto3: endpoint, region, admin keys.

    \b
    Example:
      eval "$(kubetrust sandbox env --account 111111111111)"
    """
    try:
        lines = running_sandbox(state_dir).aws_env(account)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"# kubetrust sandbox, account {account} (administrator); keys valid only here")
    click.echo("unset AWS_SESSION_TOKEN AWS_PROFILE")
    for name, value in lines.items():
        click.echo(f"export {name}={shlex.quote(value)}")


@sandbox.command()
@state_dir_option()
@click.option("--cluster", required=True, help="The sandbox EKS cluster whose API server mints.")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
@click.option("--namespace", required=True, help="The service account's namespace.")
@click.option("--serviceaccount", required=True, help="The service account's name.")
@click.option(
    "--audience",
    default=IRSA_AUDIENCE,
    show_default=True,
    help=f"The token's audience (IRSA uses {IRSA_AUDIENCE}).",
)
@click.option(
    "--duration",
    type=click.IntRange(600, 2**32),
    default=86400,
    show_default=True,
    help="Seconds until the token expires (Kubernetes' minimum is 600).",
)
def token(
    state_dir: Path | None,
    cluster: str,
    account: str | None,
    namespace: str,
    serviceaccount: str,
    audience: str,
    duration: int,
) -> None:
    """Mint a service-account token signed by the cluster's OIDC key, with the claims EKS puts
    in a projected token (for STS's web identity).

    It does not ask the cluster's API server: the service account need not exist there and
    the token is bound to no pod. For a token the cluster itself issues, bound to its service
    account, use `kubectl create token SA --audience sts.amazonaws.com` with a kubeconfig
    from `kubetrust sandbox kubeconfig`.

    \b
    Example:
      kubetrust sandbox token --cluster ci-cluster --namespace ci-namespace \\
          --serviceaccount ci-serviceaccount > token.jwt
    """
    import time
    import uuid

    from kubetrust.sandbox.eks import clusters

    directory = running_sandbox(state_dir).state_dir
    try:
        record = clusters.find(directory, cluster, account)
        uid = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{record.issuer_id}/{namespace}/{serviceaccount}")
        )
        minted = record.issuer.mint_service_account_token(
            namespace=namespace,
            service_account=serviceaccount,
            service_account_uid=uid,
            audiences=[audience],
            expiration_seconds=duration,
            now=int(time.time()),
        )
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(minted)


# The Kubernetes side (kubetrust.cli.sandbox_kube), on the same group.
sandbox.add_command(kubeconfig)
sandbox.add_command(eks_token_command)
sandbox.add_command(exec_command)
