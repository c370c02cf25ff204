"""EKS clusters as the sandbox needs them: an OIDC issuer each, real CA data, an endpoint.

moto gives every cluster the same random issuer and endpoint, and CA data that is not a
certificate (probe findings). The sandbox hooks cluster creation — through the API or
from a world file alike — and gives each cluster:

- its own OIDC issuer, ``https://127.0.0.1:<issuer port>/id/<ID>``, with its own signing
  key, served by the sandbox (discovery document and JWKS);
- the sandbox CA as ``certificateAuthority.data`` (base64 PEM, as EKS returns it);
- an endpoint on a loopback port reserved for its Kubernetes API server;
- ``accessConfig`` with EKS's defaults (``API_AND_CONFIG_MAP``, creator admin); a
  ``CreateCluster`` through the gate then gets what it asked for from the creation
  listener (:mod:`.eks_api`: the request's ``accessConfig``, the creator's access entry).

Each cluster's record (issuer URL and signing key) is written to the state directory
(``clusters/<account>/<name>.json``, mode 0600), so that ``kubetrust sandbox token`` can
mint a service-account token exactly as that cluster's API server would.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.eks.models import EKSBackend

from kubetrust import errors
from kubetrust.sandbox import oidc

CLUSTERS_DIR = "clusters"
_hook_lock = threading.Lock()
_creation_listener: list[Callable[[Any, Any], None]] = []
"""At most one listener (see :func:`set_creation_listener`)."""


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    """What the state directory keeps about one sandbox cluster."""

    account: str
    region: str
    name: str
    issuer_id: str
    issuer: oidc.ClusterIssuer
    endpoint: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "account": self.account,
                "region": self.region,
                "name": self.name,
                "issuer_id": self.issuer_id,
                "issuer": self.issuer.to_dict(),
                "endpoint": self.endpoint,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ClusterRecord:
        raw = json.loads(text)
        return cls(
            raw["account"],
            raw["region"],
            raw["name"],
            raw["issuer_id"],
            oidc.ClusterIssuer.from_dict(raw["issuer"]),
            raw["endpoint"],
        )


def reserve_port() -> int:
    """A free loopback port for a cluster's API server (bound later by its server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def record_path(state_dir: Path, account: str, name: str) -> Path:
    return state_dir / CLUSTERS_DIR / account / f"{name}.json"


def save(state_dir: Path, record: ClusterRecord) -> None:
    path = record_path(state_dir, record.account, record.name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(record.to_json(), encoding="utf-8")
    path.chmod(0o600)


def find(state_dir: Path, name: str, account: str | None = None) -> ClusterRecord:
    """The record of cluster ``name`` (in ``account`` if given); clear errors otherwise."""
    base = state_dir / CLUSTERS_DIR
    pattern = f"{account}/{name}.json" if account else f"*/{name}.json"
    found = sorted(base.glob(pattern))
    if not found:
        raise errors.InputError(
            f"no sandbox cluster named `{name}`" + (f" in account {account}" if account else "")
        )
    if len(found) > 1:
        accounts = ", ".join(p.parent.name for p in found)
        raise errors.InputError(
            f"cluster `{name}` exists in several accounts ({accounts}); name one with --account"
        )
    return ClusterRecord.from_json(found[0].read_text(encoding="utf-8"))


def every(state_dir: Path) -> list[ClusterRecord]:
    """The records of every cluster of the sandbox in ``state_dir``, by account and name;
    a record that cannot be read is skipped (it belongs to a cluster being written)."""
    found = []
    for path in sorted((state_dir / CLUSTERS_DIR).glob("*/*.json")):
        try:
            found.append(ClusterRecord.from_json(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            continue
    return found


def install_hook(
    on_create: Callable[[Any, Any], None],
    on_delete: Callable[[Any, Any], None] | None = None,
) -> None:
    """Call ``on_create(backend, cluster)`` after moto creates any EKS cluster, and
    ``on_delete(backend, cluster)`` after it deletes one (its API server stops with it)."""
    with _hook_lock:
        original = getattr(EKSBackend.create_cluster, "__wrapped__", EKSBackend.create_cluster)
        deleter = getattr(EKSBackend.delete_cluster, "__wrapped__", EKSBackend.delete_cluster)

        def create_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
            cluster = original(self, *args, **kwargs)
            on_create(self, cluster)
            for listener in list(_creation_listener):
                listener(self, cluster)
            return cluster

        def delete_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
            cluster = deleter(self, *args, **kwargs)
            if on_delete is not None:
                on_delete(self, cluster)
            return cluster

        create_cluster.__wrapped__ = original  # type: ignore[attr-defined]
        delete_cluster.__wrapped__ = deleter  # type: ignore[attr-defined]
        EKSBackend.create_cluster = create_cluster  # type: ignore[method-assign]
        EKSBackend.delete_cluster = delete_cluster  # type: ignore[method-assign]


def set_creation_listener(listener: Callable[[Any, Any], None] | None) -> None:
    """Call ``listener(backend, cluster)`` after ``on_create`` for every new cluster.

    One slot, process-global like moto's state: the EKS access-entry emulation
    (:class:`.eks_api.EksExtras`) uses it to apply what moto drops from a
    ``CreateCluster`` (its ``accessConfig``, its caller as the creator)."""
    with _hook_lock:
        _creation_listener[:] = [listener] if listener is not None else []


def decorate(
    backend: Any,
    cluster: Any,
    *,
    issuer_base: str,
    ca_pem: bytes,
    state_dir: Path,
    register: Callable[[str, oidc.ClusterIssuer], None],
) -> ClusterRecord:
    """Give a freshly created moto cluster its issuer, CA, endpoint and access config."""
    issuer_id = uuid.uuid4().hex.upper()
    issuer = oidc.ClusterIssuer.create(f"{issuer_base}/id/{issuer_id}")
    register(issuer_id, issuer)
    endpoint = f"https://127.0.0.1:{reserve_port()}"
    cluster.identity = {"oidc": {"issuer": issuer.issuer_url}}
    cluster.certificate_authority = {"data": base64.b64encode(ca_pem).decode("ascii")}
    cluster.endpoint = endpoint
    cluster.access_config = {
        "authenticationMode": "API_AND_CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    record = ClusterRecord(
        str(backend.account_id), str(backend.region_name), cluster.name, issuer_id, issuer, endpoint
    )
    save(state_dir, record)
    return record
