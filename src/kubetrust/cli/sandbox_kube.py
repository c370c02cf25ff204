"""``kubetrust sandbox kubeconfig | eks-token | exec``: the Kubernetes side of the sandbox.

Reaching a sandbox EKS cluster as its administrator (a kubeconfig whose exec plugin presigns an
EKS token) and running a command as if inside one of its pods. They are registered on the
``sandbox`` group by :mod:`kubetrust.cli.sandbox`, so ``kubetrust sandbox --help`` lists them
with the AWS-side subcommands.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from pathlib import Path
from typing import Any

import click

from kubetrust import errors
from kubetrust.cli.sandbox_state import resolve_state_dir, running_facts, state_dir_option


def _cluster(directory: Path, name: str, account: str | None) -> tuple[dict[str, Any], Any]:
    """The running sandbox's facts and the record of its cluster ``name``."""
    from kubetrust.sandbox.eks import clusters

    facts = running_facts(directory)
    try:
        return facts, clusters.find(directory, name, account)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@state_dir_option
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

    from kubetrust.sandbox.client import access

    directory = resolve_state_dir(state_dir)
    facts, record = _cluster(directory, cluster, account)
    document = access.admin_kubeconfig(
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


@click.command(name="eks-token")
@state_dir_option
@click.option("--cluster", required=True, help="The sandbox EKS cluster (x-k8s-aws-id).")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
def eks_token_command(state_dir: Path | None, cluster: str, account: str | None) -> None:
    """Print an ExecCredential with an EKS token of the account's administrator.

    The exec plugin of `kubetrust sandbox kubeconfig`; like `aws eks get-token`, it makes
    no network call.
    """
    import os

    from kubetrust.sandbox.client import access

    directory = resolve_state_dir(state_dir)
    facts, record = _cluster(directory, cluster, account)
    keys = facts.get("accounts", {}).get(record.account)
    if keys is None:
        raise click.ClickException(f"account `{record.account}` has no sandbox administrator")
    token = access.presign_eks_token(
        facts["endpoint"],
        record.region,
        record.name,
        keys["access_key_id"],
        keys["secret_access_key"],
    )
    info = os.environ.get("KUBERNETES_EXEC_INFO", "")
    version = access.EXEC_API_VERSION
    if info:
        with contextlib.suppress(ValueError, AttributeError):
            version = str(json.loads(info).get("apiVersion") or version)
    click.echo(json.dumps(access.exec_credential(token, version)))


@click.command(
    name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@state_dir_option
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
    from kubetrust.sandbox import pod as pod_exec
    from kubetrust.sandbox.client import access

    directory = resolve_state_dir(state_dir)
    facts, record = _cluster(directory, cluster, account)
    keys = facts["accounts"][record.account]
    client = access.ClusterClient(
        record.endpoint,
        Path(facts["ca_file"]).read_bytes(),
        lambda: access.presign_eks_token(
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
            access.PodVolumes(client, found),
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
