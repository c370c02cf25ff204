"""Controllers over the in-process app: Deployments, ReplicaSets, the "kubelet", the
namespace controllers, garbage collection, and the kube-system seed."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from kube_appkit import App

from kubetrust.sandbox.kube import controllers, workloads
from kubetrust.sandbox.kube.store import Store

NS = "/api/v1/namespaces"
PODS = "/api/v1/namespaces/default/pods"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
RS = "/apis/apps/v1/namespaces/default/replicasets"
SA = "/api/v1/namespaces/default/serviceaccounts"
POD_NAME = re.compile(
    r"^(?P<deploy>[a-z0-9-]+)-(?P<hash>[bcdfghjklmnpqrstvwxz2456789]{10})-[bcdfghjklmnpqrstvwxz2456789]{5}$"
)


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.27", **spec: Any) -> Any:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }


def pods_of(app: App, name: str) -> list[dict[str, Any]]:
    code, body = app.call("GET", f"{PODS}?labelSelector=app%3D{name}")
    assert code == 200
    return list(body["items"])


def test_deployment_rolls_out_pods(app: App) -> None:
    code, created = app.call("POST", DEPLOY, deployment("web"))
    assert code == 201 and created["status"] == {}  # as created; the controller runs after
    got = app.call("GET", f"{DEPLOY}/web")[1]
    pods = pods_of(app, "web")
    assert len(pods) == 2
    (replica_set,) = app.call("GET", RS)[1]["items"]
    pod_hash = replica_set["metadata"]["labels"]["pod-template-hash"]
    assert replica_set["metadata"]["name"] == f"web-{pod_hash}"
    assert replica_set["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": got["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert replica_set["spec"]["selector"]["matchLabels"] == {
        "app": "web",
        "pod-template-hash": pod_hash,
    }
    assert replica_set["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    for pod in pods:
        match = POD_NAME.match(pod["metadata"]["name"])
        assert match and match["deploy"] == "web" and match["hash"] == pod_hash
        assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
        assert pod["metadata"]["ownerReferences"][0]["uid"] == replica_set["metadata"]["uid"]
    assert got["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    status = got["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conditions["Progressing"]["message"] == (
        f'ReplicaSet "web-{pod_hash}" has successfully progressed.'
    )


def test_the_kubelet_starts_every_pod(app: App) -> None:
    app.call(
        "POST",
        PODS,
        {
            "metadata": {"name": "solo"},
            "spec": {
                "containers": [
                    {"name": "a", "image": "nginx"},
                    {"name": "b", "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/x:v1"},
                ],
                "initContainers": [{"name": "i", "image": "busybox:1.36"}],
            },
        },
    )
    pod = app.call("GET", f"{PODS}/solo")[1]
    status = pod["status"]
    assert status["phase"] == "Running" and status["qosClass"] == "BestEffort"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert all(c["status"] == "True" for c in status["conditions"])
    assert status["startTime"] == "2026-03-01T12:00:00Z"
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("10.0.0.0/16")
    assert status["podIPs"] == [{"ip": status["podIP"]}] and status["hostIP"] != status["podIP"]
    assert re.fullmatch(r"ip-10-0-\d+-\d+\.us-west-2\.compute\.internal", pod["spec"]["nodeName"])
    first, second = status["containerStatuses"]
    assert first["image"] == "docker.io/library/nginx:latest"
    assert second["image"] == "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/x:v1"
    assert first["ready"] and first["started"] and "running" in first["state"]
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", first["containerID"])
    (init,) = status["initContainerStatuses"]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["started"] is False


def test_template_change_replaces_pods_and_keeps_history(app: App) -> None:
    app.call("POST", DEPLOY, deployment("roll"))
    before = {p["metadata"]["name"] for p in pods_of(app, "roll")}
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}
    }
    code, _ = app.call(
        "PATCH", f"{DEPLOY}/roll", patch, content_type="application/strategic-merge-patch+json"
    )
    assert code == 200
    after = pods_of(app, "roll")
    assert len(after) == 2 and not before & {p["metadata"]["name"] for p in after}
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"nginx:1.28"}
    replica_sets = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs
        for rs in app.call("GET", RS)[1]["items"]
    }
    assert replica_sets["nginx:1.27"]["spec"]["replicas"] == 0
    assert (
        replica_sets["nginx:1.28"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == "2"
    )
    status = app.call("GET", f"{DEPLOY}/roll")[1]["status"]
    assert status["observedGeneration"] == 2 and status["updatedReplicas"] == 2
    # rolling back to the first template reuses its ReplicaSet, as revision 3
    back = {
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    }
    app.call("PATCH", f"{DEPLOY}/roll", back, content_type="application/strategic-merge-patch+json")
    items = app.call("GET", RS)[1]["items"]
    assert len(items) == 2
    old = next(
        rs
        for rs in items
        if rs["metadata"]["name"] == replica_sets["nginx:1.27"]["metadata"]["name"]
    )
    assert old["spec"]["replicas"] == 2
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_unchanged_update_keeps_the_pods(app: App) -> None:
    app.call("POST", DEPLOY, deployment("same"))
    names = {p["metadata"]["name"] for p in pods_of(app, "same")}
    current = app.call("GET", f"{DEPLOY}/same")[1]
    current["metadata"]["labels"] = {"team": "x"}
    assert app.call("PUT", f"{DEPLOY}/same", current)[0] == 200
    assert {p["metadata"]["name"] for p in pods_of(app, "same")} == names


def test_scale_subresource(app: App) -> None:
    app.call("POST", DEPLOY, deployment("scaled", replicas=1))
    code, scale = app.call("GET", f"{DEPLOY}/scaled/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 1, "selector": "app=scaled"}
    code, scale = app.call(
        "PATCH",
        f"{DEPLOY}/scaled/scale",
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    assert code == 200 and scale["spec"]["replicas"] == 3
    assert len(pods_of(app, "scaled")) == 3
    scale = app.call("GET", f"{DEPLOY}/scaled/scale")[1]
    scale["spec"]["replicas"] = 0
    assert app.call("PUT", f"{DEPLOY}/scaled/scale", scale)[0] == 200
    assert pods_of(app, "scaled") == []
    assert app.call("GET", f"{DEPLOY}/scaled")[1]["status"]["conditions"][0]["status"] == "True"
    code, body = app.call("PUT", f"{DEPLOY}/scaled/scale", {"spec": {"replicas": -1}})
    assert code == 422 and "must be greater than or equal to 0" in body["message"]


def test_status_subresource_writes_only_status(app: App) -> None:
    app.call(
        "POST",
        PODS,
        {"metadata": {"name": "st"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    )
    pod = app.call("GET", f"{PODS}/st/status")[1]
    pod["status"]["phase"] = "Succeeded"
    pod["spec"]["containers"][0]["image"] = "ignored"
    code, updated = app.call("PUT", f"{PODS}/st/status", pod)
    assert code == 200 and updated["status"]["phase"] == "Succeeded"
    assert updated["spec"]["containers"][0]["image"] == "i"
    # and the main resource keeps the status
    updated["status"]["phase"] = "Failed"
    assert app.call("PUT", f"{PODS}/st", updated)[1]["status"]["phase"] == "Succeeded"


def test_deleting_a_deployment_collects_its_replica_sets_and_pods(app: App) -> None:
    app.call("POST", DEPLOY, deployment("gone"))
    assert len(pods_of(app, "gone")) == 2
    assert app.call("DELETE", f"{DEPLOY}/gone", {"propagationPolicy": "Background"})[0] == 200
    assert pods_of(app, "gone") == [] and app.call("GET", RS)[1]["items"] == []


def test_orphan_propagation_keeps_dependents(app: App) -> None:
    app.call("POST", DEPLOY, deployment("orphans", replicas=1))
    code, _ = app.call("DELETE", f"{DEPLOY}/orphans", {"propagationPolicy": "Orphan"})
    assert code == 200
    (replica_set,) = app.call("GET", RS)[1]["items"]
    assert (
        "ownerReferences" not in replica_set["metadata"]
        or not replica_set["metadata"]["ownerReferences"]
    )
    assert len(pods_of(app, "orphans")) == 1


def test_a_deleted_pod_of_a_replica_set_is_replaced(app: App) -> None:
    app.call("POST", DEPLOY, deployment("heal", replicas=1))
    (first,) = pods_of(app, "heal")
    assert app.call("DELETE", f"{PODS}/{first['metadata']['name']}")[0] == 200
    (second,) = pods_of(app, "heal")
    assert second["metadata"]["name"] != first["metadata"]["name"]


def test_missing_service_account_fails_then_recovers(app: App) -> None:
    body = deployment("late")
    body["spec"]["template"]["spec"]["serviceAccountName"] = "late-sa"
    assert app.call("POST", DEPLOY, body)[0] == 201
    assert pods_of(app, "late") == []
    status = app.call("GET", f"{DEPLOY}/late")[1]["status"]
    failure = next(c for c in status["conditions"] if c["type"] == "ReplicaFailure")
    assert failure["reason"] == "FailedCreate"
    assert "error looking up service account default/late-sa" in failure["message"]
    app.call("POST", SA, {"metadata": {"name": "late-sa"}})  # the controller retries
    assert len(pods_of(app, "late")) == 2
    status = app.call("GET", f"{DEPLOY}/late")[1]["status"]
    assert status["readyReplicas"] == 2
    assert "ReplicaFailure" not in [c["type"] for c in status["conditions"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["spec"]["template"]["metadata"].update(labels={"app": "other"}),
            'Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: '
            'map[string]string{"app":"other"}: `selector` does not match template `labels`',
        ),
        (
            lambda d: d["spec"]["template"]["spec"].update(containers=[]),
            'Deployment.apps "bad" is invalid: spec.template.spec.containers: Required value',
        ),
        (
            lambda d: d["spec"].pop("selector"),
            'Deployment.apps "bad" is invalid: spec.selector: Required value',
        ),
        (
            lambda d: d["spec"].update(replicas=-1),
            'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1: must be '
            "greater than or equal to 0",
        ),
        (
            lambda d: d["spec"]["template"]["spec"].update(restartPolicy="Never"),
            'Deployment.apps "bad" is invalid: spec.template.spec.restartPolicy: Unsupported '
            'value: "Never": supported values: "Always"',
        ),
        (
            lambda d: d["metadata"].update(name="Bad"),
            'Deployment.apps "Bad" is invalid: metadata.name: Invalid value: "Bad": a lowercase '
            "RFC 1123 subdomain must consist of",
        ),
    ],
)
def test_deployment_validation(app: App, change: Any, message: str) -> None:
    body = deployment("bad")
    change(body)
    code, answer = app.call("POST", DEPLOY, body)
    assert code == 422 and answer["reason"] == "Invalid", answer
    assert answer["message"].startswith(message)
    assert answer["details"]["causes"]


def test_selector_is_immutable(app: App) -> None:
    app.call("POST", DEPLOY, deployment("fixed", replicas=0))
    patch = {
        "spec": {
            "selector": {"matchLabels": {"app": "fixed", "x": "y"}},
            "template": {"metadata": {"labels": {"app": "fixed", "x": "y"}}},
        }
    }
    code, body = app.call(
        "PATCH", f"{DEPLOY}/fixed", patch, content_type="application/merge-patch+json"
    )
    assert code == 422 and "field is immutable" in body["message"]


def test_pod_spec_is_immutable_but_the_image(app: App) -> None:
    app.call(
        "POST",
        PODS,
        {"metadata": {"name": "imm"}, "spec": {"containers": [{"name": "c", "image": "a"}]}},
    )
    smp = "application/strategic-merge-patch+json"
    image = {"spec": {"containers": [{"name": "c", "image": "b"}]}}
    assert app.call("PATCH", f"{PODS}/imm", image, content_type=smp)[0] == 200
    env = {"spec": {"containers": [{"name": "c", "env": [{"name": "X", "value": "1"}]}]}}
    code, body = app.call("PATCH", f"{PODS}/imm", env, content_type=smp)
    assert code == 422 and "pod updates may not change fields other than" in body["message"]


# ---------------------------------------------------------------------- namespaces
def test_namespace_lifecycle(app: App) -> None:
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert app.call("GET", f"{NS}/{name}/serviceaccounts/default")[0] == 200
    assert app.call("POST", NS, {"metadata": {"name": "team"}})[0] == 201
    namespace = app.call("GET", f"{NS}/team")[1]
    assert namespace["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert app.call("GET", f"{NS}/team/serviceaccounts/default")[0] == 200
    root_ca = app.call("GET", f"{NS}/team/configmaps/kube-root-ca.crt")[1]
    assert root_ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    app.call("DELETE", f"{NS}/team/configmaps/kube-root-ca.crt")  # the controller restores it
    assert app.call("GET", f"{NS}/team/configmaps/kube-root-ca.crt")[0] == 200
    app.call("POST", f"{NS}/team/configmaps", {"metadata": {"name": "mine"}})
    assert app.call("DELETE", f"{NS}/team")[0] == 200
    assert app.call("GET", f"{NS}/team/configmaps/mine")[0] == 404
    assert app.call("GET", f"{NS}/team/serviceaccounts/default")[0] == 404
    code, body = app.call("DELETE", f"{NS}/kube-system")
    assert code == 403 and body["message"] == (
        'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )


# ---------------------------------------------------------------------- kube-system
def test_seed_system_looks_like_eks(app: App) -> None:
    workloads.seed_system(app.app)
    workloads.seed_system(app.app)  # idempotent
    pods = app.call("GET", "/api/v1/namespaces/kube-system/pods")[1]["items"]
    names = sorted(p["metadata"]["name"] for p in pods)
    assert [n.rsplit("-", 1)[0] for n in names] == [
        "aws-node",
        "aws-node",
        names[2].rsplit("-", 1)[0],
        names[3].rsplit("-", 1)[0],
        "kube-proxy",
        "kube-proxy",
    ]
    assert all(re.fullmatch(r"coredns-[a-z0-9]{10}-[a-z0-9]{5}", n) for n in names[2:4])
    assert all(p["status"]["phase"] == "Running" for p in pods)
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2" in images
    nodes = {p["spec"]["nodeName"] for p in pods if p["metadata"]["name"].startswith("aws-node")}
    assert len(nodes) == 2  # one per node
    proxy = next(p for p in pods if p["metadata"]["name"].startswith("kube-proxy"))
    assert proxy["status"]["podIP"] == proxy["status"]["hostIP"]  # hostNetwork
    coredns = app.call("GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns")[1]
    assert coredns["status"]["readyReplicas"] == 2


def test_seed_system_on_a_bare_store() -> None:
    store = Store()
    workloads.seed_system(store, region="eu-south-1")
    pods, _ = store.list("/v1/pods", "kube-system")
    assert len(pods) == 6
    image = pods[0]["spec"]["containers"][0]["image"]
    assert image.startswith("590381155156.dkr.ecr.eu-south-1.amazonaws.com/")
    assert workloads.registry("cn-north-1") == "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn"


def test_template_hash_is_stable_and_shaped_like_kubernetes() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}
    first = controllers.template_hash(template)
    assert first == controllers.template_hash(
        {"spec": {"containers": []}, "metadata": {"labels": {"a": "b"}}}
    )
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{10}", first)
    assert controllers.template_hash({**template, "x": 1}) != first
