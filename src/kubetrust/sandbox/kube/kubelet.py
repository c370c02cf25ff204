"""The scheduler and the kubelet, reduced to one synchronous step: a pod is bound to a
node and reported Running the moment it is created.

A sandbox cluster has two managed nodes, ``ip-10-0-X-Y.<region>.compute.internal``
(``ec2.internal`` in us-east-1, as EC2 names hosts there). The addresses derive from the
uid of ``kube-system``, so they are stable for the life of the cluster and differ between
clusters. Pod IPs come from the node's VPC subnet, as the VPC CNI assigns them;
``hostNetwork`` pods take the node's address. The status is the one a kubelet reports
for started containers: phase Running, the five pod conditions True, ``containerStatuses``
ready/started/running with containerd ids, init containers terminated with Completed.
Nothing actually runs, so no probe, restart or exit is ever reported.

:func:`node_objects` are the ``Node`` objects those kubelets register (seeded with the
kube-system workloads): an EKS managed node group of Amazon Linux 2023 ``t3.medium``
instances, one per availability zone, Ready, with the labels, addresses, capacity and
``nodeInfo`` an EKS 1.33 node reports. Their names are :func:`nodes`' names, so a pod's
``spec.nodeName`` is always a Node of the cluster.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubetrust.sandbox.kube import defaults
from kubetrust.sandbox.kube.store import NAMESPACES, Store, timestamp

Obj = dict[str, Any]
PODS = "/v1/pods"
NODES = "/v1/nodes"
NODE_COUNT = 2
NODEGROUP = "sandbox-nodes"
INSTANCE_TYPE = "t3.medium"
KUBELET_VERSION = "v1.33.5-eks-113cf36"
OS_IMAGE = "Amazon Linux 2023.8.20250915"
KERNEL_VERSION = "6.1.150-174.273.amzn2023.x86_64"
CONTAINER_RUNTIME = "containerd://1.7.27"
CAPACITY = {
    "cpu": "2",
    "ephemeral-storage": "20893676Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    "memory": "3919544Ki",
    "pods": "17",
}
ALLOCATABLE = {
    **CAPACITY,
    "cpu": "1930m",
    "ephemeral-storage": "18181869946",
    "memory": "3364536Ki",
}
"""A ``t3.medium`` under the EKS AMI's kubelet reservations (17 pods: the VPC CNI's limit
for 3 ENIs of 6 addresses)."""
NODE_CONDITIONS = (
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
CONDITIONS = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


@dataclass(frozen=True, slots=True)
class Node:
    """A worker node: name, uid (the ``node`` claim of pod tokens), address, pod subnet."""

    name: str
    uid: str
    address: str
    subnet: str


def nodes(store: Store, region: str) -> tuple[Node, ...]:
    """The cluster's nodes (see module doc)."""
    seed = store.get(NAMESPACES, "", "kube-system")["metadata"]["uid"]
    chooser = random.Random(seed)
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    found = []
    for index in range(NODE_COUNT):
        third = 32 * index + chooser.randrange(32)  # one /19 subnet per node
        address = f"10.0.{third}.{chooser.randrange(2, 250)}"
        name = f"ip-{address.replace('.', '-')}.{domain}"
        subnet = f"10.0.{32 * index}.0/19"
        found.append(Node(name, str(uuid.uuid5(uuid.NAMESPACE_URL, seed + name)), address, subnet))
    return tuple(found)


def node_objects(store: Store, region: str, now: dt.datetime) -> list[Obj]:
    """The ``Node`` object each of the cluster's kubelets registers (see module doc)."""
    return [
        node_object(node, index, region, now) for index, node in enumerate(nodes(store, region))
    ]


def node_object(node: Node, index: int, region: str, now: dt.datetime) -> Obj:
    """The ``Node`` of ``node``, the ``index``-th of the node group (zone ``a``, ``b`` ...)."""
    zone = f"{region}{'abcdef'[index % 6]}"
    digest = hashlib.sha256(node.uid.encode()).hexdigest()
    instance = f"i-0{digest[:16]}"
    stamp = timestamp(now)
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": INSTANCE_TYPE,
        "beta.kubernetes.io/os": "linux",
        "eks.amazonaws.com/capacityType": "ON_DEMAND",
        "eks.amazonaws.com/nodegroup": NODEGROUP,
        "eks.amazonaws.com/nodegroup-image": f"ami-0{digest[16:32]}",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": INSTANCE_TYPE,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
    }
    annotations = {
        "alpha.kubernetes.io/provided-node-ip": node.address,
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    conditions = [
        {
            "type": kind,
            "status": value,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
        for kind, value, reason, message in NODE_CONDITIONS
    ]
    system_uuid = (
        f"ec2{digest[33:38]}-{digest[38:42]}-{digest[42:46]}-{digest[46:50]}-{digest[50:62]}"
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels, "annotations": annotations},
        "spec": {"providerID": f"aws:///{zone}/{instance}"},
        "status": {
            "capacity": dict(CAPACITY),
            "allocatable": dict(ALLOCATABLE),
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": node.address},
                {"type": "InternalDNS", "address": node.name},
                {"type": "Hostname", "address": node.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": digest[:32],
                "systemUUID": system_uuid,
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_URL, node.uid + "/boot")),
                "kernelVersion": KERNEL_VERSION,
                "osImage": OS_IMAGE,
                "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


class Kubelet:
    """Binds and starts pods in a store (see module doc)."""

    def __init__(self, store: Store, region: str, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.region = region
        self.clock = clock

    def start(self, pod: Obj) -> Obj:
        """``pod`` bound to a node (its ``nodeName`` if set, else the least loaded) and
        Running; the caller writes it back."""
        spec = pod.setdefault("spec", {})
        cluster_nodes = nodes(self.store, self.region)
        pods, _ = self.store.list(PODS)
        node = _node(spec.get("nodeName"), cluster_nodes, pods)
        spec["nodeName"] = node.name
        now = timestamp(self.clock())
        ip = node.address if spec.get("hostNetwork") else _pod_ip(node, pods)
        pod["status"] = running_status(pod, node.address, ip, now)
        return pod


def _node(wanted: str | None, cluster_nodes: tuple[Node, ...], pods: list[Obj]) -> Node:
    for node in cluster_nodes:
        if node.name == wanted:
            return node
    if wanted:  # a node this cluster does not have: the pod runs "there" all the same
        first = cluster_nodes[0]
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, wanted))
        return Node(wanted, uid, first.address, first.subnet)
    load = {node.name: 0 for node in cluster_nodes}
    for pod in pods:
        name = (pod.get("spec") or {}).get("nodeName")
        if name in load:
            load[name] += 1
    return min(cluster_nodes, key=lambda node: load[node.name])


def _pod_ip(node: Node, pods: list[Obj]) -> str:
    """A free address of the node's subnet (the VPC CNI's secondary IPs)."""
    used = {(pod.get("status") or {}).get("podIP") for pod in pods}
    network = ipaddress.ip_network(node.subnet)
    hosts = network.num_addresses - 2
    candidate = ""
    for _ in range(64):
        candidate = str(network.network_address + 1 + random.randrange(hosts))
        if candidate not in used and candidate != node.address:
            break
    return candidate


def running_status(pod: Obj, host_ip: str, pod_ip: str, now: str) -> Obj:
    """The status a kubelet reports once every container started (see module doc)."""
    spec = pod.get("spec") or {}
    conditions = [
        {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
        for kind in CONDITIONS
    ]
    result: Obj = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "qosClass": defaults.qos_class(spec),
        "containerStatuses": [
            _container_status(c, now, init=False) for c in spec.get("containers") or []
        ],
    }
    if spec.get("initContainers"):
        result["initContainerStatuses"] = [
            _container_status(c, now, init=True) for c in spec["initContainers"]
        ]
    return result


def _container_status(container: Obj, now: str, *, init: bool) -> Obj:
    image = normalised_image(container.get("image") or "")
    container_id = hashlib.sha256(f"{uuid.uuid4()}".encode()).hexdigest()
    repository = image.rpartition(":")[0] if ":" in image.rpartition("/")[2] else image
    digest = hashlib.sha256(image.encode()).hexdigest()
    state: Obj
    if init:
        done = {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
        state = {"terminated": {**done, "containerID": f"containerd://{container_id}"}}
    else:
        state = {"running": {"startedAt": now}}
    return {
        "name": container.get("name", ""),
        "state": state,
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": image,
        "imageID": f"{repository.partition('@')[0]}@sha256:{digest}",
        "containerID": f"containerd://{container_id}",
        "started": not init,
    }


def normalised_image(image: str) -> str:
    """The image reference as containerd reports it: ``nginx`` becomes
    ``docker.io/library/nginx:latest``; registry-qualified references stay as they are."""
    first, slash, _ = image.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        image = f"docker.io/{image if slash else 'library/' + image}"
    last = image.rpartition("/")[2]
    if ":" not in last and "@" not in last:
        image += ":latest"
    return image
