"""Cluster updates: ``UpdateClusterConfig``, ``UpdateClusterVersion``, ``DescribeUpdate``,
``ListUpdates`` (reference H.2).

An update answers ``InProgress`` at once; the cluster is ``UPDATING`` for realism's
``eks_update_seconds``, then the update is ``Successful``, the cluster ``ACTIVE`` and the
change in effect (:class:`~.lifecycle.ClusterTimeline`; zero seconds: done when asked).
One update at a time: another cluster update meanwhile is refused with
``ResourceInUseException`` (409, :data:`~.model.UPDATE_IN_PROGRESS`), and so is any update
of a cluster still ``CREATING`` (``InvalidRequestException``, :data:`~.model.NOT_ACTIVE`).

``UpdateClusterConfig`` takes one kind of change per call ("Only one type of update can be
allowed.", [seen] kubernetes-sigs/cluster-api-provider-aws#3553): ``accessConfig``
(:mod:`.modes`), ``logging`` (a ``LoggingUpdate``: each log type's ``enabled`` as given,
the others as they were) and ``resourcesVpcConfig`` (an ``EndpointAccessUpdate`` for the
endpoint's access and CIDRs, a ``VpcConfigUpdate`` for subnets and security groups; the
members given replace theirs). Its other members (``kubernetesNetworkConfig``,
``upgradePolicy``, …) stay moto's, applied at once. Not emulated: nodegroup, add-on and
capability updates (moto's), ``Failed`` updates, the list of supported versions, ``force``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.aws.services.eks import lifecycle, model, modes

_OURS = ("accessConfig", "logging", "resourcesVpcConfig")
_NOT_UPDATES = frozenset({"name", "clientRequestToken"})
_ENDPOINT_PARAMS = {
    "endpointPublicAccess": "EndpointPublicAccess",
    "endpointPrivateAccess": "EndpointPrivateAccess",
    "publicAccessCidrs": "PublicAccessCidrs",
}
_VPC_PARAMS = {"subnetIds": "SubnetIds", "securityGroupIds": "SecurityGroupIds"}
_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
_VERSION = re.compile(r"(\d+)\.(\d+)\Z")
NEW_PLATFORM_VERSION = "eks.1"
"""[sandbox] The platform version a version update reports (the first of each version)."""
UNSUPPORTED_VERSION = "unsupported Kubernetes version"
"""[seen] hashicorp/terraform-provider-aws#38796 (UpdateClusterVersion), #21410."""
UNSUPPORTED_MINOR = "Unsupported Kubernetes minor version update from {current} to {wanted}"
"""[seen] terraform-aws-modules/terraform-aws-eks#2607 (1.22 to 1.25), rancher/rancher#21043
(the same version), rancher/rancher#41643 (a lower one): one minor version up only."""


class UpdateHandlers(modes.ModeHandlers):
    """The hook's handlers for cluster updates (module doc)."""

    def _update_cluster_config(
        self, _caller: credentials.Credential, call: model.Call
    ) -> model.Response | None:
        kinds = [k for k, v in call.body.items() if k not in _NOT_UPDATES and v is not None]
        if not any(kind in _OURS for kind in kinds):
            return None
        if len(kinds) > 1:
            raise model.invalid(model.ONE_UPDATE)
        kind = kinds[0]
        access = self._existing(call)
        self._require_settled(call, access.cluster, _update_type(kind, call.body[kind]))
        if kind == "accessConfig":
            planned = self._access_config_update(access, call.body[kind])
            self._access_config_started(call, access)
        elif kind == "logging":
            planned = _logging_update(access.cluster, call.body[kind])
        else:
            planned = _vpc_update(access.cluster, call.body[kind])
        return self._started(access.cluster, planned)

    def _update_cluster_version(
        self, _caller: credentials.Credential, call: model.Call
    ) -> model.Response:
        """One minor version up (:data:`UNSUPPORTED_MINOR`)."""
        access = self._existing(call)
        self._require_settled(call, access.cluster, "VersionUpdate")
        wanted = call.body.get("version")
        current = str(access.cluster.version)
        if not isinstance(wanted, str) or not _VERSION.match(wanted):
            raise model.invalid(UNSUPPORTED_VERSION)
        if not _next_minor(current, wanted):
            raise model.invalid(UNSUPPORTED_MINOR.format(current=current, wanted=wanted))
        planned = lifecycle.PlannedUpdate(
            "VersionUpdate",
            (("Version", wanted), ("PlatformVersion", NEW_PLATFORM_VERSION)),
            {"version": wanted},
        )
        return self._started(access.cluster, planned)

    def _started(self, cluster: Any, planned: lifecycle.PlannedUpdate) -> model.Response:
        """Start ``planned``: the answer EKS gives, ``InProgress``."""
        now = self._now()
        update = lifecycle.Update(
            id=str(uuid.uuid4()),
            type=planned.type,
            params=planned.params,
            created_at=now,
            done_at=now + self.realism.eks_update_seconds,
            changes=planned.changes,
        )
        self._timeline(cluster).updates.append(update)
        return model.ok({"update": update.to_wire(lifecycle.IN_PROGRESS)})

    def _describe_update(
        self, _caller: credentials.Credential, call: model.Call
    ) -> model.Response | None:
        """The cluster's updates, with their status now; nodegroup, add-on and capability
        updates (and unknown ids) are moto's."""
        if any(call.first(k) for k in ("nodegroupName", "addonName", "capabilityName")):
            return None
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            return None
        update = self._timeline(found).find(call.label(3))
        if update is None:
            return None
        return model.ok({"update": update.to_wire(update.status(self._now()))})

    def _list_updates(
        self, _caller: credentials.Credential, call: model.Call
    ) -> model.Response | None:
        """The ids of the cluster's updates, oldest first, paged (``maxResults`` 1–100,
        ``nextToken``)."""
        if any(call.first(k) for k in ("nodegroupName", "addonName", "capabilityName")):
            return None
        access = self._existing(call)
        ids = [update.id for update in self._timeline(access.cluster).updates]
        page, token = model.page(ids, call)
        return model.ok({"updateIds": page, **({"nextToken": token} if token else {})})


# --------------------------------------------------------------------------- the updates


def _update_type(kind: str, value: object) -> str:
    """The ``Update.type`` a change of ``kind`` makes (for EKS's in-use text)."""
    if kind == "accessConfig":
        return "AccessConfigUpdate"
    if kind == "logging":
        return "LoggingUpdate"
    given = value if isinstance(value, Mapping) else {}
    return "VpcConfigUpdate" if any(k in given for k in _VPC_PARAMS) else "EndpointAccessUpdate"


def _logging_update(cluster: Any, raw: object) -> lifecycle.PlannedUpdate:
    """``LoggingUpdate``: the types named turn on or off, the others stay."""
    given = raw.get("clusterLogging") if isinstance(raw, Mapping) else None
    if not isinstance(given, list) or not given:
        raise model.invalid("logging must include clusterLogging.")
    enabled = _enabled_log_types(getattr(cluster, "logging", None))
    for setup in given:
        types = setup.get("types") if isinstance(setup, Mapping) else None
        if not isinstance(types, list) or any(t not in _LOG_TYPES for t in types):
            raise model.invalid(f"The log types must be among {list(_LOG_TYPES)}.")
        on = bool(setup.get("enabled"))
        enabled = (enabled | set(types)) if on else (enabled - set(types))
    logging = {
        "clusterLogging": [
            {"types": [t for t in _LOG_TYPES if t in enabled], "enabled": True},
            {"types": [t for t in _LOG_TYPES if t not in enabled], "enabled": False},
        ]
    }
    return lifecycle.PlannedUpdate(
        "LoggingUpdate", (("ClusterLogging", json.dumps(given)),), {"logging": logging}
    )


def _enabled_log_types(logging: object) -> set[str]:
    setups = logging.get("clusterLogging") if isinstance(logging, Mapping) else None
    enabled: set[str] = set()
    for setup in setups if isinstance(setups, list) else []:
        if isinstance(setup, Mapping) and setup.get("enabled"):
            enabled |= {str(t) for t in setup.get("types") or []}
    return enabled


def _vpc_update(cluster: Any, raw: object) -> lifecycle.PlannedUpdate:
    """``EndpointAccessUpdate`` or ``VpcConfigUpdate``, not both in one call."""
    given = raw if isinstance(raw, Mapping) else {}
    endpoint = {k: given[k] for k in _ENDPOINT_PARAMS if given.get(k) is not None}
    vpc = {k: given[k] for k in _VPC_PARAMS if given.get(k) is not None}
    if endpoint and vpc:
        raise model.invalid(model.ONE_UPDATE)
    if not endpoint and not vpc:
        raise model.invalid("resourcesVpcConfig must change the endpoint's access or the VPC.")
    names = _ENDPOINT_PARAMS if endpoint else _VPC_PARAMS
    members = endpoint or vpc
    params = tuple((names[k], _param_value(v)) for k, v in members.items())
    current = getattr(cluster, "resources_vpc_config", None) or {}
    kind = "EndpointAccessUpdate" if endpoint else "VpcConfigUpdate"
    return lifecycle.PlannedUpdate(kind, params, {"resources_vpc_config": {**current, **members}})


def _param_value(value: object) -> str:
    """An ``UpdateParam`` value: booleans as ``true``/``false``, lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, list) else str(value)


def _next_minor(current: str, wanted: str) -> bool:
    now, then = _VERSION.match(current), _VERSION.match(wanted)
    if now is None or then is None:
        return False
    return then[1] == now[1] and int(then[2]) == int(now[2]) + 1
