"""Mutating admission of pod CREATEs, in the apiserver's order: the built-in plugins
(ServiceAccount, Priority, DefaultTolerationSeconds), then the mutating webhooks (on EKS:
the pod identity webhook: its Pod Identity branch, :mod:`.pod_identity_webhook`, reference
F.2, when the service account has an association at this moment, else its IRSA branch,
:mod:`~kubetrust.sandbox.kube.irsa`, reference C.4).

Every pod goes through here, the ones users create and the ones the ReplicaSet controller
creates, so IRSA applies to Deployments as on EKS. The ServiceAccount plugin
(``plugin/pkg/admission/serviceaccount``): an empty ``serviceAccountName`` becomes
``default``; the service account must exist, else 403 ``error looking up service account
<ns>/<sa>: serviceaccount "<sa>" not found``; unless ``automountServiceAccountToken`` is
false on the pod (first) or the SA, each container and initContainer without a mount at
``/var/run/secrets/kubernetes.io/serviceaccount`` gets the ``kube-api-access-<5>`` projected
volume there (token with ``expirationSeconds: 3607``, the ``kube-root-ca.crt`` CA, the
namespace); the SA's ``imagePullSecrets`` are copied to a pod that has none.
"""

from __future__ import annotations

from typing import Any

from kubetrust.sandbox.kube import irsa, pod_identity_webhook, status
from kubetrust.sandbox.kube.store import Store, random_suffix

Obj = dict[str, Any]
SERVICE_ACCOUNTS = "/v1/serviceaccounts"
API_TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
API_ACCESS_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
WARN_ONLY_EXPIRATION = 3607
"""``serviceaccount.WarnOnlyBoundTokenExpirationSeconds``: the kubelet's API-token lifetime."""
PRIORITY_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
DEFAULT_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


class Admission:
    """The admission chain of one cluster (see module doc)."""

    def __init__(
        self,
        store: Store,
        webhook: irsa.Webhook,
        pod_identity: pod_identity_webhook.PodIdentityWebhook | None = None,
    ) -> None:
        self.store = store
        self.webhook = webhook
        self.pod_identity = pod_identity or pod_identity_webhook.PodIdentityWebhook(
            region=webhook.region
        )
        """Replaced by the EKS control plane with one that sees the cluster's associations."""

    def admit_pod(self, pod: Obj, namespace: str) -> Obj:
        """``pod`` mutated by the chain; 403 when its service account does not exist."""
        spec = pod.setdefault("spec", {})
        name = spec.get("serviceAccountName") or "default"
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        try:
            account = self.store.get(SERVICE_ACCOUNTS, namespace, name)
        except status.ApiError:
            pod_name = (pod.get("metadata") or {}).get("name") or ""
            raise status.ApiError(
                "Forbidden",
                f'pods "{pod_name}" is forbidden: error looking up service account '
                f'{namespace}/{name}: serviceaccount "{name}" not found',
                {"name": pod_name, "kind": "pods"},
            ) from None
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = account["imagePullSecrets"]
        if should_automount(account, spec):
            mount_api_token(spec)
        _priority(spec)
        _default_tolerations(spec)
        if self.pod_identity.applies(namespace, name):  # container credentials take precedence
            return pod_identity_webhook.mutate(pod, account, self.pod_identity)
        return irsa.mutate(pod, account, self.webhook)


def should_automount(account: Obj, spec: Obj) -> bool:
    """The pod's ``automountServiceAccountToken`` if set, else the SA's, else true."""
    for value in (
        spec.get("automountServiceAccountToken"),
        account.get("automountServiceAccountToken"),
    ):
        if value is not None:
            return bool(value)
    return True


def api_access_volume(name: str) -> Obj:
    """The projected volume the ServiceAccount plugin adds (``createVolume``)."""
    token = {"expirationSeconds": WARN_ONLY_EXPIRATION, "path": "token"}
    ca = {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    field = {"apiVersion": "v1", "fieldPath": "metadata.namespace"}
    namespace = {"items": [{"path": "namespace", "fieldRef": field}]}
    sources = [{"serviceAccountToken": token}, {"configMap": ca}, {"downwardAPI": namespace}]
    return {"name": name, "projected": {"defaultMode": 420, "sources": sources}}


def mount_api_token(spec: Obj) -> None:
    """``mountServiceAccountToken``: reuse a ``kube-api-access-*`` volume or make one, mount
    it read-only in every container that has nothing at the token path."""
    volumes = spec.get("volumes") or []
    existing = next(
        (v["name"] for v in volumes if str(v.get("name", "")).startswith(API_ACCESS_PREFIX)), None
    )
    name = existing or API_ACCESS_PREFIX + random_suffix()
    needed = False
    for section in ("initContainers", "containers"):
        for container in spec.get(section) or []:
            mounts = container.get("volumeMounts") or []
            if any(mount.get("mountPath") == API_TOKEN_MOUNT for mount in mounts):
                continue
            container["volumeMounts"] = [
                *mounts,
                {"name": name, "readOnly": True, "mountPath": API_TOKEN_MOUNT},
            ]
            needed = True
    if needed and existing is None:
        spec["volumes"] = [*volumes, api_access_volume(name)]


def _priority(spec: Obj) -> None:
    """The Priority plugin: the class's value (0 without a class)."""
    spec.setdefault("priority", PRIORITY_CLASSES.get(spec.get("priorityClassName") or "", 0))
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s."""
    tolerations = list(spec.get("tolerations") or [])
    for key in DEFAULT_TOLERATIONS:
        if not any(
            t.get("key") == key and t.get("effect") in ("NoExecute", None, "") for t in tolerations
        ):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    spec["tolerations"] = tolerations
