"""``kubetrust sandbox ...``: a local multi-account AWS that enforces like AWS.

The sandbox package (moto, werkzeug, cryptography, PyJWT) is imported lazily, so that the
rest of the CLI works without the ``sandbox`` extra installed.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import threading
from pathlib import Path
from typing import Any

import click

from kubetrust import errors
from kubetrust.cli import output

_STATE_DIR_HELP = "Directory holding this sandbox's state (default: a per-user directory)."


def _state_dir_option(function: Any) -> Any:
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=_STATE_DIR_HELP,
    )(function)


def _process() -> Any:
    try:
        from kubetrust.sandbox import process
    except ImportError as exc:  # the sandbox extra is missing
        raise click.ClickException(
            f"the sandbox needs the `sandbox` extra ({exc.name} is missing): "
            "pip install 'kubetrust[sandbox]'"
        ) from None
    return process


def _resolve(state_dir: Path | None) -> Path:
    return state_dir or _process().default_state_dir()


def _running(state_dir: Path) -> dict[str, Any]:
    facts = _process().read_state(state_dir)
    if facts is None:
        raise click.ClickException(
            f"no sandbox is running in {state_dir}; start one with `kubetrust sandbox up --detach`"
        )
    return dict(facts)


@click.group()
def sandbox() -> None:
    """A local multi-account AWS (IAM, STS, S3, EKS) on loopback, with AWS's enforcement.

    The real aws CLI, boto3 and kubectl work against it; they fail exactly where AWS would.
    Default world: accounts 111111111111 and 222222222222, each with an administrator.
    """


@sandbox.command()
@_state_dir_option
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
@click.option("--output", "fmt", type=click.Choice(["text", "json"]), default="text")
def up(
    state_dir: Path | None,
    detach: bool,
    world_file: Path | None,
    port: int,
    issuer_port: int,
    fmt: str,
) -> None:
    """Start the sandbox (in the foreground unless --detach)."""
    process = _process()
    from kubetrust.sandbox.world import load_world

    directory = _resolve(state_dir)
    try:
        world = load_world(world_file)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    if detach:
        try:
            facts = process.start_detached(
                directory, world_file, port=port, issuer_port=issuer_port
            )
        except errors.KubetrustError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(output.ExitCode.FAILURE) from None
        _show(facts, directory, fmt)
        return
    if process.read_state(directory) is not None:
        raise click.ClickException(f"a sandbox already runs in {directory}")
    click.echo(f"kubetrust sandbox starting (state: {directory}); Ctrl-C stops it", err=True)
    ready = threading.Event()

    def announce() -> None:
        if ready.wait(timeout=120):
            facts = process.read_state(directory)
            if facts is not None:
                _show(facts, directory, fmt)

    threading.Thread(target=announce, daemon=True).start()
    process.run_foreground(
        directory, world, port=port, issuer_port=issuer_port, world_file=world_file, ready=ready
    )


def _show(facts: dict[str, Any], directory: Path, fmt: str) -> None:
    if fmt == "json":
        public = {k: v for k, v in facts.items() if k != "accounts"}
        public["accounts"] = sorted(facts.get("accounts", {}))
        public["state_dir"] = str(directory)
        click.echo(json.dumps(public, indent=2))
        return
    click.echo(f"sandbox running (pid {facts['pid']})")
    click.echo(f"  AWS endpoint : {facts['endpoint']}")
    click.echo(f"  OIDC issuers : {facts['issuer_base']}/id/<cluster id>")
    click.echo(f"  accounts     : {', '.join(sorted(facts.get('accounts', {})))}")
    click.echo(f"  state        : {directory}")
    click.echo(
        f'credentials    : eval "$(kubetrust sandbox env --account ACCOUNT '
        f'--state-dir {shlex.quote(str(directory))})"'
    )


@sandbox.command()
@_state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop the sandbox cleanly."""
    directory = _resolve(state_dir)
    if _process().stop(directory):
        click.echo(f"sandbox in {directory} stopped")
    else:
        click.echo(f"no sandbox was running in {directory}")


@sandbox.command()
@_state_dir_option
@click.option("--output", "fmt", type=click.Choice(["text", "json"]), default="text")
def status(state_dir: Path | None, fmt: str) -> None:
    """Say whether a sandbox runs, and where. Exit 1 if none runs."""
    directory = _resolve(state_dir)
    facts = _process().read_state(directory)
    if facts is None:
        if fmt == "json":
            click.echo(json.dumps({"running": False, "state_dir": str(directory)}))
        else:
            click.echo(f"no sandbox running in {directory}")
        raise SystemExit(output.ExitCode.FAILURE)
    _show(facts, directory, fmt)


@sandbox.command()
@_state_dir_option
def reset(state_dir: Path | None) -> None:
    """Forget every resource and session: restart the sandbox on the same ports and keys."""
    process = _process()
    directory = _resolve(state_dir)
    facts = _running(directory)
    world = facts.get("world_file")
    port = int(facts["endpoint"].rsplit(":", 1)[1])
    issuer_port = int(facts["issuer_base"].rsplit(":", 1)[1])
    process.stop(directory)
    process.start_detached(
        directory, Path(world) if world else None, port=port, issuer_port=issuer_port
    )
    click.echo(f"sandbox in {directory} reset")


@sandbox.command()
@_state_dir_option
@click.option("--account", required=True, help="The 12-digit account whose admin to use.")
def env(state_dir: Path | None, account: str) -> None:
    """Print `export` lines for the aws CLI and boto3: endpoint, region, admin keys."""
    directory = _resolve(state_dir)
    facts = _running(directory)
    keys = facts.get("accounts", {}).get(account)
    if keys is None:
        known = ", ".join(sorted(facts.get("accounts", {})))
        raise click.ClickException(f"account `{account}` is not in this sandbox ({known})")
    lines = {
        "AWS_ENDPOINT_URL": facts["endpoint"],
        "AWS_REGION": facts["region"],
        "AWS_DEFAULT_REGION": facts["region"],
        "AWS_ACCESS_KEY_ID": keys["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["secret_access_key"],
        "KUBETRUST_SANDBOX_CA": facts["ca_file"],
    }
    click.echo(f"# kubetrust sandbox, account {account} (administrator); keys valid only here")
    click.echo("unset AWS_SESSION_TOKEN AWS_PROFILE")
    for name, value in lines.items():
        click.echo(f"export {name}={shlex.quote(str(value))}")


@sandbox.command()
@_state_dir_option
@click.option("--cluster", required=True, help="The sandbox EKS cluster whose API server mints.")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
@click.option("--namespace", required=True, help="The service account's namespace.")
@click.option("--serviceaccount", required=True, help="The service account's name.")
@click.option(
    "--audience",
    default="sts.amazonaws.com",
    show_default=True,
    help="The token's audience (IRSA uses sts.amazonaws.com).",
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
    """Mint a projected service-account token exactly as that cluster's API server would."""
    import time
    import uuid

    from kubetrust.sandbox import clusters

    directory = _resolve(state_dir)
    _running(directory)
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


def _cluster(directory: Path, name: str, account: str | None) -> tuple[dict[str, Any], Any]:
    """The running sandbox's facts and the record of its cluster ``name``."""
    from kubetrust.sandbox import clusters

    facts = _running(directory)
    try:
        return facts, clusters.find(directory, name, account)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None


@sandbox.command()
@_state_dir_option
@click.option("--cluster", required=True, help="The sandbox EKS cluster.")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the kubeconfig to this file (mode 0600) instead of printing it.",
)
def kubeconfig(
    state_dir: Path | None, cluster: str, account: str | None, path: Path | None
) -> None:
    """An administrator's kubeconfig for a sandbox cluster.

    It authenticates as EKS's cluster creator does: kubectl runs `kubetrust sandbox
    eks-token`, which presigns an EKS token with the account administrator's keys; the
    cluster verifies and maps it like any other caller. No secret is written to the file.
    """
    import yaml

    from kubetrust.sandbox import kube_access

    directory = _resolve(state_dir)
    facts, record = _cluster(directory, cluster, account)
    document = kube_access.admin_kubeconfig(
        account=record.account,
        region=record.region,
        name=record.name,
        endpoint=record.endpoint,
        ca_pem=Path(facts["ca_file"]).read_bytes(),
        state_dir=directory.resolve(),
    )
    text = yaml.safe_dump(document, sort_keys=False)
    if path is None:
        click.echo(text, nl=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    click.echo(f"wrote {path}; use it with: export KUBECONFIG={shlex.quote(str(path))}", err=True)


@sandbox.command(name="eks-token")
@_state_dir_option
@click.option("--cluster", required=True, help="The sandbox EKS cluster (x-k8s-aws-id).")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
def eks_token_command(state_dir: Path | None, cluster: str, account: str | None) -> None:
    """Print an ExecCredential with an EKS token of the account's administrator.

    The exec plugin of `kubetrust sandbox kubeconfig`; like `aws eks get-token`, it makes
    no network call.
    """
    import os

    from kubetrust.sandbox import kube_access

    directory = _resolve(state_dir)
    facts, record = _cluster(directory, cluster, account)
    keys = facts.get("accounts", {}).get(record.account)
    if keys is None:
        raise click.ClickException(f"account `{record.account}` has no sandbox administrator")
    token = kube_access.presign_eks_token(
        facts["endpoint"],
        record.region,
        record.name,
        keys["access_key_id"],
        keys["secret_access_key"],
    )
    info = os.environ.get("KUBERNETES_EXEC_INFO", "")
    version = kube_access.EXEC_API_VERSION
    if info:
        with contextlib.suppress(ValueError, AttributeError):
            version = str(json.loads(info).get("apiVersion") or version)
    click.echo(json.dumps(kube_access.exec_credential(token, version)))


@sandbox.command(
    name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@_state_dir_option
@click.option("--cluster", required=True, help="The sandbox EKS cluster running the pod.")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
@click.option(
    "--namespace", "-n", default="default", show_default=True, help="The pod's namespace."
)
@click.option("--pod", required=True, help="The pod (e.g. from `kubectl get pods`).")
@click.option("--container", "-c", default=None, help="The container (default: the first).")
@click.option(
    "--isolation",
    type=click.Choice(["auto", "namespace", "mapping"]),
    default="auto",
    show_default=True,
    help="namespace: the pod's volumes at their absolute paths in a private mount namespace; "
    "mapping: paths in the pod's env rewritten to a temp dir; auto: namespace when possible.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(
    state_dir: Path | None,
    cluster: str,
    account: str | None,
    namespace: str,
    pod: str,
    container: str | None,
    isolation: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND on this machine as if inside a pod of a sandbox cluster.

    The pod's environment (with the IRSA webhook's injection), its ConfigMap, Secret and
    projected-token volumes (tokens by TokenRequest, refreshed like the kubelet does), a
    private HOME, and AWS_ENDPOINT_URL pointing at the sandbox. Use `--` before COMMAND:

        kubetrust sandbox exec --cluster ci -n ci-namespace --pod P -- aws sts get-caller-identity
    """
    from kubetrust.sandbox import kube_access, pod_exec

    directory = _resolve(state_dir)
    facts, record = _cluster(directory, cluster, account)
    keys = facts["accounts"][record.account]
    client = kube_access.ClusterClient(
        record.endpoint,
        Path(facts["ca_file"]).read_bytes(),
        lambda: kube_access.presign_eks_token(
            facts["endpoint"],
            record.region,
            record.name,
            keys["access_key_id"],
            keys["secret_access_key"],
        ),
    )
    try:
        found = client.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        if found is None:
            raise errors.InputError(f"pod `{namespace}/{pod}` not found in cluster `{cluster}`")
        port = record.endpoint.rpartition(":")[2]
        result = pod_exec.run_in_pod(
            found,
            command,
            kube_access.PodVolumes(client, found),
            container=container,
            extra_env={
                "AWS_ENDPOINT_URL": facts["endpoint"],
                "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": port,
            },
            isolation=isolation,  # type: ignore[arg-type]
        )
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    if result.fallback_reason:
        click.echo(
            "kubetrust: no private mount namespace here "
            f"({result.fallback_reason}); the pod's paths were mapped into a temporary "
            "directory (paths in its environment are rewritten, absolute paths in files are not)",
            err=True,
        )
    raise SystemExit(result.returncode)
