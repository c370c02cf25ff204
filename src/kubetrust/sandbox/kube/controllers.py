"""The Deployment and ReplicaSet controllers of kube-controller-manager, run synchronously
right after each write, so a Deployment is rolled out before its ``apply`` returns.

Deployment -> ReplicaSet ``<deploy>-<pod-template-hash>`` -> pods ``<rs>-<5 chars>``, each
owned (``ownerReferences``, ``controller: true``) by the one before, as on a cluster. The
hash is the controller's ``rand.SafeEncodeString`` of an FNV-32a of the pod template (over
its JSON here, zero-padded to 10 characters), so a template change makes a new ReplicaSet;
the old ones are scaled to 0 and kept up to ``revisionHistoryLimit`` (a rollback to an
earlier template reuses its ReplicaSet with a new revision). Rollouts happen at once, not
by ``maxSurge``/``maxUnavailable`` steps, and ``paused`` is not honoured. Pods are created
through the cluster's admission (IRSA!) and started by its kubelet; a pod admission refuses
is reported as the ReplicaSet's (and Deployment's) ``ReplicaFailure`` condition with
reason ``FailedCreate``, as the controller does.

The controllers see the cluster only through :class:`ControlledCluster` (its store, its
clock, its pod write path), so this module does not import
:mod:`~kubetrust.sandbox.kube.cluster`, which calls it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any, Protocol

from kubetrust.sandbox.kube import status
from kubetrust.sandbox.kube.store import ALPHANUMS, Store, timestamp

Obj = dict[str, Any]
DEPLOYMENTS = "apps/v1/deployments"
REPLICA_SETS = "apps/v1/replicasets"
PODS = "/v1/pods"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
SKIPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    DESIRED,
    MAX_REPLICAS,
)


class ControlledCluster(Protocol):
    """What the controllers need of the cluster they run in (the
    :class:`~kubetrust.sandbox.kube.cluster.Cluster`): the store they reconcile, the time
    they stamp conditions with, and the pod write path, so that a ReplicaSet's pods go
    through admission (IRSA), validation and the kubelet like any other pod."""

    @property
    def store(self) -> Store: ...

    def now(self) -> dt.datetime: ...

    def create_pod(self, namespace: str, pod: Obj) -> Obj: ...


def template_hash(template: Obj) -> str:
    """``pod-template-hash`` of a pod template (see module doc)."""
    value = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(ALPHANUMS[ord(char) % len(ALPHANUMS)] for char in f"{value:010d}")


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: Obj, kind: str) -> str | None:
    """The uid of the ``kind`` that controls ``obj`` (its controller owner reference)."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            return str(ref.get("uid"))
    return None


def _owned(
    cluster: ControlledCluster, key: str, namespace: str, owner: Obj, kind: str
) -> list[Obj]:
    items, _ = cluster.store.list(key, namespace)
    uid = owner["metadata"]["uid"]
    return [item for item in items if controller_uid(item, kind) == uid]


def _revision(obj: Obj) -> int:
    text = _annotations(obj).get(REVISION, "0")
    return int(text) if text.isascii() and text.isdigit() else 0


def _annotations(obj: Obj) -> dict[str, str]:
    """``metadata.annotations``, created when missing (objects may be edited by users)."""
    metadata = obj["metadata"]
    if not isinstance(metadata.get("annotations"), dict):
        metadata["annotations"] = {}
    return metadata["annotations"]  # type: ignore[no-any-return]


def _hash_of(obj: Obj) -> str | None:
    return (obj["metadata"].get("labels") or {}).get(HASH_LABEL)


def _get(cluster: ControlledCluster, key: str, namespace: str, name: str) -> Obj | None:
    try:
        return cluster.store.get(key, namespace, name)
    except status.ApiError:
        return None


# ---------------------------------------------------------------------- Deployments
def sync_deployment(cluster: ControlledCluster, namespace: str, name: str) -> None:
    """Bring a Deployment's ReplicaSets, pods and status to its spec."""
    deployment = _get(cluster, DEPLOYMENTS, namespace, name)
    if deployment is None:
        return
    spec = deployment["spec"]
    template = spec["template"]
    pod_hash = template_hash(template)
    owned = _owned(cluster, REPLICA_SETS, namespace, deployment, "Deployment")
    current = next((rs for rs in owned if _hash_of(rs) == pod_hash), None)
    revision = max((_revision(rs) for rs in owned), default=0)
    if current is None:
        current = cluster.store.create(
            REPLICA_SETS, namespace, _new_replica_set(deployment, pod_hash, revision + 1)
        )
        owned.append(current)
    elif _revision(current) < revision or current["spec"]["replicas"] != spec["replicas"]:
        if _revision(current) < revision:  # a rollback to this template: a new revision
            _annotations(current)[REVISION] = str(revision + 1)
        current["spec"]["replicas"] = spec["replicas"]
        _annotations(current)[DESIRED] = str(spec["replicas"])
        current = cluster.store.update(
            REPLICA_SETS, namespace, current["metadata"]["name"], current
        )
    old = [rs for rs in owned if rs["metadata"]["uid"] != current["metadata"]["uid"]]
    for replica_set in old:
        if replica_set["spec"].get("replicas"):
            replica_set["spec"]["replicas"] = 0
            cluster.store.update(
                REPLICA_SETS, namespace, replica_set["metadata"]["name"], replica_set
            )
    for replica_set in [*old, current]:
        sync_pods(cluster, namespace, replica_set["metadata"]["name"])
    limit = spec.get("revisionHistoryLimit", 10)
    for replica_set in sorted(old, key=_revision)[: max(len(old) - limit, 0)]:
        cluster.store.delete(REPLICA_SETS, namespace, replica_set["metadata"]["name"])
    _deployment_status(cluster, namespace, name)


def _new_replica_set(deployment: Obj, pod_hash: str, revision: int) -> Obj:
    spec = deployment["spec"]
    template = copy.deepcopy(spec["template"])
    template_meta = template.setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), HASH_LABEL: pod_hash}
    selector = copy.deepcopy(spec["selector"])
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    annotations = {
        key: value
        for key, value in (deployment["metadata"].get("annotations") or {}).items()
        if key not in SKIPPED_ANNOTATIONS
    }
    replicas = spec["replicas"]
    annotations[DESIRED] = str(replicas)
    annotations[MAX_REPLICAS] = str(replicas + _surge(spec))
    annotations[REVISION] = str(revision)
    replica_set_spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        replica_set_spec["minReadySeconds"] = spec["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{deployment['metadata']['name']}-{pod_hash}",
            "namespace": deployment["metadata"]["namespace"],
            "labels": template_meta["labels"],
            "annotations": annotations,
            "ownerReferences": [owner_reference(deployment)],
        },
        "spec": replica_set_spec,
        "status": {"replicas": 0},
    }


def _percent(value: Any, replicas: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    text = str(value).rstrip("%")
    if not text.isdigit():
        return 0
    scaled = int(text) * replicas
    return -(-scaled // 100) if round_up else scaled // 100


def _surge(spec: Obj) -> int:
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    return _percent(rolling.get("maxSurge", "25%"), spec["replicas"], round_up=True)


COUNTS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
AVAILABLE = ("MinimumReplicasAvailable", "Deployment has minimum availability.")
UNAVAILABLE = ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")


def _deployment_status(cluster: ControlledCluster, namespace: str, name: str) -> None:
    """``status`` as the deployment controller's ``syncRolloutStatus`` writes it, and the
    revision annotation of the current ReplicaSet."""
    deployment = _get(cluster, DEPLOYMENTS, namespace, name)
    if deployment is None:
        return
    spec = deployment["spec"]
    owned = _owned(cluster, REPLICA_SETS, namespace, deployment, "Deployment")
    pod_hash = template_hash(spec["template"])
    current = next((rs for rs in owned if _hash_of(rs) == pod_hash), None)
    counts = dict.fromkeys(COUNTS, 0)
    for replica_set in owned:
        rs_status = replica_set.get("status") or {}
        for field in ("replicas", "readyReplicas", "availableReplicas"):
            counts[field] += rs_status.get(field) or 0
    counts["updatedReplicas"] = ((current or {}).get("status") or {}).get("replicas") or 0
    counts["unavailableReplicas"] = max(spec["replicas"] - counts["availableReplicas"], 0)
    new_status: Obj = {"observedGeneration": deployment["metadata"]["generation"]}
    new_status.update({field: value for field, value in counts.items() if value})  # Go omits 0
    old = (deployment.get("status") or {}).get("conditions") or []
    new_status["conditions"] = _conditions(cluster, spec, counts, current, old)
    if current is not None:
        _annotations(deployment)[REVISION] = str(_revision(current))
    deployment["status"] = new_status
    cluster.store.update(DEPLOYMENTS, namespace, name, deployment)


def _conditions(
    cluster: ControlledCluster,
    spec: Obj,
    counts: dict[str, int],
    current: Obj | None,
    old: list[Obj],
) -> list[Obj]:
    """Available (within ``maxUnavailable``), Progressing, and the current ReplicaSet's
    ReplicaFailure if it has one."""
    now = timestamp(cluster.now())
    wanted, updated = spec["replicas"], counts["updatedReplicas"]
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    allowed = _percent(rolling.get("maxUnavailable", "25%"), wanted, round_up=False)
    available = counts["availableReplicas"] >= wanted - allowed
    rs_name = (current or {}).get("metadata", {}).get("name", "")
    complete = updated == wanted == counts["replicas"] and counts["availableReplicas"] >= updated
    progress = (
        ("NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        if complete
        else ("ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
    )
    conditions = [
        condition(old, "Available", available, AVAILABLE, UNAVAILABLE, now),
        condition(old, "Progressing", True, progress, progress, now),
    ]
    for failure in ((current or {}).get("status") or {}).get("conditions") or []:
        if failure.get("type") == "ReplicaFailure":
            reason = (failure.get("reason", ""), failure.get("message", ""))
            conditions.append(condition(old, "ReplicaFailure", True, reason, reason, now))
    return conditions


def condition(
    old: list[Obj], kind: str, true: bool, yes: tuple[str, str], no: tuple[str, str], now: str
) -> Obj:
    """A condition, keeping the times of an unchanged one (as the controllers do)."""
    reason, message = yes if true else no
    value = "True" if true else "False"
    previous = next((c for c in old if c.get("type") == kind), None) or {}
    same_status = previous.get("status") == value
    same = same_status and previous.get("reason") == reason and previous.get("message") == message
    return {
        "type": kind,
        "status": value,
        "lastUpdateTime": previous.get("lastUpdateTime", now) if same else now,
        "lastTransitionTime": previous.get("lastTransitionTime", now) if same_status else now,
        "reason": reason,
        "message": message,
    }


# ---------------------------------------------------------------------- ReplicaSets
def failing(replica_set: Obj) -> bool:
    """Whether the ReplicaSet reports pods it could not create (``ReplicaFailure``)."""
    conditions = (replica_set.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "ReplicaFailure" for c in conditions if isinstance(c, dict))


def sync_replica_set(cluster: ControlledCluster, namespace: str, name: str) -> None:
    """A ReplicaSet changed: its pods, then its Deployment (which may overrule it)."""
    replica_set = _get(cluster, REPLICA_SETS, namespace, name)
    if replica_set is None:
        return
    sync_pods(cluster, namespace, name)
    owner = controller_uid(replica_set, "Deployment")
    if owner is not None:
        deployments, _ = cluster.store.list(DEPLOYMENTS, namespace)
        for deployment in deployments:
            if deployment["metadata"]["uid"] == owner:
                sync_deployment(cluster, namespace, deployment["metadata"]["name"])


def sync_pods(cluster: ControlledCluster, namespace: str, name: str) -> None:
    """Create or delete pods until the ReplicaSet has ``spec.replicas``; update its status."""
    replica_set = _get(cluster, REPLICA_SETS, namespace, name)
    if replica_set is None:
        return
    pods = _owned(cluster, PODS, namespace, replica_set, "ReplicaSet")
    wanted = replica_set["spec"].get("replicas") or 0
    failure = ""
    for _ in range(wanted - len(pods)):
        try:
            pods.append(cluster.create_pod(namespace, _pod(replica_set)))
        except status.ApiError as error:
            failure = error.message
            break
    surplus = sorted(pods, key=lambda pod: int(pod["metadata"]["resourceVersion"]))[wanted:]
    for pod in surplus:
        cluster.store.delete(PODS, namespace, pod["metadata"]["name"])
    pods = _owned(cluster, PODS, namespace, replica_set, "ReplicaSet")
    ready = sum(1 for pod in pods if (pod.get("status") or {}).get("phase") == "Running")
    new_status: Obj = {"replicas": len(pods)}
    for field, value in zip(
        ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"),
        (len(pods), ready, ready),
        strict=True,
    ):
        if value:
            new_status[field] = value
    new_status["observedGeneration"] = replica_set["metadata"]["generation"]
    if failure:
        now = timestamp(cluster.now())
        old = (replica_set.get("status") or {}).get("conditions") or []
        found = condition(old, "ReplicaFailure", True, ("FailedCreate", failure), ("", ""), now)
        new_status["conditions"] = [{k: v for k, v in found.items() if k != "lastUpdateTime"}]
    replica_set["status"] = new_status
    cluster.store.update(REPLICA_SETS, namespace, name, replica_set)


def _pod(replica_set: Obj) -> Obj:
    template = copy.deepcopy(replica_set["spec"]["template"])
    metadata = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{replica_set['metadata']['name']}-",
        "labels": metadata.get("labels") or {},
        "ownerReferences": [owner_reference(replica_set)],
    }
    if metadata.get("annotations"):
        pod_meta["annotations"] = metadata["annotations"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": template.get("spec") or {},
    }
