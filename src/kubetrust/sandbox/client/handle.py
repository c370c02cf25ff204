"""One typed handle on a running sandbox: what every client of it (the CLI, the demo) needs.

:func:`connect` reads the state file once (:mod:`kubetrust.sandbox.client.state`) and gives a
:class:`Sandbox`: its AWS endpoint and CA, each account's administrator, the environment the
aws CLI and boto3 need to act as one, the administrator's kubeconfig for a cluster, and EKS
tokens presigned with the administrator's keys. Before it, five readers each picked keys out
of an untyped dict; the format now lives in one place, and a missing or damaged state file is
a clear error rather than a ``KeyError``.

A cluster is given as a :class:`ClusterAddress` (account, region, name, API endpoint): the
server keeps its clusters' records (``kubetrust.sandbox.eks.clusters``), which a client does
not import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kubetrust import eks_presign, errors
from kubetrust.sandbox.client import access
from kubetrust.sandbox.client.state import AdminKeys, SandboxState, require_running

__all__ = ["ClusterAddress", "Sandbox", "UnknownAccount", "connect", "kubeconfig_yaml"]


class UnknownAccount(errors.InputError):
    """An account the sandbox's world does not have."""


class ClusterAddress(Protocol):
    """Where a sandbox cluster is (``kubetrust.sandbox.eks.clusters.ClusterRecord`` is one)."""

    @property
    def account(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def endpoint(self) -> str: ...


def connect(state_dir: Path) -> Sandbox:
    """The sandbox running in ``state_dir``; ``SandboxNotRunning`` or ``BadStateFile`` (both
    :class:`kubetrust.errors.InputError`) otherwise."""
    return Sandbox(state_dir, require_running(state_dir))


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox, as its state file describes it."""

    state_dir: Path
    state: SandboxState

    @property
    def endpoint(self) -> str:
        return self.state.endpoint

    @property
    def region(self) -> str:
        return self.state.region

    @property
    def ca_file(self) -> Path:
        return self.state.ca_file

    @property
    def accounts(self) -> list[str]:
        """The accounts of the sandbox's world, sorted."""
        return sorted(self.state.accounts)

    def ca_pem(self) -> bytes:
        """The sandbox CA (PEM): trust it to reach the issuers and the API servers."""
        try:
            return self.state.ca_file.read_bytes()
        except OSError as error:
            raise errors.InputError(
                f"cannot read the sandbox CA {self.state.ca_file}: {error.strerror}"
            ) from None

    def admin(self, account: str) -> AdminKeys:
        """The administrator of ``account``; :class:`UnknownAccount` naming the known ones."""
        keys = self.state.accounts.get(account)
        if keys is None:
            known = ", ".join(self.accounts) or "none"
            raise UnknownAccount(f"account `{account}` is not in this sandbox ({known})")
        return keys

    def aws_env(self, account: str) -> dict[str, str]:
        """The variables ``kubetrust sandbox env --account`` exports: the aws CLI and boto3
        act as the account's administrator against this sandbox."""
        keys = self.admin(account)
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "KUBETRUST_SANDBOX_CA": str(self.ca_file),
        }

    def eks_token(self, cluster: ClusterAddress) -> str:
        """An EKS token of the cluster account's administrator, as ``aws eks get-token``
        presigns it (no network call)."""
        keys = self.admin(cluster.account)
        return eks_presign.presign_with_keys(
            self.endpoint,
            cluster.region,
            cluster.name,
            keys.access_key_id,
            keys.secret_access_key,
        )

    def eks_token_factory(self, cluster: ClusterAddress) -> Callable[[], str]:
        """A fresh token per call (a token lives 15 minutes; a client may outlive one)."""
        self.admin(cluster.account)  # an unknown account fails now, not at the first call
        return lambda: self.eks_token(cluster)

    def kubeconfig(self, cluster: ClusterAddress) -> dict[str, Any]:
        """The cluster administrator's kubeconfig (:func:`access.admin_kubeconfig`)."""
        return access.admin_kubeconfig(
            account=cluster.account,
            region=cluster.region,
            name=cluster.name,
            endpoint=cluster.endpoint,
            ca_pem=self.ca_pem(),
            state_dir=self.state_dir.resolve(),
        )

    def write_kubeconfig(self, cluster: ClusterAddress, path: Path) -> None:
        """Write :meth:`kubeconfig` as YAML to ``path`` (mode 0600, parents created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_yaml(self.kubeconfig(cluster)), encoding="utf-8")
        path.chmod(0o600)

    def cluster_client(self, cluster: ClusterAddress) -> access.ClusterClient:
        """JSON over HTTPS to the cluster's API server, as its administrator."""
        return access.ClusterClient(
            cluster.endpoint, self.ca_pem(), self.eks_token_factory(cluster)
        )


def kubeconfig_yaml(document: dict[str, Any]) -> str:
    """A kubeconfig document as kubectl reads it (keys in the order written)."""
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False))
