"""Build an explain *world* (tests/cases/explain format) in the running sandbox, for real.

Every piece goes through the public APIs as the account administrators would create it:
EKS clusters (``CreateCluster``: the sandbox gives each its issuer and API server), IAM OIDC
providers, customer managed policies, roles (trust, inline policies, boundary), access
entries with their access policies; then, through each cluster's Kubernetes API with an EKS
token, namespaces, service accounts, RBAC objects and the aws-auth ConfigMap. Placeholders
(``{ci}``, ``{target}``, ``{s}``, ``{prefix}``) are filled in as the world is built: the
issuer of the first cluster is only known once the sandbox has created it.

Worlds may share clusters (every cluster is an API server to start and stop): a cluster
name built before is reused as it is, an OIDC provider that exists is kept, and aws-auth
entries are added to the ConfigMap that is there.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import kubernetes.client
import yaml
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from kubernetes.client.exceptions import ApiException

from kubetrust.adapters import snapshot_kube
from kubetrust.adapters.aws import AwsAccess
from kubetrust.sandbox.eks import clusters as cluster_records

CI = "111111111111"
TARGET = "222222222222"
REGION = "us-east-1"
SERVICE_ROLE = "kubetrust-test-eks-service"


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for token, text in names.items():
            value = value.replace(token, text)
        return value
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    return value


def _casekit() -> Any:
    """tests/cases/explain/casekit.py, whose patch format this module's worlds use."""
    path = Path(__file__).resolve().parents[1] / "cases" / "explain" / "casekit.py"
    spec = importlib.util.spec_from_file_location("casekit_for_sandbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


patched: Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]] = _casekit().patched
"""casekit's patches: ``{set|append|delete: [path...], value: ...}``, applied as written."""


@dataclass
class Built:
    """A world made real: its clusters' records (issuers) and the filled-in world."""

    world: dict[str, Any]
    names: dict[str, str]
    issuers: dict[str, Any] = field(default_factory=dict)


class Clients:
    """boto3 clients for the sandbox from one shared session: a new session per client
    reloads botocore's data files (a tenth of a second each)."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.session = boto3.session.Session()
        self._admin: dict[tuple[str, str], Any] = {}

    def client(
        self,
        service: str,
        *,
        account: str | None = None,
        credentials: dict[str, str] | None = None,
        unsigned: bool = False,
    ) -> Any:
        """An account administrator's client (cached), a session's, or an unsigned one."""
        if account is not None and (service, account) in self._admin:
            return self._admin[(service, account)]
        config = Config(retries={"max_attempts": 1}, region_name=REGION)
        if unsigned:
            config = config.merge(Config(signature_version=UNSIGNED))
            credentials = {"aws_access_key_id": "unused", "aws_secret_access_key": "unused"}
        if account is not None:
            key, secret = self.sandbox.admin_keys[account]
            credentials = {"aws_access_key_id": key, "aws_secret_access_key": secret}
        found = self.session.client(
            service, endpoint_url=self.sandbox.endpoint, config=config, **(credentials or {})
        )
        if account is not None:
            self._admin[(service, account)] = found
        return found

    @staticmethod
    def session_credentials(response: dict[str, Any]) -> dict[str, str]:
        creds = response["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }


class Builder:
    """Creates worlds in the session's sandbox as each account's administrator."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.aws = Clients(sandbox)
        self._service_roles: set[str] = set()
        self._apis: dict[str, kubernetes.client.ApiClient] = {}
        self._records: dict[str, Any] = {}

    def access(self, account: str) -> AwsAccess:
        key, secret = self.sandbox.admin_keys[account]
        return AwsAccess(
            access_key_id=key,
            secret_access_key=secret,
            endpoint_url=self.sandbox.endpoint,
            region=REGION,
        )

    def _service_role(self, account: str) -> str:
        role_arn = f"arn:aws:iam::{account}:role/{SERVICE_ROLE}"
        if account in self._service_roles:
            return role_arn
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        try:
            self.aws.client("iam", account=account).create_role(
                RoleName=SERVICE_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "EntityAlreadyExists":
                raise
        self._service_roles.add(account)
        return role_arn

    # ------------------------------------------------------------------ the world
    def build(self, template: dict[str, Any], suffix: str | None = None) -> Built:
        names = {"{ci}": CI, "{target}": TARGET, "{s}": suffix or uuid.uuid4().hex[:8]}
        world = fill(template, names)
        built = Built(world, names)
        for cluster in world.get("clusters") or []:
            record = self._cluster(cluster)
            built.issuers[cluster["name"]] = record.issuer
            names.setdefault("{prefix}", record.issuer.issuer_url.removeprefix("https://"))
        world = fill(world, names)
        built.world = world
        for account in world.get("accounts") or []:
            self._providers_and_policies(account)
        self._roles(world.get("accounts") or [])
        for cluster in world.get("clusters") or []:
            self._access_entries(cluster)
            self._kubernetes(cluster)
        return built

    def _cluster(self, cluster: dict[str, Any]) -> Any:
        """The cluster's record, created unless a world built before created it."""
        if cluster["name"] in self._records:
            return self._records[cluster["name"]]
        account = str(cluster["account"])
        self.aws.client("eks", account=account).create_cluster(
            name=cluster["name"],
            roleArn=self._service_role(account),
            resourcesVpcConfig={"subnetIds": []},
            accessConfig={"authenticationMode": cluster.get("authentication_mode", "CONFIG_MAP")},
            **({"tags": cluster["tags"]} if cluster.get("tags") else {}),
        )
        record = cluster_records.find(self.sandbox.state_dir, cluster["name"], account)
        self._records[cluster["name"]] = record
        return record

    def _providers_and_policies(self, account: dict[str, Any]) -> None:
        iam = self.aws.client("iam", account=str(account["id"]))
        for provider in account.get("oidc_providers") or []:
            try:
                iam.create_open_id_connect_provider(
                    Url=provider["url"],
                    ClientIDList=list(provider.get("client_ids") or []),
                    ThumbprintList=["a" * 40],
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "EntityAlreadyExists":
                    raise
        for policy in account.get("policies") or []:
            iam.create_policy(
                PolicyName=policy["name"], PolicyDocument=json.dumps(policy["document"])
            )

    def _roles(self, accounts: list[dict[str, Any]]) -> None:
        """Roles in rounds: a trust may only name roles that exist (IAM refuses others)."""
        pending = [(str(a["id"]), role) for a in accounts for role in a.get("roles") or []]
        for _ in range(len(pending) + 1):
            waiting = []
            for account, role in pending:
                try:
                    self._role(account, role)
                except ClientError as error:
                    if error.response["Error"]["Code"] != "MalformedPolicyDocument":
                        raise
                    waiting.append((account, role))
            if not waiting:
                return
            pending = waiting
        raise AssertionError(f"roles whose trusts name missing principals: {pending}")

    def _role(self, account: str, role: dict[str, Any]) -> None:
        iam = self.aws.client("iam", account=account)
        extra: dict[str, Any] = {}
        if role.get("boundary"):
            extra["PermissionsBoundary"] = role["boundary"]
        if role.get("tags"):
            extra["Tags"] = [{"Key": k, "Value": v} for k, v in role["tags"].items()]
        iam.create_role(
            RoleName=role["name"],
            Path=role.get("path", "/"),
            AssumeRolePolicyDocument=json.dumps(role["trust"]),
            **extra,
        )
        for name, document in (role.get("policies") or {}).items():
            iam.put_role_policy(
                RoleName=role["name"], PolicyName=name, PolicyDocument=json.dumps(document)
            )
        for policy_arn in role.get("managed") or []:
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=policy_arn)

    def _access_entries(self, cluster: dict[str, Any]) -> None:
        eks = self.aws.client("eks", account=str(cluster["account"]))
        for entry in cluster.get("access_entries") or []:
            extra = {k: entry[k] for k in ("kubernetesGroups", "username", "type") if k in entry}
            eks.create_access_entry(
                clusterName=cluster["name"], principalArn=entry["principalArn"], **extra
            )
            for policy in entry.get("policies") or []:
                eks.associate_access_policy(
                    clusterName=cluster["name"],
                    principalArn=entry["principalArn"],
                    policyArn=policy["policyArn"],
                    accessScope=policy["accessScope"],
                )

    # ------------------------------------------------------------------ Kubernetes
    def admin_api(self, cluster: dict[str, Any]) -> kubernetes.client.ApiClient:
        """The cluster's API as its account's administrator (EKS token, cached client)."""
        name = cluster["name"]
        if name not in self._apis:
            access = self.access(str(cluster["account"]))
            self._apis[name] = snapshot_kube.from_access(access, name, REGION)
        return self._apis[name]

    def _kubernetes(self, cluster: dict[str, Any]) -> None:
        objects = list(cluster.get("manifests") or [])
        if not objects and "aws_auth" not in cluster:
            return
        api = self.admin_api(cluster)
        for obj in objects:
            namespace = (obj.get("metadata") or {}).get("namespace")
            if namespace:
                ensure_namespace(api, namespace)
            create(api, obj)
        if "aws_auth" in cluster:
            add_aws_auth(api, cluster["aws_auth"])


def add_aws_auth(api: kubernetes.client.ApiClient, mappings: dict[str, list[Any]]) -> None:
    """Append ``mappings`` (mapRoles, mapUsers...) to the cluster's aws-auth ConfigMap."""
    core = kubernetes.client.CoreV1Api(api)
    try:
        found = core.read_namespaced_config_map("aws-auth", "kube-system")
        data = dict(found.data or {})
    except ApiException as error:
        if error.status != 404:
            raise
        found, data = None, {}
    for key, entries in mappings.items():
        data[key] = yaml.safe_dump([*(yaml.safe_load(data.get(key) or "[]") or []), *entries])
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": data,
    }
    if found is None:
        core.create_namespaced_config_map("kube-system", body)
    else:
        body["metadata"]["resourceVersion"] = found.metadata.resource_version
        core.replace_namespaced_config_map("aws-auth", "kube-system", body)


def ensure_namespace(api: kubernetes.client.ApiClient, name: str) -> None:
    try:
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    except ApiException as error:
        if error.status != 409:
            raise


def create(api: kubernetes.client.ApiClient, obj: dict[str, Any]) -> None:
    """Create one object of the kinds worlds hold."""
    core = kubernetes.client.CoreV1Api(api)
    rbac = kubernetes.client.RbacAuthorizationV1Api(api)
    namespace = (obj.get("metadata") or {}).get("namespace")
    makers: dict[str, Callable[[], Any]] = {
        "ServiceAccount": lambda: core.create_namespaced_service_account(namespace, obj),
        "ConfigMap": lambda: core.create_namespaced_config_map(namespace, obj),
        "Role": lambda: rbac.create_namespaced_role(namespace, obj),
        "RoleBinding": lambda: rbac.create_namespaced_role_binding(namespace, obj),
        "ClusterRole": lambda: rbac.create_cluster_role(obj),
        "ClusterRoleBinding": lambda: rbac.create_cluster_role_binding(obj),
    }
    makers[obj["kind"]]()


def mint(issuer: Any, namespace: str, service_account: str, audience: str) -> str:
    """A projected token as the cluster's API server would sign it (C.1)."""
    return str(
        issuer.mint_service_account_token(
            namespace=namespace,
            service_account=service_account,
            service_account_uid=str(uuid.uuid4()),
            audiences=[audience],
            expiration_seconds=3600,
            now=int(time.time()),
        )
    )
