"""EKS add-ons, minimal: enough for a cluster to run the ``eks-pod-identity-agent`` add-on.

moto has no add-ons. ``CreateAddon``, ``DescribeAddon``, ``ListAddons`` and ``DeleteAddon``
keep add-ons per cluster object (a deleted cluster takes them with it); an add-on is
``CREATING`` for realism's ``addon_creation_seconds``, then ``ACTIVE`` (reference H.2; zero:
at once), and a cluster still ``CREATING`` takes none (:func:`~.model.require_active`).
:meth:`AddonApi.has_addon` is what a check of the Pod Identity Agent reads (reference F.2:
the agent is the ``eks-pod-identity-agent`` add-on): only an ``ACTIVE`` add-on runs.

Not emulated: the add-on catalogue and versions (any name is accepted; the version is the
one asked for, else :data:`DEFAULT_VERSION`), ``UpdateAddon``, ``resolveConflicts``,
``preserve``, the add-on's Kubernetes objects, and ``podIdentityAssociations`` (refused, so
that no caller believes associations were made).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import arn as arns
from kubetrust.sandbox.aws import credentials, state, wire
from kubetrust.sandbox.aws.services.eks import lifecycle, model

POD_IDENTITY_AGENT = "eks-pod-identity-agent"
DEFAULT_VERSION = "v1.3.4-eksbuild.1"
"""[sandbox] The version shown when the request names none."""
ADDON_EXISTS = "Addon already exists."
"""[sandbox] EKS's wording for a second ``CreateAddon`` of the same name was not found."""
NO_POD_IDENTITY = "The sandbox does not emulate podIdentityAssociations of add-ons"


def not_found(addon: str, cluster: str) -> wire.AwsError:
    """EKS's text, as seen in CLI transcripts ("No addon: vpc-cni found in cluster: c")."""
    return wire.AwsError(
        "ResourceNotFoundException", f"No addon: {addon} found in cluster: {cluster}", 404
    )


@dataclass(slots=True)
class ClusterAddons:
    """The add-ons of one moto cluster object: name → the ``Addon`` shape."""

    cluster: Any
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)


Handler = Callable[[credentials.Credential, model.Call], model.Response]


class AddonApi:
    """The four calls. Not locked: the EKS hook calls it under its own lock."""

    def __init__(self, clock: model.Clock, creation_seconds: float = 0.0) -> None:
        self.clock = clock
        self.creation_seconds = creation_seconds
        self._clusters: dict[tuple[str, str, str], ClusterAddons] = {}

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateAddon": self._create,
            "DescribeAddon": self._describe,
            "ListAddons": self._list,
            "DeleteAddon": self._delete,
        }

    def has_addon(self, account: str, region: str, cluster: str, name: str) -> bool:
        """Whether the cluster now named ``cluster`` runs the add-on ``name``: made and
        ``ACTIVE`` by now."""
        found = state.eks(account, region).clusters.get(cluster)
        if found is None:
            return False
        addon = self._of(account, region, cluster, found).by_name.get(name)
        return addon is not None and self._shown(addon)["status"] == lifecycle.ACTIVE

    def _shown(self, addon: dict[str, Any]) -> dict[str, Any]:
        """The add-on with its status now (:func:`~.lifecycle.addon_status`)."""
        now = self.clock().timestamp()
        status = lifecycle.addon_status(addon["createdAt"], self.creation_seconds, now)
        return {**addon, "status": status}

    def _of(self, account: str, region: str, name: str, cluster: Any) -> ClusterAddons:
        key = (account, region, name)
        held = self._clusters.get(key)
        if held is None or held.cluster is not cluster:
            held = ClusterAddons(cluster)
            self._clusters[key] = held
        return held

    def _cluster(self, call: model.Call) -> ClusterAddons:
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            raise wire.AwsError(
                "ResourceNotFoundException", f"No cluster found for name: {call.cluster}.", 404
            )
        return self._of(call.account, call.region, call.cluster, found)

    def _create(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        held = self._cluster(call)
        model.require_active(call, held.cluster)
        body = call.body
        name = body.get("addonName")
        if not isinstance(name, str) or not name:
            raise model.invalid("addonName is required")
        if body.get("podIdentityAssociations"):
            raise model.invalid(NO_POD_IDENTITY)
        if name in held.by_name:
            raise wire.AwsError("ResourceInUseException", ADDON_EXISTS, 409)
        held.by_name[name] = _addon(call, name, body, self.clock().timestamp())
        return model.ok({"addon": self._shown(held.by_name[name])})

    def _describe(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        held = self._cluster(call)
        addon = held.by_name.get(call.label(3))
        if addon is None:
            raise not_found(call.label(3), call.cluster)
        return model.ok({"addon": self._shown(addon)})

    def _list(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        page, token = model.page(list(self._cluster(call).by_name), call)
        return model.ok({"addons": page, **({"nextToken": token} if token else {})})

    def _delete(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """Answers the add-on as ``DELETING``; it is gone at once."""
        held = self._cluster(call)
        addon = held.by_name.pop(call.label(3), None)
        if addon is None:
            raise not_found(call.label(3), call.cluster)
        return model.ok({"addon": {**addon, "status": "DELETING"}})


def _addon(call: model.Call, name: str, body: Mapping[str, Any], now: float) -> dict[str, Any]:
    """botocore's ``Addon`` shape for a new add-on, healthy (its status: ``_shown``)."""
    partition = arns.partition_of_region(call.region)
    tags = body.get("tags")
    addon: dict[str, Any] = {
        "addonName": name,
        "clusterName": call.cluster,
        "status": "ACTIVE",
        "addonVersion": str(body.get("addonVersion") or DEFAULT_VERSION),
        "health": {"issues": []},
        "addonArn": (
            f"arn:{partition}:eks:{call.region}:{call.account}:addon/{call.cluster}/{name}/"
            f"{uuid.uuid4()}"
        ),
        "createdAt": now,
        "modifiedAt": now,
        "tags": {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {},
        "podIdentityAssociations": [],
    }
    for member in ("serviceAccountRoleArn", "configurationValues"):
        if isinstance(body.get(member), str):
            addon[member] = body[member]
    return addon
