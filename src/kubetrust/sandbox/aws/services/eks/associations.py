"""EKS Pod Identity associations as values: what the EKS API stores and what the data plane
(the webhook, EKS Auth) looks up.

One association binds a (cluster, namespace, service account) to a role of the cluster's
account, and optionally to a target role in any account that EKS Auth assumes with the first
role's session (``targetRoleArn``, since 2025-06-11). The API that creates them lives in
:mod:`.pod_identity`; the data plane sees them only through :class:`AssociationLookup`, so
that neither depends on how the API stores them (reference F).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PodIdentityAssociation:
    """One association, every field of botocore's ``PodIdentityAssociation`` shape."""

    account: str
    region: str
    cluster: str
    namespace: str
    service_account: str
    role_arn: str
    association_id: str
    association_arn: str
    created_at: dt.datetime
    modified_at: dt.datetime
    target_role_arn: str | None = None
    disable_session_tags: bool = False
    policy: str | None = None
    external_id: str | None = None
    owner_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class AssociationLookup(Protocol):
    """How the data plane finds the association of a pod's service account: the EKS-hosted
    webhook at pod admission, EKS Auth when the agent asks for credentials."""

    def association_for(
        self, account: str, region: str, cluster: str, namespace: str, service_account: str
    ) -> PodIdentityAssociation | None:
        """The association of this service account in this cluster, if there is one."""
        ...
