"""The Kubernetes part of a snapshot: aws-auth, RBAC objects and service accounts of a cluster.

What ``kubectl get cm aws-auth -n kube-system -o json`` and ``kubectl get
clusterroles,clusterrolebindings,roles,rolebindings,serviceaccounts -A -o json`` print,
read through the kubernetes client and written in the bundle layout (``aws-auth.json``,
``manifests/rbac.json``, ``manifests/serviceaccounts.json``: ``List`` objects). Only reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import kubernetes.client
import urllib3.exceptions
from botocore.exceptions import BotoCoreError, ClientError
from kubernetes.client.exceptions import ApiException

from kubetrust.adapters.aws import AwsAccess, session
from kubetrust.adapters.kube import KubeApiError, KubernetesPort
from kubetrust.adapters.token import eks_bearer_token

RBAC = "rbac.authorization.k8s.io/v1"
_RBAC_LISTS = (
    ("list_cluster_role", "ClusterRole"),
    ("list_cluster_role_binding", "ClusterRoleBinding"),
    ("list_role_for_all_namespaces", "Role"),
    ("list_role_binding_for_all_namespaces", "RoleBinding"),
)


def from_kubeconfig(path: str | None, context: str) -> kubernetes.client.ApiClient:
    """kubectl's way: a kubeconfig ``context`` (its user's credentials)."""
    return KubernetesPort.from_kubeconfig(path, context).api_client


def from_cluster(
    boto_session: boto3.session.Session,
    cluster: Mapping[str, Any],
    region: str,
    endpoint_url: str | None = None,
) -> kubernetes.client.ApiClient:
    """``aws eks update-kubeconfig``'s way: DescribeCluster's endpoint and CA, an EKS token
    signed with ``boto_session``'s credentials."""
    name = str(cluster.get("name"))
    endpoint = str(cluster.get("endpoint") or "")
    ca_data = str((cluster.get("certificateAuthority") or {}).get("data") or "")
    if not endpoint or not ca_data:
        raise KubeApiError("connect", 0, "NoEndpoint", f"cluster {name} has no endpoint or CA")

    def token() -> str:
        return eks_bearer_token(boto_session, name, region, endpoint_url)

    return KubernetesPort.from_endpoint(endpoint, ca_data, token).api_client


def _read(operation: str, call: Callable[[], Any]) -> Any:
    """``call()``, Kubernetes failures as :class:`KubeApiError`; a 404 is ``None``."""
    try:
        return call()
    except ApiException as error:
        if error.status == 404:
            return None
        raise KubeApiError(operation, int(error.status or 0), str(error.reason)) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise KubeApiError(operation, 0, "Unreachable", str(error)[:300]) from None


def _plain(api: kubernetes.client.ApiClient, item: Any, kind: str, version: str) -> Any:
    data = api.sanitize_for_serialization(item)  # type: ignore[no-untyped-call]
    data["kind"], data["apiVersion"] = kind, version
    metadata = data.get("metadata") or {}
    for noise in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
        metadata.pop(noise, None)
    return data


def _ordered(items: list[Any]) -> list[Any]:
    def key(item: Any) -> tuple[str, str, str]:
        metadata = item.get("metadata") or {}
        return item["kind"], str(metadata.get("namespace") or ""), str(metadata.get("name") or "")

    return sorted(items, key=key)


def read_cluster_objects(api: kubernetes.client.ApiClient) -> dict[str, Any]:
    """``{"aws_auth": ConfigMap | None, "rbac": [...], "service_accounts": [...]}``."""
    core = kubernetes.client.CoreV1Api(api)
    rbac = kubernetes.client.RbacAuthorizationV1Api(api)
    found = _read(
        "read aws-auth", lambda: core.read_namespaced_config_map("aws-auth", "kube-system")
    )
    aws_auth = _plain(api, found, "ConfigMap", "v1") if found is not None else None
    objects: list[Any] = []
    for operation, kind in _RBAC_LISTS:
        listed = _read(operation, getattr(rbac, operation))
        objects += [_plain(api, item, kind, RBAC) for item in (listed.items if listed else [])]
    accounts = _read("list serviceaccounts", core.list_service_account_for_all_namespaces)
    service_accounts = [
        _plain(api, item, "ServiceAccount", "v1") for item in (accounts.items if accounts else [])
    ]
    return {
        "aws_auth": aws_auth,
        "rbac": _ordered(objects),
        "service_accounts": _ordered(service_accounts),
    }


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n", "utf-8")


def write_cluster_objects(
    api: kubernetes.client.ApiClient, folder: Path, *, aws_auth: bool = True
) -> None:
    """Read the cluster's objects (:func:`read_cluster_objects`) into ``folder``; nothing
    is written unless every read succeeded (a partial read would be a different cluster)."""
    found = read_cluster_objects(api)
    if aws_auth and found["aws_auth"] is not None:
        _write(folder / "aws-auth.json", found["aws_auth"])
    for name, key in (("rbac", "rbac"), ("serviceaccounts", "service_accounts")):
        listed = {"apiVersion": "v1", "kind": "List", "items": found[key]}
        _write(folder / "manifests" / f"{name}.json", listed)


def from_access(access: AwsAccess, cluster: str, region: str) -> kubernetes.client.ApiClient:
    """A cluster's API as ``access``'s principal, found by DescribeCluster (raises
    :class:`KubeApiError` when the cluster cannot be described)."""
    boto_session = session(access)
    eks = boto_session.client("eks", region_name=region, endpoint_url=access.endpoint_url)
    try:
        described = eks.describe_cluster(name=cluster)["cluster"]
    except (ClientError, BotoCoreError) as error:
        raise KubeApiError("describe cluster", 0, "DescribeCluster", str(error)) from None
    return from_cluster(boto_session, described, region, access.endpoint_url)
