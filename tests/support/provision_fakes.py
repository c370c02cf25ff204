"""In-memory AWS and Kubernetes ports: the planner's unit tests and the port contract test.

They keep just enough state to answer the reads and record every write (``writes``), so
that tests can assert "a second apply makes zero writes" without a server. Failures can be
injected per operation (``fail_on``) to test partial failures.

The AWS fake answers as :class:`kubetrust.adapters.BotoAwsPort` does against AWS (and the
sandbox): "not found" reads are ``None``, refused writes raise
:class:`~kubetrust.adapters.aws.AwsApiError` with AWS's code and the port's operation name.
``tests/sandbox/test_port_contract.py`` runs the same cases against both, so that this fake
cannot drift from the real port. ``role_lag`` makes the next N writes naming a role answer as
EKS does for a role it cannot see yet (reference H.1).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust import provision
from kubetrust.adapters.aws import AwsApiError
from kubetrust.provision import (
    AccessPolicy,
    ClusterInfo,
    ClusterRef,
    LiveAccessEntry,
    LiveAddon,
    LiveObject,
    LiveOidcProvider,
    LivePodIdentityAssociation,
    LiveRole,
)
from kubetrust.provision.ports import LivePod

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
ROLE_NOT_VISIBLE = "Role provided in the request does not exist"
PRINCIPAL_NOT_VISIBLE = "The specified principalArn is invalid: invalid principal."
_ids = itertools.count(1)


class Boom(provision.ProvisionError):
    """An injected failure."""


@dataclass
class Recorder:
    writes: list[str] = field(default_factory=list)
    fail_on: set[str] = field(default_factory=set)

    def write(self, what: str) -> None:
        for pattern in self.fail_on:
            if pattern in what:
                raise Boom(f"injected failure: {what}")
        self.writes.append(what)


@dataclass
class FakeAws:
    account: str
    recorder: Recorder
    clusters: dict[tuple[str, str], ClusterInfo] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    associations: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    addons: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    caller: str = ""
    role_lag: int = 0
    addon_roles: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    """(region, cluster) → add-on name → its ``serviceAccountRoleArn`` (migrate pod-identity)."""
    """The next N association writes answer "Role provided in the request does not exist"."""

    def _w(self, what: str) -> None:
        self.recorder.write(f"{self.account} {what}")

    def _refuse(self, operation: str, code: str, message: str) -> AwsApiError:
        return AwsApiError(operation, code, message, self.account)

    def _lagging(self, operation: str) -> None:
        if self.role_lag > 0:
            self.role_lag -= 1
            raise self._refuse(operation, "InvalidParameterException", ROLE_NOT_VISIBLE)

    def caller_arn(self) -> str:
        return self.caller or f"arn:aws:iam::{self.account}:user/admin"

    def describe_cluster(self, region: str, name: str) -> ClusterInfo | None:
        return self.clusters.get((region, name))

    def add_cluster(self, region: str, name: str, mode: str = "API_AND_CONFIG_MAP") -> None:
        self.clusters[(region, name)] = ClusterInfo(
            name=name,
            arn=f"arn:aws:eks:{region}:{self.account}:cluster/{name}",
            endpoint=f"https://{name}.example",
            ca_data="Q0E=",
            issuer=ISSUER,
            authentication_mode=mode,
        )

    def _cluster(self, operation: str, region: str, name: str) -> None:
        if (region, name) not in self.clusters:
            raise self._refuse(
                operation, "ResourceNotFoundException", f"No cluster found for name: {name}."
            )

    # OIDC providers
    def _provider_arn(self, url: str) -> str:
        return f"arn:aws:iam::{self.account}:oidc-provider/{url.removeprefix('https://')}"

    def get_oidc_provider(self, url: str) -> LiveOidcProvider | None:
        found = self.providers.get(url)
        if found is None:
            return None
        return LiveOidcProvider(
            self._provider_arn(url), url, tuple(found["client_ids"]), dict(found["tags"])
        )

    def create_oidc_provider(
        self, url: str, client_ids: Sequence[str], tags: Mapping[str, str]
    ) -> None:
        if url in self.providers:
            raise self._refuse(
                "create_open_id_connect_provider",
                "EntityAlreadyExists",
                f"Provider with url {url} already exists.",
            )
        self._w(f"create_oidc_provider {url}")
        self.providers[url] = {"client_ids": list(client_ids), "tags": dict(tags)}

    def _provider(self, operation: str, arn: str) -> dict[str, Any]:
        found = self.providers.get("https://" + arn.split(":oidc-provider/", 1)[1])
        if found is None:
            raise self._refuse(
                operation, "NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}"
            )
        return found

    def add_oidc_client_id(self, arn: str, client_id: str) -> None:
        provider = self._provider("add_client_id_to_open_id_connect_provider", arn)
        self._w(f"add_oidc_client_id {client_id}")
        if client_id not in provider["client_ids"]:
            provider["client_ids"].append(client_id)

    def tag_oidc_provider(self, arn: str, tags: Mapping[str, str]) -> None:
        provider = self._provider("tag_open_id_connect_provider", arn)
        self._w("tag_oidc_provider")
        provider["tags"].update(tags)

    def delete_oidc_provider(self, arn: str) -> None:
        self._provider("delete_open_id_connect_provider", arn)
        self._w("delete_oidc_provider")
        del self.providers["https://" + arn.split(":oidc-provider/", 1)[1]]

    # roles
    def get_role(self, name: str) -> LiveRole | None:
        role = self.roles.get(name)
        if role is None:
            return None
        return LiveRole(
            name,
            f"arn:aws:iam::{self.account}:role/{name}",
            copy.deepcopy(role["trust"]),
            role["max"],
            dict(role["tags"]),
            copy.deepcopy(role["inline"]),
            tuple(role["attached"]),
        )

    def _role(self, operation: str, name: str) -> dict[str, Any]:
        found = self.roles.get(name)
        if found is None:
            raise self._refuse(
                operation, "NoSuchEntity", f"The role with name {name} cannot be found."
            )
        return found

    def create_role(
        self,
        name: str,
        trust: Mapping[str, Any],
        max_session_duration: int,
        tags: Mapping[str, str],
        description: str,
    ) -> None:
        if name in self.roles:
            raise self._refuse(
                "create_role", "EntityAlreadyExists", f"Role with name {name} already exists."
            )
        self._w(f"create_role {name}")
        self.roles[name] = {
            "trust": json.loads(json.dumps(trust)),
            "max": max_session_duration,
            "tags": dict(tags),
            "inline": {},
            "attached": [],
        }

    def update_trust(self, name: str, trust: Mapping[str, Any]) -> None:
        role = self._role("update_assume_role_policy", name)
        self._w(f"update_trust {name}")
        role["trust"] = json.loads(json.dumps(trust))

    def update_max_session_duration(self, name: str, seconds: int) -> None:
        role = self._role("update_role", name)
        self._w(f"update_max_session_duration {name}")
        role["max"] = seconds

    def tag_role(self, name: str, tags: Mapping[str, str]) -> None:
        role = self._role("tag_role", name)
        self._w(f"tag_role {name}")
        role["tags"].update(tags)

    def put_role_policy(self, name: str, policy_name: str, document: Mapping[str, Any]) -> None:
        role = self._role("put_role_policy", name)
        self._w(f"put_role_policy {name}/{policy_name}")
        role["inline"][policy_name] = json.loads(json.dumps(document))

    def delete_role_policy(self, name: str, policy_name: str) -> None:
        role = self._role("delete_role_policy", name)
        if policy_name not in role["inline"]:
            raise self._refuse(
                "delete_role_policy",
                "NoSuchEntity",
                f"The role policy with name {policy_name} cannot be found.",
            )
        self._w(f"delete_role_policy {name}/{policy_name}")
        del role["inline"][policy_name]

    def attach_role_policy(self, name: str, arn: str) -> None:
        role = self._role("attach_role_policy", name)
        self._w(f"attach_role_policy {name} {arn}")
        if arn not in role["attached"]:
            role["attached"].append(arn)

    def detach_role_policy(self, name: str, arn: str) -> None:
        role = self._role("detach_role_policy", name)
        if arn not in role["attached"]:
            raise self._refuse("detach_role_policy", "NoSuchEntity", f"Policy {arn} was not found.")
        self._w(f"detach_role_policy {name} {arn}")
        role["attached"].remove(arn)

    def delete_role(self, name: str) -> None:
        role = self._role("delete_role", name)
        if role["inline"] or role["attached"]:
            raise self._refuse(
                "delete_role",
                "DeleteConflict",
                "Cannot delete entity, must delete policies first.",
            )
        self._w(f"delete_role {name}")
        del self.roles[name]

    # access entries
    def get_access_entry(self, region: str, cluster: str, principal: str) -> LiveAccessEntry | None:
        entry = self.entries.get((region, cluster, principal))
        if entry is None:
            return None
        policies = tuple(AccessPolicy(arn, ns) for arn, ns in entry["policies"].items())
        return LiveAccessEntry(principal, entry["username"], tuple(entry["groups"]), policies)

    def _entry(self, operation: str, region: str, cluster: str, principal: str) -> dict[str, Any]:
        self._cluster(operation, region, cluster)
        found = self.entries.get((region, cluster, principal))
        if found is None:
            raise self._refuse(
                operation,
                "ResourceNotFoundException",
                f"The specified access entry resource is not found on cluster {cluster}.",
            )
        return found

    def create_access_entry(
        self,
        region: str,
        cluster: str,
        principal: str,
        username: str | None,
        groups: Sequence[str],
        tags: Mapping[str, str],
    ) -> None:
        self._cluster("create_access_entry", region, cluster)
        if (region, cluster, principal) in self.entries:
            raise self._refuse(
                "create_access_entry",
                "ResourceInUseException",
                "The specified access entry resource is already in use on this cluster.",
            )
        if (
            principal.split(":")[4] == self.account
            and principal.rpartition("/")[2] not in self.roles
        ):
            raise self._refuse(
                "create_access_entry", "InvalidParameterException", PRINCIPAL_NOT_VISIBLE
            )
        self._w(f"create_access_entry {cluster} {principal}")
        default = principal.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
        self.entries[(region, cluster, principal)] = {
            "username": username or default + "/{{SessionName}}",
            "groups": list(groups),
            "policies": {},
        }

    def update_access_entry(
        self, region: str, cluster: str, principal: str, username: str | None, groups: Sequence[str]
    ) -> None:
        entry = self._entry("update_access_entry", region, cluster, principal)
        self._w(f"update_access_entry {cluster} {principal}")
        entry["groups"] = list(groups)
        if username:
            entry["username"] = username

    def delete_access_entry(self, region: str, cluster: str, principal: str) -> None:
        self._entry("delete_access_entry", region, cluster, principal)
        self._w(f"delete_access_entry {cluster} {principal}")
        del self.entries[(region, cluster, principal)]

    def associate_access_policy(
        self, region: str, cluster: str, principal: str, policy: AccessPolicy
    ) -> None:
        entry = self._entry("associate_access_policy", region, cluster, principal)
        self._w(f"associate_access_policy {cluster} {policy.arn}")
        entry["policies"][policy.arn] = policy.namespaces

    def disassociate_access_policy(
        self, region: str, cluster: str, principal: str, policy_arn: str
    ) -> None:
        entry = self._entry("disassociate_access_policy", region, cluster, principal)
        self._w(f"disassociate_access_policy {cluster} {policy_arn}")
        entry["policies"].pop(policy_arn, None)

    # EKS Pod Identity
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
        operation = "create_pod_identity_association"
        self._cluster(operation, region, cluster)
        self._lagging(operation)
        if role_arn.rpartition("/")[2] not in self.roles:
            raise self._refuse(operation, "InvalidParameterException", ROLE_NOT_VISIBLE)
        key = (region, cluster, namespace, service_account)
        if key in self.associations:
            raise self._refuse(
                operation,
                "ResourceInUseException",
                f"Association already exists: {self.associations[key]['id']}",
            )
        self._w(f"create_pod_identity_association {cluster} {namespace}/{service_account}")
        self.associations[key] = {
            "id": f"a-{next(_ids):017d}",
            "role": role_arn,
            "target": target_role_arn,
            "tags": dict(tags),
        }

    def _by_id(
        self, operation: str, region: str, cluster: str, association_id: str
    ) -> dict[str, Any]:
        self._cluster(operation, region, cluster)
        for (r, c, _, _), found in self.associations.items():
            if (r, c, found["id"]) == (region, cluster, association_id):
                return found
        raise self._refuse(
            operation,
            "ResourceNotFoundException",
            f"No Pod Identity Association found for id {association_id}",
        )

    def update_pod_identity_association(
        self,
        region: str,
        cluster: str,
        association_id: str,
        role_arn: str,
        target_role_arn: str | None,
    ) -> None:
        operation = "update_pod_identity_association"
        found = self._by_id(operation, region, cluster, association_id)
        self._lagging(operation)
        self._w(f"update_pod_identity_association {association_id}")
        found["role"] = role_arn
        if target_role_arn is not None:
            found["target"] = target_role_arn

    def delete_pod_identity_association(
        self, region: str, cluster: str, association_id: str
    ) -> None:
        found = self._by_id("delete_pod_identity_association", region, cluster, association_id)
        self._w(f"delete_pod_identity_association {association_id}")
        self.associations = {k: v for k, v in self.associations.items() if v is not found}

    def get_addon(self, region: str, cluster: str, name: str) -> LiveAddon | None:
        return LiveAddon(name, "ACTIVE") if name in self.addons.get((region, cluster), []) else None

    def create_addon(self, region: str, cluster: str, name: str, tags: Mapping[str, str]) -> None:
        self._cluster("create_addon", region, cluster)
        if name in self.addons.get((region, cluster), []):
            raise self._refuse(
                "create_addon", "ResourceInUseException", f"Addon already exists: {name}"
            )
        self._w(f"create_addon {cluster} {name}")
        self.addons.setdefault((region, cluster), []).append(name)

    def wait_addon_active(self, region: str, cluster: str, name: str) -> None:
        """Active at once (the fake is synchronous); a missing add-on is an error."""
        if self.get_addon(region, cluster, name) is None:
            raise self._refuse("addon_active", "ResourceNotFoundException", f"No addon: {name}")

    # --- migrate pod-identity
    def addon_service_account_roles(self, region: str, cluster: str) -> dict[str, str]:
        """Add-on name → role, for the add-ons given one in ``addon_roles``."""
        names = self.addons.get((region, cluster), [])
        return {n: r for n, r in self.addon_roles.get((region, cluster), {}).items() if n in names}

    # --- migrate access-entries
    def update_authentication_mode(self, region: str, cluster: str, mode: str) -> None:
        """One step forward only, as EKS (reference E.1); done at once (the fake is
        synchronous). Leaving ``CONFIG_MAP``, the caller — the fake's clusters' creator —
        gets EKS's admin entry."""
        self._cluster("update_cluster_config", region, cluster)
        info = self.clusters[(region, cluster)]
        steps = {"CONFIG_MAP": "API_AND_CONFIG_MAP", "API_AND_CONFIG_MAP": "API"}
        if steps.get(info.authentication_mode) != mode:
            raise self._refuse(
                "update_cluster_config",
                "InvalidParameterException",
                f"Unsupported authentication mode update from {info.authentication_mode} to {mode}",
            )
        self._w(f"update_authentication_mode {cluster} {mode}")
        if info.authentication_mode == "CONFIG_MAP":
            admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            self.entries.setdefault(
                (region, cluster, self.caller_arn()),
                {"username": "", "groups": [], "policies": {admin: None}, "type": "STANDARD"},
            )
        self.clusters[(region, cluster)] = dataclasses.replace(info, authentication_mode=mode)

    def create_node_access_entry(
        self, region: str, cluster: str, principal: str, entry_type: str, tags: Mapping[str, str]
    ) -> None:
        self._cluster("create_access_entry", region, cluster)
        if (region, cluster, principal) in self.entries:
            raise self._refuse(
                "create_access_entry",
                "ResourceInUseException",
                "The specified access entry resource is already in use on this cluster.",
            )
        self._w(f"create_access_entry {cluster} {principal} {entry_type}")
        self.entries[(region, cluster, principal)] = {
            "username": "system:node:{{EC2PrivateDNSName}}",
            "groups": [],
            "policies": {},
            "type": entry_type,
        }


@dataclass
class FakeKube:
    name: str
    recorder: Recorder
    objects: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    pods: list[LivePod] = field(default_factory=list)

    def _w(self, what: str) -> None:
        self.recorder.write(f"{self.name} {what}")

    def _get(self, kind: str, namespace: str | None, name: str) -> LiveObject | None:
        obj = self.objects.get((kind, namespace, name))
        if obj is None:
            return None
        return LiveObject(
            namespace,
            name,
            dict(obj["labels"]),
            dict(obj["annotations"]),
            dict(obj.get("data", {})),
            str(obj["rv"]),
        )

    def _put(self, kind: str, namespace: str | None, name: str, **fields: Any) -> None:
        obj = {"labels": {}, "annotations": {}, "data": {}}
        obj.update({k: dict(v) for k, v in fields.items()})
        obj["rv"] = next(self.versions)
        self.objects[(kind, namespace, name)] = obj

    def get_namespace(self, name: str) -> LiveObject | None:
        return self._get("ns", None, name)

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        self._w(f"create_namespace {name}")
        self._put("ns", None, name, labels=labels)

    def get_service_account(self, namespace: str, name: str) -> LiveObject | None:
        return self._get("sa", namespace, name)

    def create_service_account(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None:
        self._w(f"create_service_account {namespace}/{name}")
        self._put("sa", namespace, name, labels=labels, annotations=annotations)

    def patch_service_account(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        self._w(f"patch_service_account {namespace}/{name}")
        obj = self.objects[("sa", namespace, name)]
        for key, value in annotations.items():
            if value is None:
                obj["annotations"].pop(key, None)
            else:
                obj["annotations"][key] = value
        obj["rv"] = next(self.versions)

    def delete_service_account(self, namespace: str, name: str) -> None:
        self._w(f"delete_service_account {namespace}/{name}")
        del self.objects[("sa", namespace, name)]

    def get_config_map(self, namespace: str, name: str) -> LiveObject | None:
        return self._get("cm", namespace, name)

    def create_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        self._w(f"create_config_map {namespace}/{name}")
        assert ("cm", namespace, name) not in self.objects
        self._put("cm", namespace, name, labels=labels, data=data)

    def replace_config_map(self, obj: LiveObject) -> None:
        self._w(f"replace_config_map {obj.namespace}/{obj.name}")
        current = self.objects[("cm", obj.namespace, obj.name)]
        if obj.resource_version and str(current["rv"]) != obj.resource_version:
            raise provision.ProvisionError("conflict: the object has been modified")
        self._put(
            "cm",
            obj.namespace,
            obj.name,
            labels=obj.labels,
            annotations=obj.annotations,
            data=obj.data,
        )

    def delete_config_map(self, namespace: str, name: str) -> None:
        self._w(f"delete_config_map {namespace}/{name}")
        del self.objects[("cm", namespace, name)]

    # --- migrate pod-identity
    def list_pods(self, namespace: str) -> tuple[LivePod, ...]:
        return tuple(p for p in self.pods if p.namespace == namespace)


@dataclass
class FakePorts:
    recorder: Recorder = field(default_factory=Recorder)
    accounts: dict[str, FakeAws] = field(default_factory=dict)
    clusters: dict[str, FakeKube] = field(default_factory=dict)

    def aws(self, account: str) -> FakeAws:
        if account not in self.accounts:
            self.accounts[account] = FakeAws(account, self.recorder)
        return self.accounts[account]

    def kube(self, cluster: ClusterRef) -> FakeKube:
        if cluster.key not in self.clusters:
            self.clusters[cluster.key] = FakeKube(cluster.name, self.recorder)
        return self.clusters[cluster.key]

    def cluster(self, account: str, region: str, name: str) -> FakeKube:
        return self.kube(ClusterRef(account, region, name))
