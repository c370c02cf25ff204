"""EKS access policies: the managed catalog and their association with access entries (E.4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubetrust.model import vocabulary
from kubetrust.sandbox.aws import credentials, wire
from kubetrust.sandbox.aws.services.eks import entries, model

# --------------------------------------------------------------------------- access policies


class PolicyHandlers(model.AccessState):
    """The hook's handlers for access policies (E.4)."""

    def _associate(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """E.4: STANDARD entries only ([seen] aws-controllers-k8s/community#2144), one
        association per policy, a new scope replaces the old one."""
        access = self._writable_api_cluster(call, "AssociateAccessPolicy")
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
        access = self._writable_api_cluster(call, "DisassociateAccessPolicy")
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
        # what ``aws eks list-access-policies`` returns, in its order
        policies = [{"name": p.name, "arn": p.arn} for p in vocabulary.ACCESS_POLICIES]
        page, token = model.page(policies, call)
        return model.ok({"accessPolicies": page, **({"nextToken": token} if token else {})})


# --------------------------------------------------------------------------- validation


def _check_policy(policy_arn: str) -> None:
    prefix = vocabulary.ACCESS_POLICY_ARN_PREFIX
    name = policy_arn.removeprefix(prefix)
    if not policy_arn.startswith(prefix) or name not in vocabulary.ACCESS_POLICY_BY_NAME:
        raise model.invalid(f"The specified policyArn {policy_arn} is not a valid access policy.")


def _scope(raw: object) -> model.AccessScope:
    """``accessScope``: ``cluster`` without namespaces, ``namespace`` with at least one."""
    scope = raw if isinstance(raw, Mapping) else {}
    kind = scope.get("type")
    namespaces = tuple(entries.string_list(scope.get("namespaces"), "namespaces"))
    if kind == "cluster":
        if namespaces:
            raise model.invalid("namespaces can't be specified when accessScope type is cluster.")
        return model.AccessScope("cluster")
    if kind == "namespace":
        if not namespaces:
            raise model.invalid("namespaces must be specified when accessScope type is namespace.")
        return model.AccessScope("namespace", namespaces)
    raise model.invalid(
        f"The accessScope type {kind} is not valid. Valid values: [cluster, namespace]"
    )
