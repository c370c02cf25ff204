"""EKS access policies: the managed catalog and their association with access entries (E.4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubetrust.sandbox.aws import credentials, wire
from kubetrust.sandbox.aws.services.eks import entries, model

ACCESS_POLICY_NAMES: tuple[str, ...] = (
    "AIDevOpsAgentAccessPolicy",
    "AmazonAIOpsAssistantPolicy",
    "AmazonARCRegionSwitchScalingPolicy",
    "AmazonEKSACKPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSArgoCDClusterPolicy",
    "AmazonEKSArgoCDPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStorageClusterPolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSComputeClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSEventPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEKSKROPolicy",
    "AmazonEKSLoadBalancingClusterPolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingClusterPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSPodIdentityPolicy",
    "AmazonEKSSecretAdminPolicy",
    "AmazonEKSSecretReaderPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSpacePolicy",
    "AmazonSagemakerHyperpodSpaceTemplatePolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
    "AmazonSagemakerHyperpodUserClusterPolicy",
)
"""What ``aws eks list-access-policies`` returns (a published listing of 2026; the EKS User
Guide's "Review access policy permissions" page shows the same, abbreviated), in its order."""
POLICY_ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
CLUSTER_ADMIN_POLICY = POLICY_ARN_PREFIX + "AmazonEKSClusterAdminPolicy"


# --------------------------------------------------------------------------- access policies


class _Policies(model._Hook):
    """The hook's handlers for access policies (E.4)."""

    def _associate(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """E.4: STANDARD entries only ([seen] aws-controllers-k8s/community#2144), one
        association per policy, a new scope replaces the old one."""
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        policy_arn = str(call.body.get("policyArn") or "")
        _check_policy(policy_arn)
        scope = _scope(call.body.get("accessScope"))
        now = self._now()
        old = entry.policy(policy_arn)
        new = model.AssociatedPolicy(policy_arn, scope, old.associated_at if old else now, now)
        if old is None:
            policies = (*entry.policies, new)
        else:
            policies = tuple(new if p is old else p for p in entry.policies)
        access.entries[entry.principal_arn] = dataclasses.replace(entry, policies=policies)
        return model.ok(
            {
                "clusterName": call.cluster,
                "principalArn": entry.principal_arn,
                "associatedAccessPolicy": new.to_wire(),
            }
        )

    def _disassociate(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        policy_arn = call.label(5)
        if entry.policy(policy_arn) is None:
            raise wire.AwsError(
                "ResourceNotFoundException",
                f"The policy {policy_arn} is not associated with the access entry.",
                404,
            )
        kept = tuple(p for p in entry.policies if p.policy_arn != policy_arn)
        access.entries[entry.principal_arn] = dataclasses.replace(entry, policies=kept)
        return model.ok({})

    def _list_associated(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        page, token = model.page([p.to_wire() for p in entry.policies], call)
        body: dict[str, Any] = {
            "clusterName": call.cluster,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicies": page,
        }
        if token:
            body["nextToken"] = token
        return model.ok(body)

    def _list_policies(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        policies = [{"name": n, "arn": POLICY_ARN_PREFIX + n} for n in ACCESS_POLICY_NAMES]
        page, token = model.page(policies, call)
        return model.ok({"accessPolicies": page, **({"nextToken": token} if token else {})})


# --------------------------------------------------------------------------- validation


def _check_policy(policy_arn: str) -> None:
    name = policy_arn.removeprefix(POLICY_ARN_PREFIX)
    if not policy_arn.startswith(POLICY_ARN_PREFIX) or name not in ACCESS_POLICY_NAMES:
        raise model._invalid(f"The specified policyArn {policy_arn} is not a valid access policy.")


def _scope(raw: object) -> model.AccessScope:
    """``accessScope``: ``cluster`` without namespaces, ``namespace`` with at least one."""
    scope = raw if isinstance(raw, Mapping) else {}
    kind = scope.get("type")
    namespaces = tuple(entries._strings(scope.get("namespaces"), "namespaces"))
    if kind == "cluster":
        if namespaces:
            raise model._invalid("namespaces can't be specified when accessScope type is cluster.")
        return model.AccessScope("cluster")
    if kind == "namespace":
        if not namespaces:
            raise model._invalid("namespaces must be specified when accessScope type is namespace.")
        return model.AccessScope("namespace", namespaces)
    raise model._invalid(
        f"The accessScope type {kind} is not valid. Valid values: [cluster, namespace]"
    )
