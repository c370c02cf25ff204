"""The running sandbox as the demo uses it: endpoint, CA, administrators, admin kubeconfigs.

The administrators' environments are what ``kubetrust sandbox env --account`` prints, and the
kubeconfigs are written by ``kubetrust sandbox kubeconfig``; both are read here so that the
demo's commands need no shell ``eval``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Handle:
    state_dir: Path
    endpoint: str
    region: str
    ca_file: Path
    admin_keys: dict[str, tuple[str, str]]
    kubeconfigs: dict[str, Path] = field(default_factory=dict)
    """Cluster name → the administrator's kubeconfig file."""

    @classmethod
    def from_facts(cls, state_dir: Path, facts: dict[str, Any]) -> Handle:
        """From the sandbox's state file (``kubetrust.sandbox.runtime.process.read_state``)."""
        keys = {
            account: (str(pair["access_key_id"]), str(pair["secret_access_key"]))
            for account, pair in facts.get("accounts", {}).items()
        }
        return cls(
            state_dir=state_dir,
            endpoint=str(facts["endpoint"]),
            region=str(facts["region"]),
            ca_file=Path(facts["ca_file"]),
            admin_keys=keys,
        )

    def aws_env(self, account: str) -> dict[str, str]:
        """The account administrator, as ``kubetrust sandbox env --account`` exports it."""
        key, secret = self.admin_keys[account]
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
        }

    def kube_env(self, cluster: str) -> dict[str, str]:
        """kubectl as the cluster's administrator (its creator)."""
        return {"KUBECONFIG": str(self.kubeconfigs[cluster])}
