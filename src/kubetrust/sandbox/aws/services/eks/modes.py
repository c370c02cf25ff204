"""Cluster creation's ``accessConfig`` and the authentication-mode update (E.1)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from kubetrust import policy
from kubetrust.model import vocabulary
from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.eks import (
    entries,
    lifecycle,
    model,
    principals,
    timed_cluster,
)

_NEXT_MODE = {
    vocabulary.CONFIG_MAP: vocabulary.API_AND_CONFIG_MAP,
    vocabulary.API_AND_CONFIG_MAP: vocabulary.API,
}
_VALID = vocabulary.AUTHENTICATION_MODES
"""Shown as EKS shows them, a tuple's text: ``('CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API')``."""

# --------------------------------------------------------------------------- clusters


class ModeHandlers(entries.EntryHandlers):
    """The hook's handlers for clusters: ``CreateCluster``'s ``accessConfig`` and the
    one-way authentication-mode updates (E.1; the update itself: :mod:`.updates`)."""

    def _create_cluster(
        self, caller: credentials.Credential, call: model.Call
    ) -> model.Response | None:
        """Validate ``accessConfig`` (EKS refuses ``CONFIG_MAP`` without the creator's
        admin, [seen] terraform-aws-eks#3026/#3206) and remember it with the caller for
        :meth:`cluster_created`; moto then creates the cluster."""
        raw = call.body.get("accessConfig")
        config = raw if isinstance(raw, Mapping) else {}
        mode = config.get("authenticationMode") or model.DEFAULT_API_MODE
        bootstrap = config.get("bootstrapClusterCreatorAdminPermissions")
        bootstrap = True if bootstrap is None else bool(bootstrap)
        if mode not in vocabulary.AUTHENTICATION_MODES:
            raise model.invalid(
                f"The authenticationMode {mode} is not valid. Valid values: {_VALID}"
            )
        if mode == vocabulary.CONFIG_MAP and not bootstrap:
            raise model.invalid(model.BOOTSTRAP_REQUIRED)
        _check_service_role(call.body.get("roleArn"), self.propagation)
        name = str(call.body.get("name") or "")
        key = (call.account, call.region, name)
        if name and name not in state.eks(call.account, call.region).clusters:
            self._creations[key] = model.Creation(
                principals.caller_principal(caller), str(mode), bootstrap, asynchronous=True
            )
        return None

    def cluster_created(self, backend: Any, cluster: Any) -> float:
        """Called by the EKS control plane once moto stored a new cluster (and the control
        plane gave it its issuer, CA and endpoint): give it the requested access config
        and, when the API mode is on and bootstrap asked for it, the creator's admin entry
        (E.1). A cluster made without a ``CreateCluster`` through the gate (nor announced by
        :meth:`~.api.EksExtras.expect_creation`) keeps the defaults
        :func:`kubetrust.sandbox.eks.clusters.decorate` gave it and has no known creator.

        The answer: the seconds until the cluster is ``ACTIVE`` — realism's creation time
        for a ``CreateCluster`` through the gate, none for a world file's cluster, which
        exists when the sandbox starts (reference H.2)."""
        key = (str(backend.account_id), str(backend.region_name), str(cluster.name))
        with self._lock:
            creation = self._creations.pop(key, None)
            now = self._now()
            creating = self.realism.eks_cluster_creation_seconds
            delay = creating if creation is not None and creation.asynchronous else 0.0
            timed_cluster.make_timed(cluster, lifecycle.ClusterTimeline(now + delay), self._now)
            access = self._new_access(cluster)
            self._access[key] = access
            if creation is not None:
                access.creator = creation.creator
                cluster.access_config = {
                    "authenticationMode": creation.mode,
                    "bootstrapClusterCreatorAdminPermissions": creation.bootstrap,
                }
                if creation.mode != vocabulary.CONFIG_MAP:
                    self._bootstrap_creator(key[0], key[1], access)
            # made with the cluster: the authenticator knows it from the start
            access.publish(-math.inf)
            return delay

    def _bootstrap_creator(self, account: str, region: str, access: model.ClusterAccess) -> None:
        """The creator's entry: STANDARD, default username, ``AmazonEKSClusterAdminPolicy``
        on the whole cluster (E.1). Made when the API mode first becomes available."""
        config = getattr(access.cluster, "access_config", None) or {}
        creator = access.creator
        if creator is None or not config.get("bootstrapClusterCreatorAdminPermissions", True):
            return
        if creator.arn in access.entries:
            return
        now = self._now()
        entry = self._new_entry(
            account, region, str(access.cluster.name), creator, model.STANDARD, now
        )
        admin = model.AssociatedPolicy(
            vocabulary.CLUSTER_ADMIN_POLICY.arn, model.AccessScope("cluster"), now, now
        )
        access.entries[creator.arn] = dataclasses.replace(entry, policies=(admin,))

    def _access_config_update(
        self, access: model.ClusterAccess, raw: object
    ) -> lifecycle.PlannedUpdate:
        """``accessConfig.authenticationMode`` changes, one way only (E.1): the mode changes
        when the update succeeds (reference H.2). EKS's text: "Unsupported authentication
        mode update from X to Y" ([seen] pulumi/pulumi-eks#1493, aws/aws-cdk#31032, also
        for X = Y)."""
        config = raw if isinstance(raw, Mapping) else {}
        wanted = config.get("authenticationMode")
        if wanted not in vocabulary.AUTHENTICATION_MODES:
            raise model.invalid(
                f"The authenticationMode {wanted} is not valid. Valid values: {_VALID}"
            )
        current = model.mode_of(access.cluster)
        if _NEXT_MODE.get(current) != wanted:
            raise model.invalid(
                f"Unsupported authentication mode update from {current} to {wanted}"
            )
        previous = getattr(access.cluster, "access_config", None) or {}
        return lifecycle.PlannedUpdate(
            "AccessConfigUpdate",
            (("AuthenticationMode", str(wanted)),),
            {"access_config": {**previous, "authenticationMode": wanted}},
        )

    def _access_config_started(self, call: model.Call, access: model.ClusterAccess) -> None:
        """Leaving ``CONFIG_MAP``, the creator gets the admin entry bootstrap asked for
        (E.1); no reader sees it before the mode changes (the API and the authenticator
        read entries only outside ``CONFIG_MAP``)."""
        if access.creator is not None and (model.mode_of(access.cluster) == vocabulary.CONFIG_MAP):
            self._bootstrap_creator(call.account, call.region, access)


# --------------------------------------------------------------------------- validation


def _check_service_role(role_arn: object, propagation: Propagation) -> None:
    """EKS assumes the cluster's service role at creation: the role must exist and trust
    ``eks.amazonaws.com`` — decided by the policy engine, as for any trust ([seen]
    karpenter-blueprints#20, terraform-aws-eks#2406 for the message) — as EKS sees IAM
    (reference H.1: a role just made or changed may not be seen yet)."""
    refused = model.invalid(
        f"Role with arn: {role_arn}, could not be assumed because it does not exist or the "
        "trusted entity is not correct"
    )
    if not isinstance(role_arn, str):
        raise refused
    role = propagation.role_by_arn(role_arn)
    if role is None:
        raise refused
    decision = policy.authorize(
        policy.Request("eks.amazonaws.com", "sts:AssumeRole", role.arn),
        policy.PolicySet(resource=role.trust_policy, resource_kind="trust"),
    )
    if not decision.allowed:
        raise refused
