"""The in-memory AWS port of fakes.py with EKS Pod Identity: associations and add-ons.

``role_lag`` makes the next N association writes answer as EKS does for a role it cannot
see yet (``InvalidParameterException`` "Role provided in the request does not exist").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import provision
from kubetrust.provision import LiveAddon, LivePodIdentityAssociation

from .fakes import FakeAws, FakePorts

_ids = itertools.count(1)


class RoleNotVisible(provision.ProvisionError):
    """Raised as the AWS adapter raises EKS's error (it carries the ``code``)."""

    code = "InvalidParameterException"


@dataclass
class PodIdentityAws(FakeAws):
    associations: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    addons: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    role_lag: int = 0

    def _lagging(self, operation: str) -> None:
        if self.role_lag > 0:
            self.role_lag -= 1
            raise RoleNotVisible(
                f"{operation} in account {self.account} failed: InvalidParameterException: "
                "Role provided in the request does not exist"
            )

    def get_pod_identity_association(
        self, region: str, cluster: str, namespace: str, service_account: str
    ) -> LivePodIdentityAssociation | None:
        found = self.associations.get((region, cluster, namespace, service_account))
        if found is None:
            return None
        return LivePodIdentityAssociation(
            found["id"],
            namespace,
            service_account,
            found["role"],
            found["target"],
            dict(found["tags"]),
            found.get("owner"),
        )

    def create_pod_identity_association(
        self,
        region: str,
        cluster: str,
        namespace: str,
        service_account: str,
        role_arn: str,
        target_role_arn: str | None,
        tags: Mapping[str, str],
    ) -> None:
        self._lagging("CreatePodIdentityAssociation")
        self._w(f"create_pod_identity_association {cluster} {namespace}/{service_account}")
        self.associations[(region, cluster, namespace, service_account)] = {
            "id": f"a-{next(_ids):017d}",
            "role": role_arn,
            "target": target_role_arn,
            "tags": dict(tags),
        }

    def _by_id(self, region: str, cluster: str, association_id: str) -> dict[str, Any]:
        for (r, c, _, _), found in self.associations.items():
            if (r, c, found["id"]) == (region, cluster, association_id):
                return found
        raise KeyError(association_id)

    def update_pod_identity_association(
        self,
        region: str,
        cluster: str,
        association_id: str,
        role_arn: str,
        target_role_arn: str | None,
    ) -> None:
        self._lagging("UpdatePodIdentityAssociation")
        self._w(f"update_pod_identity_association {association_id}")
        found = self._by_id(region, cluster, association_id)
        found["role"] = role_arn
        if target_role_arn is not None:
            found["target"] = target_role_arn

    def delete_pod_identity_association(
        self, region: str, cluster: str, association_id: str
    ) -> None:
        self._w(f"delete_pod_identity_association {association_id}")
        found = self._by_id(region, cluster, association_id)
        self.associations = {k: v for k, v in self.associations.items() if v is not found}

    def get_addon(self, region: str, cluster: str, name: str) -> LiveAddon | None:
        return LiveAddon(name, "ACTIVE") if name in self.addons.get((region, cluster), []) else None

    def create_addon(self, region: str, cluster: str, name: str, tags: Mapping[str, str]) -> None:
        self._w(f"create_addon {cluster} {name}")
        self.addons.setdefault((region, cluster), []).append(name)


@dataclass
class PodIdentityPorts(FakePorts):
    def aws(self, account: str) -> PodIdentityAws:
        if account not in self.accounts:
            self.accounts[account] = PodIdentityAws(account, self.recorder)
        found = self.accounts[account]
        assert isinstance(found, PodIdentityAws)
        return found
