"""EKS clusters as the sandbox needs them: an OIDC issuer each, real CA data, an endpoint.

moto gives every cluster the same random issuer and endpoint, and CA data that is not a
certificate (probe findings). When moto stores a cluster — through the API or from a world
file alike — the sandbox's moto backend (:class:`kubetrust.sandbox.aws.state.SandboxEksBackend`)
hands it to the EKS control plane (:class:`.control_plane.ControlPlane`), which gives it,
through :func:`decorate`:

- its own OIDC issuer, ``https://127.0.0.1:<issuer port>/id/<ID>``, with its own signing
  key, served by the sandbox (discovery document and JWKS);
- the sandbox CA as ``certificateAuthority.data`` (base64 PEM, as EKS returns it);
- an endpoint on a loopback port reserved for its Kubernetes API server;
- ``accessConfig`` with EKS's defaults (``API_AND_CONFIG_MAP``, creator admin); a
  ``CreateCluster`` through the gate then gets what it asked for from the EKS access API
  (:meth:`kubetrust.sandbox.aws.services.eks.api.EksExtras.cluster_created`: the request's
  ``accessConfig``, the creator's access entry).

Each cluster's record (issuer URL and signing key) is written to the state directory
(``clusters/<account>/<name>.json``, mode 0600), so that ``kubetrust sandbox token`` can
mint a service-account token exactly as that cluster's API server would.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors
from kubetrust.model import vocabulary
from kubetrust.sandbox import oidc

CLUSTERS_DIR = "clusters"


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
        raw = errors.decode_json(text)
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
        "authenticationMode": vocabulary.API_AND_CONFIG_MAP,
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    record = ClusterRecord(
        str(backend.account_id), str(backend.region_name), cluster.name, issuer_id, issuer, endpoint
    )
    save(state_dir, record)
    return record
