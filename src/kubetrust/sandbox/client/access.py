"""Client-side access to a sandbox cluster: an administrator's kubeconfig, the exec plugin's
ExecCredential, and a small API client (with the pod volumes ``sandbox exec`` reads).

The administrator's kubeconfig authenticates the way EKS's cluster creator does: with an
EKS token (reference D.1) presigned by the account's sandbox administrator
(:func:`kubetrust.eks_presign.presign_with_keys`), through an exec plugin
(``kubetrust sandbox eks-token``) that presigns a fresh one whenever kubectl asks.
So even the administrator goes through the cluster's real authentication path: the token's
signature is checked, the caller is mapped (the creator's access entry, or in ``CONFIG_MAP``
mode the creator's invisible ``system:masters``), and nothing secret is written to the
kubeconfig.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kubetrust import arn, errors

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
TOKEN_LIFETIME = dt.timedelta(minutes=14)
"""What ``aws eks get-token`` announces as the ExecCredential's expiry (D.1)."""


def exec_credential(token: str, api_version: str = EXEC_API_VERSION) -> dict[str, Any]:
    """The ExecCredential an exec plugin prints (D.1)."""
    expires = dt.datetime.now(dt.UTC) + TOKEN_LIFETIME
    return {
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {"expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token},
    }


def cluster_arn(account: str, region: str, name: str) -> str:
    return arn.format_arn(service="eks", region=region, account=account, resource=f"cluster/{name}")


def admin_kubeconfig(
    *,
    account: str,
    region: str,
    name: str,
    endpoint: str,
    ca_pem: bytes,
    state_dir: Path,
    python: str = sys.executable,
) -> dict[str, Any]:
    """A kubeconfig whose one context is the cluster's administrator (module doc), named
    like ``aws eks update-kubeconfig`` names things: the cluster ARN (G.6)."""
    context = cluster_arn(account, region, name)
    args: Sequence[str] = (
        "-m",
        "kubetrust",
        "sandbox",
        "eks-token",
        "--cluster",
        name,
        "--account",
        account,
        "--state-dir",
        str(state_dir),
    )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": context,
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [
            {
                "name": context,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": python,
                        "args": list(args),
                        "interactiveMode": "Never",
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }


class ClusterClient:
    """JSON over HTTPS to a sandbox cluster's API server, as its administrator.

    Small on purpose: ``sandbox exec`` reads a pod, its ConfigMaps and Secrets and asks for
    service-account tokens; every call presigns a fresh EKS token (no network call)."""

    def __init__(self, endpoint: str, ca_pem: bytes, token: Callable[[], str]) -> None:
        from kubetrust.sandbox.host import pki

        self.endpoint = endpoint.rstrip("/")
        self.context = pki.client_ssl_context(ca_pem)
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, decoded JSON)``; Kubernetes answers errors with a ``Status`` object."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("Authorization", f"Bearer {self.token()}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"message": text.decode("utf-8", "replace")}

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``; ``None`` when it does not exist; other failures raise."""
        code, body = self.call("GET", path)
        if code == 404:
            return None
        if code != 200:
            raise errors.InputError(f"GET {path}: {code} {_message(body)}")
        return dict(body)


def _message(body: Any) -> str:
    return str(body.get("message")) if isinstance(body, dict) else str(body)


class PodVolumes:
    """The :class:`~kubetrust.sandbox.pod.VolumeSource` of one pod, read from its
    cluster's API as the kubelet reads it: ConfigMaps and Secrets of the pod's namespace,
    and service-account tokens by TokenRequest bound to the pod (reference C.1, C.3)."""

    def __init__(self, client: ClusterClient, pod: Mapping[str, Any]) -> None:
        metadata = pod.get("metadata") or {}
        self.client = client
        self.namespace = str(metadata.get("namespace") or "default")
        self.pod_name = str(metadata.get("name") or "")
        self.pod_uid = str(metadata.get("uid") or "")
        self.service_account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")

    def service_account_token(self, audience: str | None, expiration_seconds: int) -> str:
        spec: dict[str, Any] = {
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": {
                "kind": "Pod",
                "apiVersion": "v1",
                "name": self.pod_name,
                "uid": self.pod_uid,
            },
        }
        if audience:
            spec["audiences"] = [audience]
        path = f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{self.service_account}/token"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        code, answer = self.client.call("POST", path, body)
        if code != 201 or not isinstance(answer, dict):
            raise errors.InputError(f"TokenRequest for {self.service_account}: {_message(answer)}")
        return str(answer["status"]["token"])

    def config_map(self, name: str) -> Mapping[str, str] | None:
        found = self.client.get(f"/api/v1/namespaces/{self.namespace}/configmaps/{name}")
        return None if found is None else dict(found.get("data") or {})

    def secret(self, name: str) -> Mapping[str, bytes] | None:
        found = self.client.get(f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        if found is None:
            return None
        data = found.get("data") or {}
        return {key: base64.b64decode(value) for key, value in data.items()}
