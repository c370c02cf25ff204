"""Real kubectl v1.33 against the API server: the verbs the sandbox promises.

kubectl runs with ``KUBECONFIG`` in ``tmp_path`` and a private ``HOME`` (its discovery
cache lives there), so nothing leaks between tests or into the user's files.
"""

from __future__ import annotations

import base64
import json

from .conftest import NOBODY_TOKEN, READER_TOKEN, Kubectl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: IMAGE
        env:
        - {name: A, value: "1"}
      - name: side
        image: busybox
"""


def test_get_namespaces(kubectl: Kubectl) -> None:
    result = kubectl("get", "namespaces")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    assert {line.split()[0] for line in lines[1:]} >= {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }


def test_get_pods_in_kube_system(kubectl: Kubectl) -> None:
    result = kubectl("get", "pods", "-n", "kube-system")
    assert result.returncode == 0, result.stderr
    assert "No resources found in kube-system namespace." in result.stderr


def test_create_configmap_then_get_it(kubectl: Kubectl) -> None:
    result = kubectl("create", "configmap", "kc-cm", "--from-literal=a=b")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "configmap/kc-cm created"
    got = json.loads(kubectl("get", "cm", "kc-cm", "-o", "json").stdout)
    assert got["data"] == {"a": "b"} and got["metadata"]["namespace"] == "default"
    again = kubectl("create", "configmap", "kc-cm", "--from-literal=a=b")
    assert again.returncode == 1
    # kubectl's own wording for `create configmap` (as against a real cluster)
    assert 'failed to create configmap: configmaps "kc-cm" already exists' in again.stderr


def test_apply_creates_then_patches_a_deployment(kubectl: Kubectl) -> None:
    first = kubectl("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "nginx:1.27"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "deployment.apps/web created"
    changed = DEPLOYMENT.replace("IMAGE", "nginx:1.28").split("      - name: side")[0]
    second = kubectl("apply", "-f", "-", stdin=changed)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "deployment.apps/web configured"
    got = json.loads(kubectl("get", "deploy", "web", "-o", "json").stdout)
    containers = got["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.28")]
    assert "kubectl.kubernetes.io/last-applied-configuration" in got["metadata"]["annotations"]
    third = kubectl("apply", "-f", "-", stdin=changed)
    assert third.stdout.strip() == "deployment.apps/web unchanged"
    table = kubectl("get", "deployments").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


def test_auth_whoami(kubectl: Kubectl) -> None:
    result = kubectl("auth", "whoami", "-o", "json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)["status"]["userInfo"]
    assert info["username"] == "kubernetes-admin"
    assert info["groups"] == ["system:masters", "system:authenticated"]


def test_auth_can_i(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"
    reader = kubectl("auth", "can-i", "list", "pods", "-n", "kube-system", token=READER_TOKEN)
    assert reader.stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "delete", "pods", token=READER_TOKEN)
    assert denied.returncode == 1 and denied.stdout.strip() == "no"


def test_errors_as_kubectl_prints_them(kubectl: Kubectl) -> None:
    missing = kubectl("get", "configmap", "absent")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): configmaps "absent" not found' in missing.stderr
    forbidden = kubectl("get", "secrets", "-n", "kube-system", token=NOBODY_TOKEN)
    assert forbidden.returncode == 1
    assert (
        'Error from server (Forbidden): secrets is forbidden: User "nobody" cannot list '
        'resource "secrets" in API group "" in the namespace "kube-system"'
    ) in forbidden.stderr
    unauthorized = kubectl("get", "namespaces", token="not-a-token")
    assert unauthorized.returncode == 1
    assert "Unauthorized" in unauthorized.stderr


def test_label_patch_and_delete(kubectl: Kubectl) -> None:
    assert kubectl("create", "configmap", "kc-l", "--from-literal=x=1").returncode == 0
    assert kubectl("label", "configmap", "kc-l", "tier=web").returncode == 0
    selected = kubectl("get", "cm", "-l", "tier in (web)", "-o", "name").stdout.split()
    assert selected == ["configmap/kc-l"]
    patched = kubectl(
        "patch", "cm", "kc-l", "--type=json", "-p", '[{"op":"add","path":"/data/y","value":"2"}]'
    )
    assert patched.returncode == 0, patched.stderr
    deleted = kubectl("delete", "cm", "kc-l")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == 'configmap "kc-l" deleted'


def test_typed_creates_sent_as_protobuf(kubectl: Kubectl) -> None:
    commands = [
        ("create", "namespace", "kc-team"),
        ("create", "secret", "generic", "kc-s", "--from-literal=p=q", "-n", "kc-team"),
        ("create", "serviceaccount", "kc-sa", "-n", "kc-team"),
        ("create", "role", "kc-r", "--verb=get", "--resource=pods", "-n", "kc-team"),
        ("create", "rolebinding", "kc-rb", "--role=kc-r", "--user=alice", "-n", "kc-team"),
        ("create", "clusterrole", "kc-cr", "--verb=list", "--resource=deployments.apps"),
        ("create", "clusterrolebinding", "kc-crb", "--clusterrole=kc-cr", "--group=g1"),
        (
            "create",
            "deployment",
            "kc-d",
            "--image=nginx",
            "--port=80",
            "--replicas=0",
            "-n",
            "kc-team",
        ),
        ("run", "kc-p", "--image=busybox", "-n", "kc-team"),
        ("create", "configmap", "kc-cm", "--from-literal=a=b", "-n", "kc-team"),
    ]
    for command in commands:
        result = kubectl(*command)
        assert result.returncode == 0, (command, result.stderr)
    secret = json.loads(kubectl("get", "secret", "kc-s", "-n", "kc-team", "-o", "json").stdout)
    assert secret["type"] == "Opaque" and base64.b64decode(secret["data"]["p"]) == b"q"
    binding = json.loads(kubectl("get", "clusterrolebinding", "kc-crb", "-o", "json").stdout)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kc-cr",
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "g1"}
    ]
    deploy = json.loads(kubectl("get", "deploy", "kc-d", "-n", "kc-team", "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 0
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container == {  # what kubectl sent, with the apiserver's defaults
        "name": "nginx",
        "image": "nginx",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "imagePullPolicy": "Always",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    pods = kubectl("get", "pods", "-n", "kc-team").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:3] == ["kc-p", "1/1", "Running"]  # admitted, then the "kubelet"
    assert "Events:  <none>" in kubectl("describe", "cm", "kc-cm", "-n", "kc-team").stdout
    gone = kubectl("delete", "namespace", "kc-team")
    assert gone.returncode == 0, gone.stderr
    assert kubectl("get", "sa", "kc-sa", "-n", "kc-team").returncode == 1
