"""The apiserver's defaulting (``SetDefaults_*`` of k8s.io/kubernetes ``pkg/apis/*/v1``) and
the create-time resets of its registry strategies, for the kinds this server runs.

Defaults make ``kubectl get -o yaml`` look as on a real cluster (``dnsPolicy:
ClusterFirst``, ``imagePullPolicy``, the Deployment's ``RollingUpdate`` strategy ...) and
they are what the controllers copy into ReplicaSets and pods. Client-side ``kubectl apply``
is unaffected: its three-way patch only touches the fields the manifest names.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubetrust.sandbox.kube import status

Obj = dict[str, Any]
DEFAULT_MODE = 420  # 0644, the default mode of configMap, secret and projected volumes


def apply(kind: str, obj: Obj) -> Obj:
    """``obj`` with the defaults of ``kind`` filled in (changed in place and returned)."""
    if kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj["metadata"].setdefault("labels", {}) or {}
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
        obj["metadata"]["labels"] = labels
    elif kind == "Secret":
        _secret(obj)
    elif kind == "Pod":
        pod_spec(section(obj, "spec"))
    elif kind in ("Deployment", "ReplicaSet"):
        spec = section(obj, "spec")
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        if kind == "Deployment":
            _deployment(spec)
        template = section(spec, "template")
        section(template, "metadata").setdefault("creationTimestamp", None)  # Go's zero Time
        pod_spec(section(template, "spec"))
    return obj


def section(obj: Obj, key: str) -> Obj:
    """``obj[key]`` as a dict, created when missing or null (types are checked before)."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def _deployment(spec: Obj) -> None:
    strategy = spec.get("strategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
        strategy["rollingUpdate"] = rolling
    spec["strategy"] = strategy
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _secret(obj: Obj) -> None:
    """``type`` defaults to Opaque; ``stringData`` is merged into ``data`` (base64), as the
    v1 conversion does; ``data`` that is not base64 is a 400."""
    obj["type"] = obj.get("type") or "Opaque"
    data = obj.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise status.bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                f"in data[{key}]"
            ) from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(value.encode()).decode()
    if data:
        obj["data"] = data


def pod_spec(spec: Obj) -> Obj:
    """``SetDefaults_PodSpec`` and ``SetDefaults_Container`` (the fields kubectl shows)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    _service_account_alias(spec)
    for section in ("initContainers", "containers"):
        for container in spec.get(section) or []:
            if isinstance(container, dict):
                _container(container, bool(spec.get("hostNetwork")))
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            _volume(volume)
    return spec


def _service_account_alias(spec: Obj) -> None:
    """``serviceAccount`` is the deprecated alias of ``serviceAccountName``: upstream's v1
    conversion (``Convert_v1_PodSpec_To_core_PodSpec``) takes it when the name is empty,
    the name winning when both are set, and writes the name back into the alias. Done
    before admission, so the ServiceAccount plugin checks, and the IRSA webhook reads, the
    account the pod really runs as (not ``default``)."""
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    else:
        spec.pop("serviceAccount", None)


def _container(container: Obj, host_network: bool) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", pull_policy(container.get("image") or ""))
    container["resources"] = container.get("resources") or {}
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if host_network and port.get("containerPort") is not None:
                port.setdefault("hostPort", port["containerPort"])
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rpartition("/")[2]
    tag = last.partition(":")[2]
    return "Always" if not tag or tag == "latest" else "IfNotPresent"


def _volume(volume: Obj) -> None:
    for source_name in ("configMap", "secret"):
        source = volume.get(source_name)
        if isinstance(source, dict):
            source.setdefault("defaultMode", DEFAULT_MODE)
    projected = volume.get("projected")
    if isinstance(projected, dict):
        projected.setdefault("defaultMode", DEFAULT_MODE)
        for source in projected.get("sources") or []:
            token = (source or {}).get("serviceAccountToken")
            if isinstance(token, dict):
                token.setdefault("expirationSeconds", 3600)  # reference C.3


def reset_status(kind: str, obj: Obj) -> Obj:
    """What a create keeps of a client's ``status``: nothing, as the registry strategies'
    ``PrepareForCreate`` (a pod starts Pending with its QoS class)."""
    if kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif kind in ("Deployment", "ReplicaSet"):
        obj["status"] = {"replicas": 0} if kind == "ReplicaSet" else {}
    return obj


def qos_class(spec: Obj) -> str:
    """``Guaranteed`` when every container's cpu and memory limits equal the requests,
    ``BestEffort`` when nothing is requested or limited, else ``Burstable``."""
    containers = [
        c or {} for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
    ]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                return "Burstable"
    return "Guaranteed"
