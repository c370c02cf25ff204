"""In-memory AWS and Kubernetes ports for the planner's unit tests.

They keep just enough state to answer the reads and record every write (``writes``), so
that tests can assert "a second apply makes zero writes" without a server. Failures can be
injected per operation (``fail_on``) to test partial failures.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust import provision
from kubetrust.provision import (
    AccessPolicy,
    ClusterInfo,
    ClusterRef,
    LiveAccessEntry,
    LiveObject,
    LiveOidcProvider,
    LiveRole,
)

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"


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
    caller: str = ""

    def _w(self, what: str) -> None:
        self.recorder.write(f"{self.account} {what}")

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

    # OIDC providers
    def get_oidc_provider(self, url: str) -> LiveOidcProvider | None:
        found = self.providers.get(url)
        if found is None:
            return None
        arn = f"arn:aws:iam::{self.account}:oidc-provider/{url.removeprefix('https://')}"
        return LiveOidcProvider(arn, url, tuple(found["client_ids"]), dict(found["tags"]))

    def create_oidc_provider(
        self, url: str, client_ids: Sequence[str], tags: Mapping[str, str]
    ) -> None:
        self._w(f"create_oidc_provider {url}")
        self.providers[url] = {"client_ids": list(client_ids), "tags": dict(tags)}

    def _provider(self, arn: str) -> dict[str, Any]:
        return self.providers["https://" + arn.split(":oidc-provider/", 1)[1]]

    def add_oidc_client_id(self, arn: str, client_id: str) -> None:
        self._w(f"add_oidc_client_id {client_id}")
        self._provider(arn)["client_ids"].append(client_id)

    def tag_oidc_provider(self, arn: str, tags: Mapping[str, str]) -> None:
        self._w("tag_oidc_provider")
        self._provider(arn)["tags"].update(tags)

    def delete_oidc_provider(self, arn: str) -> None:
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

    def create_role(
        self,
        name: str,
        trust: Mapping[str, Any],
        max_session_duration: int,
        tags: Mapping[str, str],
        description: str,
    ) -> None:
        self._w(f"create_role {name}")
        self.roles[name] = {
            "trust": json.loads(json.dumps(trust)),
            "max": max_session_duration,
            "tags": dict(tags),
            "inline": {},
            "attached": [],
        }

    def update_trust(self, name: str, trust: Mapping[str, Any]) -> None:
        self._w(f"update_trust {name}")
        self.roles[name]["trust"] = json.loads(json.dumps(trust))

    def update_max_session_duration(self, name: str, seconds: int) -> None:
        self._w(f"update_max_session_duration {name}")
        self.roles[name]["max"] = seconds

    def tag_role(self, name: str, tags: Mapping[str, str]) -> None:
        self._w(f"tag_role {name}")
        self.roles[name]["tags"].update(tags)

    def put_role_policy(self, name: str, policy_name: str, document: Mapping[str, Any]) -> None:
        self._w(f"put_role_policy {name}/{policy_name}")
        self.roles[name]["inline"][policy_name] = json.loads(json.dumps(document))

    def delete_role_policy(self, name: str, policy_name: str) -> None:
        self._w(f"delete_role_policy {name}/{policy_name}")
        del self.roles[name]["inline"][policy_name]

    def attach_role_policy(self, name: str, arn: str) -> None:
        self._w(f"attach_role_policy {name} {arn}")
        self.roles[name]["attached"].append(arn)

    def detach_role_policy(self, name: str, arn: str) -> None:
        self._w(f"detach_role_policy {name} {arn}")
        self.roles[name]["attached"].remove(arn)

    def delete_role(self, name: str) -> None:
        self._w(f"delete_role {name}")
        assert not self.roles[name]["inline"] and not self.roles[name]["attached"]
        del self.roles[name]

    # access entries
    def get_access_entry(self, region: str, cluster: str, principal: str) -> LiveAccessEntry | None:
        entry = self.entries.get((region, cluster, principal))
        if entry is None:
            return None
        policies = tuple(AccessPolicy(arn, ns) for arn, ns in entry["policies"].items())
        return LiveAccessEntry(principal, entry["username"], tuple(entry["groups"]), policies)

    def create_access_entry(
        self,
        region: str,
        cluster: str,
        principal: str,
        username: str | None,
        groups: Sequence[str],
        tags: Mapping[str, str],
    ) -> None:
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
        self._w(f"update_access_entry {cluster} {principal}")
        entry = self.entries[(region, cluster, principal)]
        entry["groups"] = list(groups)
        if username:
            entry["username"] = username

    def delete_access_entry(self, region: str, cluster: str, principal: str) -> None:
        self._w(f"delete_access_entry {cluster} {principal}")
        del self.entries[(region, cluster, principal)]

    def associate_access_policy(
        self, region: str, cluster: str, principal: str, policy: AccessPolicy
    ) -> None:
        self._w(f"associate_access_policy {cluster} {policy.arn}")
        self.entries[(region, cluster, principal)]["policies"][policy.arn] = policy.namespaces

    def disassociate_access_policy(
        self, region: str, cluster: str, principal: str, policy_arn: str
    ) -> None:
        self._w(f"disassociate_access_policy {cluster} {policy_arn}")
        del self.entries[(region, cluster, principal)]["policies"][policy_arn]


@dataclass
class FakeKube:
    name: str
    recorder: Recorder
    objects: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

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
