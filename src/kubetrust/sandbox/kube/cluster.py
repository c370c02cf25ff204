"""What happens around every write, in the apiserver's order and then the cluster's.

Create: type checks (400), defaulting, the registry's status reset, namespace lifecycle
(404 when the namespace is missing), mutating admission for pods
(:mod:`~kubetrust.sandbox.kube.admission`), validation (422), the store; then the
controllers, synchronously: a pod is scheduled and started by the kubelet, a Deployment
or ReplicaSet is reconciled, a Namespace gets its ``default`` ServiceAccount and its
``kube-root-ca.crt`` ConfigMap (the SA and root-CA controllers). Updates of kinds with a
``status`` subresource keep the stored status (and a status update keeps the rest), pod
specs are immutable, workload selectors too. Deletes cascade through ``ownerReferences``
(the garbage collector, background propagation; ``Orphan`` releases the dependents), and
what a controller owns comes back: a deleted pod of a ReplicaSet is replaced, a deleted
``default`` SA or root-CA ConfigMap is recreated. A ReplicaSet whose pods admission refused
is retried when a ServiceAccount is created in its namespace (the controller's backoff
retry, without the wait). One lock serialises writes and
reconciles, so concurrent requests never race a controller.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from kubetrust.sandbox.kube import (
    admission,
    controllers,
    defaults,
    irsa,
    kubelet,
    resources,
    schema,
    status,
    validation,
)
from kubetrust.sandbox.kube.store import NAMESPACES, Store

Obj = dict[str, Any]
WITH_STATUS = frozenset({"Pod", "Deployment", "ReplicaSet", "Namespace", "Node"})
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)
POD = resources.by_kind("Pod")
SERVICE_ACCOUNTS = resources.by_kind("ServiceAccount").key
CONFIG_MAPS = resources.by_kind("ConfigMap").key


class Cluster:
    """One cluster's write path and controllers over a :class:`Store` (see module doc)."""

    def __init__(
        self,
        store: Store,
        *,
        region: str = "us-east-1",
        ca_pem: bytes | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.region = region
        self.ca_pem = ca_pem
        self.clock: Callable[[], dt.datetime] = clock or store.clock
        self.lock = threading.RLock()
        self.admission = admission.Admission(store, irsa.Webhook(region))
        self.kubelet = kubelet.Kubelet(store, region, self.clock)
        self.sync_namespaces()

    def now(self) -> dt.datetime:
        return self.clock()

    # ------------------------------------------------------------------ writes
    def create(self, resource: resources.Resource, namespace: str, obj: Obj) -> Obj:
        """Create through the whole path (module doc); the object as first stored."""
        with self.lock:
            kind = resource.kind
            schema.check_kind(kind, resource.group_version, obj, patched=False)
            defaults.reset_status(kind, defaults.apply(kind, obj))
            if resource.namespaced:
                self._require_namespace(namespace)
            if kind == "Pod":
                return self.create_pod(namespace, obj, checked=True)
            self._validate(resource, obj, None)
            created = self.store.create(resource.key, namespace, obj)
            self._after_write(kind, namespace, created["metadata"]["name"])
            return created

    def create_pod(self, namespace: str, pod: Obj, *, checked: bool = False) -> Obj:
        """A pod through admission and validation, then started by the kubelet (the
        ReplicaSet controller's path too). Returns the pod as created (Pending)."""
        with self.lock:
            if not checked:
                schema.check_kind("Pod", "v1", pod, patched=False)
                defaults.reset_status("Pod", defaults.apply("Pod", pod))
            pod = self.admission.admit_pod(pod, namespace)
            defaults.pod_spec(pod["spec"])  # the volumes admission added get defaults too
            self._validate(POD, pod, None)
            created = self.store.create(POD.key, namespace, pod)
            started = self.kubelet.start(
                self.store.get(POD.key, namespace, created["metadata"]["name"])
            )
            self.store.update(POD.key, namespace, created["metadata"]["name"], started)
            return created

    def update(
        self,
        resource: resources.Resource,
        namespace: str,
        name: str,
        obj: Obj,
        *,
        subresource: str = "",
        patched: bool = False,
    ) -> Obj:
        """Replace an object (or, with ``subresource="status"``, only its status)."""
        with self.lock:
            kind = resource.kind
            old = self.store.get(resource.key, namespace, name)
            schema.check_kind(kind, resource.group_version, obj, patched=patched)
            if subresource == "status":
                version = (obj.get("metadata") or {}).get("resourceVersion")
                obj = {**old, "status": obj.get("status")}
                obj["metadata"] = {**old["metadata"], "resourceVersion": version}
            elif kind in WITH_STATUS:
                obj["status"] = old.get("status")
            defaults.apply(kind, obj)
            self._validate(resource, obj, old)
            updated = self.store.update(resource.key, namespace, name, obj)
            if updated["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
                self._after_write(kind, namespace, name)
            return updated

    def delete(
        self,
        resource: resources.Resource,
        namespace: str,
        name: str,
        propagation: str = "Background",
    ) -> Obj:
        """Delete, cascade to dependents (or orphan them), let owners react."""
        with self.lock:
            if resource.kind == "Namespace" and name in PROTECTED_NAMESPACES:
                raise status.ApiError(
                    "Forbidden",
                    f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                    {"name": name, "kind": "namespaces"},
                )
            gone = self.store.delete(resource.key, namespace, name)
            if propagation == "Orphan":
                self._orphan(gone["metadata"]["uid"])
            else:
                self._collect(gone["metadata"]["uid"])
            self._after_delete(resource.kind, namespace, gone)
            return gone

    # ------------------------------------------------------------------ helpers
    def _require_namespace(self, namespace: str) -> None:
        try:
            self.store.get(NAMESPACES, "", namespace)
        except status.ApiError:
            raise status.not_found("", "namespaces", namespace) from None

    def _validate(self, resource: resources.Resource, obj: Obj, old: Obj | None) -> None:
        kind = resource.kind
        errors = validation.metadata_errors(kind, obj)
        if kind == "Pod":
            errors += validation.pod_spec_errors(obj.get("spec"), "spec")
            if old is not None:
                errors += validation.pod_update_errors(old, obj)
        elif kind in ("Deployment", "ReplicaSet"):
            errors += validation.workload_errors(kind, obj, old)
        elif kind in ("ConfigMap", "Secret"):
            errors += validation.config_key_errors(obj.get("data"), "data")
        elif kind in ("RoleBinding", "ClusterRoleBinding") and old is not None:
            errors += validation.binding_update_errors(old, obj)
        name = obj["metadata"].get("name") or obj["metadata"].get("generateName") or ""
        validation.raise_invalid(kind, resource.group, name, errors)

    def _after_write(self, kind: str, namespace: str, name: str) -> None:
        if kind == "Namespace":
            self.sync_namespace(name)
        elif kind == "Deployment":
            controllers.sync_deployment(self, namespace, name)
        elif kind == "ReplicaSet":
            controllers.sync_replica_set(self, namespace, name)
        elif kind == "ServiceAccount":  # the controller's retry of pods it could not create
            for replica_set in self.store.list(controllers.REPLICA_SETS, namespace)[0]:
                if controllers.failing(replica_set):
                    controllers.sync_replica_set(self, namespace, replica_set["metadata"]["name"])

    def _after_delete(self, kind: str, namespace: str, gone: Obj) -> None:
        name = gone["metadata"]["name"]
        if kind in ("Pod", "ReplicaSet"):
            owner_kind = "ReplicaSet" if kind == "Pod" else "Deployment"
            owner = controllers.controller_uid(gone, owner_kind)
            for ref in gone["metadata"].get("ownerReferences") or []:
                if ref.get("uid") == owner and isinstance(ref.get("name"), str):
                    self._after_write(owner_kind, namespace, ref["name"])
        elif (kind, name) in (("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")):
            self.sync_namespace(namespace)

    def _collect(self, uid: str) -> None:
        for kind, namespace, name in self.store.owned_by(uid):
            try:
                gone = self.store.delete(kind, namespace, name)
            except status.ApiError:
                continue
            self._collect(gone["metadata"]["uid"])

    def _orphan(self, uid: str) -> None:
        for kind, namespace, name in self.store.owned_by(uid):
            obj = self.store.get(kind, namespace, name)
            refs = obj["metadata"].get("ownerReferences") or []
            obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
            self.store.update(kind, namespace, name, obj)

    # ------------------------------------------------------------------ namespaces
    def sync_namespaces(self) -> None:
        """Give every namespace its ``default`` SA and ``kube-root-ca.crt`` ConfigMap."""
        for namespace in self.store.list(NAMESPACES)[0]:
            self.sync_namespace(namespace["metadata"]["name"])

    def sync_namespace(self, namespace: str) -> None:
        with self.lock:
            try:
                self.store.get(NAMESPACES, "", namespace)
            except status.ApiError:
                return
            try:
                self.store.get(SERVICE_ACCOUNTS, namespace, "default")
            except status.ApiError:
                account = {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default"},
                }
                self.store.create(SERVICE_ACCOUNTS, namespace, account)
            data = {"ca.crt": (self.ca_pem or b"").decode("ascii", "replace")}
            try:
                existing = self.store.get(CONFIG_MAPS, namespace, "kube-root-ca.crt")
            except status.ApiError:
                config_map = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                    },
                    "data": data,
                }
                self.store.create(CONFIG_MAPS, namespace, config_map)
                return
            if existing.get("data") != data:
                existing["data"] = data
                self.store.update(CONFIG_MAPS, namespace, "kube-root-ca.crt", existing)
