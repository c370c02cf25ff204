"""The Kubernetes port on the official ``kubernetes`` client, for one cluster.

:class:`KubernetesPort` implements :class:`kubetrust.provision.KubePort`. It is configured
the kubectl way, from a kubeconfig file and context (:meth:`~KubernetesPort.from_kubeconfig`),
or the way ``aws eks update-kubeconfig`` would, from the cluster's endpoint and CA as
DescribeCluster gives them plus a bearer-token provider (:meth:`~KubernetesPort.from_endpoint`,
with :func:`kubetrust.adapters.token.eks_bearer_token`: what the sandbox uses, and what
works on EKS without a kubeconfig). The token is fetched again before it gets old (EKS
tokens live 15 minutes).

``ApiException`` and transport errors become :class:`KubeApiError` (HTTP status, reason)
here; a 404 on a read is ``None``.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kubetrust import errors
from kubetrust.provision import LiveObject
from kubetrust.provision.ports import LivePod

TOKEN_REFRESH_SECONDS = 600.0


class KubeApiError(errors.KubetrustError):
    """A Kubernetes API call failed (``status`` 0 when the server was not reached)."""

    def __init__(self, operation: str, status: int, reason: str, message: str = "") -> None:
        self.operation = operation
        self.status = status
        self.reason = reason
        detail = f": {message}" if message else ""
        super().__init__(f"{operation} failed: {status} {reason}{detail}")


def ca_pem(ca_data: str | bytes) -> str:
    """PEM text from DescribeCluster's ``certificateAuthority.data`` (base64 of the PEM), or
    from PEM itself."""
    raw = ca_data.encode("ascii") if isinstance(ca_data, str) else ca_data
    if raw.lstrip().startswith(b"-----BEGIN"):
        return raw.decode("ascii")
    return base64.b64decode(raw).decode("ascii")


class KubernetesPort:
    """:class:`kubetrust.provision.KubePort` on a ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.api_client = api_client
        self.core = kubernetes.client.CoreV1Api(api_client)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> KubernetesPort:
        """kubectl's way: ``path`` (else ``$KUBECONFIG``/``~/.kube/config``) and ``context``
        (else the current context)."""
        configuration = kubernetes.client.Configuration()
        try:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (kubernetes.config.ConfigException, OSError) as error:
            raise KubeApiError("load kubeconfig", 0, "InvalidConfig", str(error)) from error
        return cls(kubernetes.client.ApiClient(configuration))

    @classmethod
    def from_endpoint(
        cls, endpoint: str, ca_data: str | bytes, token: Callable[[], str]
    ) -> KubernetesPort:
        """An API server at ``endpoint`` verified against ``ca_data``, authenticated with
        bearer tokens from ``token()`` (fetched again every 10 minutes)."""
        configuration = kubernetes.client.Configuration(host=endpoint, ca_cert_data=ca_pem(ca_data))
        configuration.api_key_prefix = {"authorization": "Bearer"}
        # a placeholder: the client sends a bearer token only when the key exists, and asks
        # the hook below for its value on every request
        configuration.api_key = {"authorization": ""}
        lock = threading.Lock()
        fetched = [0.0]

        def refresh(conf: Any) -> None:
            with lock:
                now = time.monotonic()
                if (
                    not conf.api_key.get("authorization")
                    or now - fetched[0] > TOKEN_REFRESH_SECONDS
                ):
                    conf.api_key["authorization"] = token()
                    fetched[0] = now

        # typed as None in the client's stubs, yet called before each request when set
        configuration.refresh_api_key_hook = refresh  # type: ignore[assignment]
        return cls(kubernetes.client.ApiClient(configuration))

    # ------------------------------------------------------------------ plumbing
    def _call(self, operation: str, *args: Any, **kw: Any) -> Any:
        try:
            return getattr(self.core, operation)(*args, **kw)
        except ApiException as error:
            raise KubeApiError(
                operation, int(error.status or 0), str(error.reason), _message(error)
            ) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeApiError(operation, 0, "Unreachable", str(error)[:300]) from error

    def _read(self, operation: str, *args: Any) -> LiveObject | None:
        try:
            found = self._call(operation, *args)
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise
        return _live(found)

    # ------------------------------------------------------------------ namespaces
    def get_namespace(self, name: str) -> LiveObject | None:
        return self._read("read_namespace", name)

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        self._call("create_namespace", {"metadata": {"name": name, "labels": dict(labels)}})

    # ------------------------------------------------------------------ service accounts
    def get_service_account(self, namespace: str, name: str) -> LiveObject | None:
        return self._read("read_namespaced_service_account", name, namespace)

    def create_service_account(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> None:
        body = {
            "metadata": {"name": name, "labels": dict(labels), "annotations": dict(annotations)}
        }
        self._call("create_namespaced_service_account", namespace, body)

    def patch_service_account(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        body = {"metadata": {"annotations": dict(annotations)}}
        self._call("patch_namespaced_service_account", name, namespace, body)

    def delete_service_account(self, namespace: str, name: str) -> None:
        self._call("delete_namespaced_service_account", name, namespace)

    # ------------------------------------------------------------------ config maps
    def get_config_map(self, namespace: str, name: str) -> LiveObject | None:
        return self._read("read_namespaced_config_map", name, namespace)

    def create_config_map(
        self, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        body = {"metadata": {"name": name, "labels": dict(labels)}, "data": dict(data)}
        self._call("create_namespaced_config_map", namespace, body)

    def replace_config_map(self, obj: LiveObject) -> None:
        metadata: dict[str, Any] = {
            "name": obj.name,
            "labels": dict(obj.labels),
            "annotations": dict(obj.annotations),
        }
        if obj.resource_version:
            metadata["resourceVersion"] = obj.resource_version
        body = {"metadata": metadata, "data": dict(obj.data)}
        self._call("replace_namespaced_config_map", obj.name, obj.namespace, body)

    def delete_config_map(self, namespace: str, name: str) -> None:
        self._call("delete_namespaced_config_map", name, namespace)

    # --- migrate pod-identity
    def list_pods(self, namespace: str) -> tuple[LivePod, ...]:
        try:
            listed = self._call("list_namespaced_pod", namespace)
        except KubeApiError as error:
            if error.status == 404:
                return ()
            raise
        return tuple(_pod(item) for item in listed.items or [])


def _live(found: Any) -> LiveObject:
    metadata = found.metadata
    data = getattr(found, "data", None) or {}
    return LiveObject(
        namespace=metadata.namespace,
        name=metadata.name,
        labels=dict(metadata.labels or {}),
        annotations=dict(metadata.annotations or {}),
        data={str(k): str(v) for k, v in data.items()},
        resource_version=metadata.resource_version,
    )


def _pod(found: Any) -> LivePod:
    metadata, spec = found.metadata, found.spec
    owners = [f"{o.kind}/{o.name}" for o in metadata.owner_references or []]
    return LivePod(
        namespace=str(metadata.namespace),
        name=str(metadata.name),
        service_account=str(getattr(spec, "service_account_name", None) or "default"),
        owner=owners[0] if owners else "",
        pod_identity=any(v.name == POD_IDENTITY_VOLUME for v in spec.volumes or []),
    )


POD_IDENTITY_VOLUME = "eks-pod-identity-token"
"""The projected token volume EKS's webhook adds to a Pod Identity pod (reference F.6)."""


def _message(error: ApiException) -> str:
    """The ``message`` of the API server's Status body, else nothing."""
    import json

    try:
        body = json.loads(error.body or "")
    except (TypeError, ValueError):
        return ""
    return str(body.get("message", ""))[:300] if isinstance(body, dict) else ""
