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
from typing import TYPE_CHECKING, Any

import click

from kubetrust import errors
from kubetrust.cli.options import state_dir_option
from kubetrust.cli.sandbox_state import running_sandbox

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox


def _cluster(state_dir: Path | None, name: str, account: str | None) -> tuple[Sandbox, Any]:
    """The running sandbox and the record of its cluster ``name``."""
    from kubetrust.sandbox.eks import clusters

    sandbox = running_sandbox(state_dir)
    try:
        return sandbox, clusters.find(sandbox.state_dir, name, account)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@state_dir_option()
@click.option("--cluster", required=True, help="The sandbox EKS cluster.")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
@click.option(
    "--out",
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

    \b
    Example:
      kubetrust sandbox kubeconfig --cluster ci-cluster --out ci.yaml
      KUBECONFIG=ci.yaml kubectl get pods -n kube-system
    """
    from kubetrust.sandbox.client.handle import kubeconfig_yaml

    sandbox, record = _cluster(state_dir, cluster, account)
    try:
        if path is None:
            click.echo(kubeconfig_yaml(sandbox.kubeconfig(record)), nl=False)
            return
        sandbox.write_kubeconfig(record, path)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}; use it with: export KUBECONFIG={shlex.quote(str(path))}", err=True)


@click.command(name="eks-token")
@state_dir_option()
@click.option("--cluster", required=True, help="The sandbox EKS cluster (x-k8s-aws-id).")
@click.option("--account", default=None, help="The cluster's account, if the name is not unique.")
def eks_token_command(state_dir: Path | None, cluster: str, account: str | None) -> None:
    """Print an ExecCredential with an EKS token of the account's administrator.

    The exec plugin of `kubetrust sandbox kubeconfig`; like `aws eks get-token`, it makes
    no network call.

    \b
    Example:
      kubetrust sandbox eks-token --cluster ci-cluster   # as kubectl runs it
    """
    import os

    from kubetrust.sandbox.client import access

    sandbox, record = _cluster(state_dir, cluster, account)
    try:
        token = sandbox.eks_token(record)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
    info = os.environ.get("KUBERNETES_EXEC_INFO", "")
    version = access.EXEC_API_VERSION
    if info:
        with contextlib.suppress(ValueError, AttributeError):
            version = str(json.loads(info).get("apiVersion") or version)
    click.echo(json.dumps(access.exec_credential(token, version)))


def _pod_identity_env(
    sandbox: Sandbox, record: Any, pod: dict[str, Any], container: str | None
) -> dict[str, str]:
    """The Pod Identity Agent on loopback for a container the webhook gave the agent's
    address: ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` under the sandbox's agent, at the
    path of this cluster's nodes. The one known difference from EKS, where the address is
    ``169.254.170.23``; botocore accepts a loopback address alike."""
    from kubetrust.sandbox.eks import pod_identity_agent
    from kubetrust.sandbox.kube import pod_identity_webhook as webhook
    from kubetrust.sandbox.pod.pod_spec import select_container

    agent = sandbox.state.pod_identity_agent
    chosen = select_container(pod, container)
    injected = {"name": webhook.FULL_URI_ENV, "value": webhook.AGENT_URI}
    if agent is None or injected not in (chosen.get("env") or []):
        return {}
    path = pod_identity_agent.credentials_path(record.account, record.name)
    return {webhook.FULL_URI_ENV: agent + path}


IMDS_VARIABLES = (
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_V1_DISABLED",
)
"""A container that sets one of these itself decides how it reaches IMDS: ``exec`` adds
nothing (the demos' pods set ``AWS_EC2_METADATA_DISABLED=true``)."""


def _imds_env(
    sandbox: Sandbox, record: Any, pod: dict[str, Any], container: str | None
) -> dict[str, str]:
    """The node's instance metadata service as a pod on it reaches it: on EKS the SDK's
    last credential provider asks ``169.254.169.254``; here the sandbox's IMDS at the
    "pod" path of this cluster's node (:mod:`kubetrust.sandbox.eks.imds`: the hop limit
    decides whether a token reaches the pod). Nothing when the sandbox serves no IMDS or
    the container's ``env`` sets an IMDS variable of its own."""
    from kubetrust.sandbox.eks import imds
    from kubetrust.sandbox.pod.pod_spec import select_container

    base = sandbox.state.imds
    chosen = select_container(pod, container)
    own = {str(entry.get("name")) for entry in chosen.get("env") or [] if isinstance(entry, dict)}
    if base is None or own.intersection(IMDS_VARIABLES):
        return {}
    path = imds.base_path(record.account, record.name, "pod")
    return {
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": base + path,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
    }


@click.command(
    name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@state_dir_option()
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

    The pod's environment (with the EKS webhook's IRSA or Pod Identity injection), its
    ConfigMap, Secret and projected-token volumes (tokens by TokenRequest, refreshed like
    the kubelet does), a private HOME, and AWS_ENDPOINT_URL pointing at the sandbox. A Pod
    Identity pod's AWS_CONTAINER_CREDENTIALS_FULL_URI points at the sandbox's Pod Identity
    Agent on 127.0.0.1 instead of 169.254.170.23, and every pod's
    AWS_EC2_METADATA_SERVICE_ENDPOINT points at its node's instance metadata service on
    127.0.0.1 instead of 169.254.169.254 (unless the pod sets IMDS variables itself). Use
    `--` before COMMAND.

    \b
    Example:
      kubetrust sandbox exec --cluster ci -n ci-namespace --pod P -- aws sts get-caller-identity
    """
    from kubetrust.sandbox import pod as pod_exec
    from kubetrust.sandbox.client import access

    sandbox, record = _cluster(state_dir, cluster, account)
    try:
        client = sandbox.cluster_client(record)
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
                "AWS_ENDPOINT_URL": sandbox.endpoint,
                "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": port,
                **_pod_identity_env(sandbox, record, found, container),
                **_imds_env(sandbox, record, found, container),
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
