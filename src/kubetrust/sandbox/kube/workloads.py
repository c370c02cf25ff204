"""The kube-system workloads a new EKS cluster runs, so ``kubectl get pods -n kube-system``
on a sandbox cluster looks like EKS: the nodes' ``Node`` objects (:func:`kubelet.node_objects`,
so ``kubectl get nodes`` lists them), the CoreDNS add-on (a Deployment of 2 replicas) and,
per node, the VPC CNI (``aws-node-xxxxx``) and ``kube-proxy-xxxxx`` pods.

EKS runs the latter two as DaemonSets; DaemonSets are not served here, so their pods are
created directly, one per node, with the DaemonSet's labels and no owner. Images are the
EKS add-on images from the region's ECR account (``602401143452`` for most regions). The
versions are those EKS 1.33 installs by default at the time of writing; they are labels
here, nothing pulls them. :func:`seed_system` is idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from kubetrust.sandbox.kube import kubelet, resources, status
from kubetrust.sandbox.kube.cluster import Cluster
from kubetrust.sandbox.kube.store import Store

Obj = dict[str, Any]
NAMESPACE = "kube-system"
COREDNS_VERSION = "v1.11.4-eksbuild.2"
KUBE_PROXY_VERSION = "v1.33.0-minimal-eksbuild.2"
CNI_VERSION = "v1.19.2-eksbuild.1"
NETWORK_POLICY_AGENT_VERSION = "v1.1.6-eksbuild.1"
ECR_ACCOUNTS = {
    "af-south-1": "877085696533",
    "ap-east-1": "800184023465",
    "ap-southeast-3": "296578399912",
    "eu-south-1": "590381155156",
    "me-south-1": "558608220178",
    "me-central-1": "759879836304",
    "il-central-1": "066635153087",
    "cn-north-1": "918309763551",
    "cn-northwest-1": "961992271922",
    "us-gov-west-1": "013241004608",
    "us-gov-east-1": "151742754352",
}
"""Regions whose EKS add-on images live in another account than ``602401143452``."""
COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
"""


def registry(region: str) -> str:
    """The ECR registry of the EKS add-on images in ``region``."""
    account = ECR_ACCOUNTS.get(region, "602401143452")
    suffix = ".com.cn" if region.startswith("cn-") else ".com"
    return f"{account}.dkr.ecr.{region}.amazonaws{suffix}"


class HasCluster(Protocol):
    """What :class:`~kubetrust.sandbox.kube.api.KubeApi` offers here: its cluster."""

    @property
    def cluster(self) -> Cluster: ...


def seed_system(
    target: Store | Cluster | HasCluster,
    region: str = "us-east-1",
    *,
    ca_pem: bytes | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> None:
    """Give a cluster its kube-system workloads (see module doc). ``target`` is best the
    API server (a ``KubeApi``) or its ``Cluster``: the seed then writes through the server's
    own write path (its lock, region, CA, clock), and ``region``/``ca_pem``/``clock`` are
    not used. A bare :class:`Store` gets a ``Cluster`` built from them; call it before an
    API server serves that store."""
    if isinstance(target, Store):
        cluster = Cluster(target, region=region, ca_pem=ca_pem, clock=clock)
    else:
        cluster = target if isinstance(target, Cluster) else target.cluster
    cluster.sync_namespaces()
    for node_object in kubelet.node_objects(cluster.store, cluster.region, cluster.now()):
        _create(cluster, "Node", node_object)
    image_registry = registry(cluster.region)
    for account in ("coredns", "aws-node", "kube-proxy"):
        _create(cluster, "ServiceAccount", {"metadata": {"name": account}})
    _create(
        cluster,
        "ConfigMap",
        {
            "metadata": {
                "name": "coredns",
                "labels": {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
            },
            "data": {"Corefile": COREFILE},
        },
    )
    _create(cluster, "Deployment", coredns(image_registry))
    existing, _ = cluster.store.list("/v1/pods", NAMESPACE)
    names = {pod["metadata"]["name"].rsplit("-", 1)[0] for pod in existing}
    for node in kubelet.nodes(cluster.store, cluster.region):
        for build, prefix in ((aws_node, "aws-node"), (kube_proxy, "kube-proxy")):
            if prefix not in names:
                cluster.create_pod(NAMESPACE, build(image_registry, node.name, cluster.region))


def _create(cluster: Cluster, kind: str, obj: Obj) -> None:
    """Create ``obj`` in kube-system (cluster-scoped kinds: in no namespace) unless it exists."""
    resource = resources.by_kind(kind)
    namespace = NAMESPACE if resource.namespaced else ""
    body = {"apiVersion": resource.group_version, "kind": kind, **obj}
    body["metadata"] = {**obj["metadata"], **({"namespace": namespace} if namespace else {})}
    try:
        cluster.create(resource, namespace, body)
    except status.ApiError as error:
        if error.reason != "AlreadyExists":
            raise


def coredns(image_registry: str) -> Obj:
    """The CoreDNS add-on's Deployment (its EKS shape, trimmed to what is shown)."""
    labels = {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}
    ports = [
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
    ]
    container = {
        "name": "coredns",
        "image": f"{image_registry}/eks/coredns:{COREDNS_VERSION}",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": ports,
        "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
    }
    config = {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}
    pod_spec = {
        "serviceAccountName": "coredns",
        "priorityClassName": "system-cluster-critical",
        "containers": [container],
        "volumes": [{"name": "config-volume", "configMap": config}],
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ],
    }
    return {
        "metadata": {"name": "coredns", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _daemon_pod(name: str, node: str, containers: list[Obj], account: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{name}-",
            "labels": {
                "k8s-app": name,
                "controller-revision-hash": "5d4f8b9c6d",
                "pod-template-generation": "1",
            },
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "serviceAccountName": account,
            "priorityClassName": "system-node-critical",
            "containers": containers,
            "tolerations": [{"operator": "Exists"}],
        },
    }


def aws_node(image_registry: str, node: str, region: str) -> Obj:
    """An ``aws-node`` pod of the VPC CNI DaemonSet on ``node``."""
    cni = {
        "name": "aws-node",
        "image": f"{image_registry}/amazon-k8s-cni:{CNI_VERSION}",
        "env": [
            {"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
            {"name": "CLUSTER_NAME", "value": "sandbox"},
            {"name": "VPC_ID", "value": "vpc-0sandbox"},
            {"name": "AWS_DEFAULT_REGION", "value": region},
        ],
        "ports": [{"containerPort": 61678, "name": "metrics"}],
        "resources": {"requests": {"cpu": "25m"}},
    }
    agent = {
        "name": "aws-eks-nodeagent",
        "image": f"{image_registry}/amazon/aws-network-policy-agent:{NETWORK_POLICY_AGENT_VERSION}",
        "args": ["--enable-ipv6=false", "--enable-network-policy=false"],
        "resources": {"requests": {"cpu": "25m"}},
    }
    pod = _daemon_pod("aws-node", node, [cni, agent], "aws-node")
    init = {
        "name": "aws-vpc-cni-init",
        "image": f"{image_registry}/amazon-k8s-cni-init:{CNI_VERSION}",
    }
    pod["spec"]["initContainers"] = [init]
    return pod


def kube_proxy(image_registry: str, node: str, region: str) -> Obj:
    """A ``kube-proxy`` pod of its DaemonSet on ``node``."""
    proxy = {
        "name": "kube-proxy",
        "image": f"{image_registry}/eks/kube-proxy:{KUBE_PROXY_VERSION}",
        "command": [
            "kube-proxy",
            "--v=2",
            "--config=/var/lib/kube-proxy-config/config",
            "--hostname-override=$(NODE_NAME)",
        ],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "resources": {"requests": {"cpu": "100m"}},
        "securityContext": {"privileged": True},
    }
    return _daemon_pod("kube-proxy", node, [proxy], "kube-proxy")
