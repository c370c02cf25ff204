"""``kubectl get nodes`` and ``kubectl auth can-i --list`` on a sandbox cluster, with real kubectl.

The server is a seeded cluster as the sandbox starts one (bootstrap RBAC, the kube-system
workloads and so the nodes) behind :class:`RbacAuthorizer`: the nodes are the ones the pods
run on, Ready, with EKS's labels and version; ``view`` does not reach them (cluster-scoped),
``cluster-admin`` does. The rules review lists RBAC only: a ``view`` RoleBinding shows in its
namespace and nowhere else, ``system:masters`` shows ``*.*`` from the default binding, and an
EKS access policy is not listed (reference E.4) although it authorizes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_authkit import StaticTokens, admin_user

from kubetrust.chain.kube_identity import access_policy_grant
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, auth, bootstrap, kubelet, workloads
from kubetrust.sandbox.kube.rbac import RbacAuthorizer
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store

from .conftest import ADMIN_TOKEN, Kubectl

REGION = "eu-west-1"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
AUTHENTICATED = (auth.AUTHENTICATED,)
TOKENS = {
    ADMIN_TOKEN: admin_user(),  # system:masters, kubectl's default token here
    "t-vera": auth.User("vera", uid="u-vera", groups=AUTHENTICATED),
    "t-clara": auth.User("clara", uid="u-clara", groups=AUTHENTICATED),
    "t-policy": auth.User(
        "policy",
        uid="u-policy",
        groups=AUTHENTICATED,
        grants=(access_policy_grant(POLICY + "AmazonEKSClusterAdminPolicy"),),
    ),
}


@pytest.fixture(scope="module")
def store() -> Store:
    return Store()


@pytest.fixture(scope="module")
def server(ca: pki.CertificateAuthority, store: Store) -> Iterator[KubeApiServer]:
    app = api.KubeApi(
        StaticTokens(TOKENS),
        RbacAuthorizer(store),
        store,
        region=REGION,
        ca_pem=ca.certificate_pem,
    )
    bootstrap.seed(store)
    workloads.seed_system(app, REGION)
    with KubeApiServer(ca, 0, app) as running:
        yield running


@pytest.fixture(scope="module")
def kubectl(
    tmp_path_factory: pytest.TempPathFactory,
    server: KubeApiServer,
    ca: pki.CertificateAuthority,
) -> Kubectl:
    run = Kubectl(tmp_path_factory.mktemp("nodes-kubectl"), server.endpoint, ca.certificate_pem)
    for command in (
        ("create", "namespace", "dev"),
        ("create", "namespace", "prod"),
        ("create", "rolebinding", "vera-view", "--clusterrole=view", "--user=vera", "-n", "dev"),
        ("create", "clusterrolebinding", "clara", "--clusterrole=cluster-admin", "--user=clara"),
    ):
        result = run(*command)
        assert result.returncode == 0, (command, result.stderr)
    return run


def rows(output: str) -> list[list[str]]:
    """The whitespace-split lines of kubectl's table output, header first."""
    return [line.split() for line in output.strip().splitlines()]


# ---------------------------------------------------------------------- nodes
def test_get_nodes_lists_the_nodes_pods_run_on(kubectl: Kubectl, store: Store) -> None:
    result = kubectl("get", "nodes")
    assert result.returncode == 0, result.stderr
    header, *lines = rows(result.stdout)
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    names = [node.name for node in kubelet.nodes(store, REGION)]
    assert [line[0] for line in lines] == sorted(names)
    for line in lines:
        assert line[0].endswith(f".{REGION}.compute.internal")
        assert re.fullmatch(r"ip-10-0-\d+-\d+", line[0].partition(".")[0])
        assert line[1:3] == ["Ready", "<none>"]
        assert re.fullmatch(r"v1\.33\.\d+-eks-[0-9a-f]{7}", line[4])
    pods = json.loads(kubectl("get", "pods", "-n", "kube-system", "-o", "json").stdout)
    on = {pod["spec"]["nodeName"] for pod in pods["items"]}
    assert on == set(names)


def test_get_nodes_wide_and_short_name(kubectl: Kubectl, store: Store) -> None:
    result = kubectl("get", "no", "-o", "wide")
    assert result.returncode == 0, result.stderr
    header, *lines = rows(result.stdout)
    assert header == [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]
    addresses = {node.name: node.address for node in kubelet.nodes(store, REGION)}
    for line in lines:
        # OS-IMAGE "Amazon Linux 2023.x" splits into three words
        assert line[5:7] == [addresses[line[0]], "<none>"]
        assert line[7:10] == ["Amazon", "Linux", kubelet.OS_IMAGE.rpartition(" ")[2]]
        assert line[10].endswith(".amzn2023.x86_64")
        assert line[11].startswith("containerd://1.7.")


def test_node_objects_look_like_eks(kubectl: Kubectl) -> None:
    result = kubectl("get", "nodes", "-o", "json")
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)["items"]
    zones = set()
    for node in nodes:
        labels = node["metadata"]["labels"]
        name = node["metadata"]["name"]
        assert labels["kubernetes.io/hostname"] == name
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["topology.kubernetes.io/region"] == REGION
        assert labels["node.kubernetes.io/instance-type"] == kubelet.INSTANCE_TYPE
        assert labels["eks.amazonaws.com/nodegroup"] == kubelet.NODEGROUP
        zones.add(labels["topology.kubernetes.io/zone"])
        status = node["status"]
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {
            "Ready": "True",
            "MemoryPressure": "False",
            "DiskPressure": "False",
            "PIDPressure": "False",
        }
        types = [a["type"] for a in status["addresses"]]
        assert "InternalIP" in types and "Hostname" in types
        info = status["nodeInfo"]
        assert info["osImage"].startswith("Amazon Linux 2023")
        assert (info["operatingSystem"], info["architecture"]) == ("linux", "amd64")
        assert status["allocatable"]["pods"] == status["capacity"]["pods"]
        assert re.fullmatch(rf"aws:///{REGION}[a-f]/i-0[0-9a-f]{{16}}", node["spec"]["providerID"])
    assert len(zones) == len(nodes)  # one node per availability zone


def test_describe_node_shows_its_pods(kubectl: Kubectl, store: Store) -> None:
    name = kubelet.nodes(store, REGION)[0].name
    result = kubectl("describe", "node", name)
    assert result.returncode == 0, result.stderr
    assert "Ready            True" in result.stdout
    assert "Non-terminated Pods:          (3 in total)" in result.stdout
    for prefix in ("aws-node-", "kube-proxy-", "coredns-"):
        assert prefix in result.stdout


def test_view_user_may_not_list_nodes(kubectl: Kubectl) -> None:
    result = kubectl("get", "nodes", token="t-vera")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (Forbidden): nodes is forbidden: User "vera" cannot list resource '
        '"nodes" in API group "" at the cluster scope'
    )


def test_cluster_admin_binding_and_access_policy_may_list_nodes(kubectl: Kubectl) -> None:
    for token in ("t-clara", "t-policy"):
        result = kubectl("get", "nodes", "-o", "name", token=token)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("node/ip-10-0-") == kubelet.NODE_COUNT


def test_nodes_in_discovery(kubectl: Kubectl) -> None:
    result = kubectl("api-resources", "--api-group=")
    assert result.returncode == 0, result.stderr
    line = next(line.split() for line in result.stdout.splitlines() if line.startswith("nodes "))
    assert line == ["nodes", "no", "v1", "false", "Node"]


# ---------------------------------------------------------------------- can-i --list
def listed(kubectl: Kubectl, token: str, *args: str) -> list[list[str]]:
    result = kubectl("auth", "can-i", "--list", *args, token=token)
    assert result.returncode == 0, result.stderr
    # as on EKS, whose webhook authorizer (access policies) cannot list rules
    assert (
        "Warning: the list may be incomplete: webhook authorizer does not support user "
        "rule resolution" in result.stderr
    ), result.stderr
    header, *lines = rows(result.stdout)
    assert header == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    return lines


def resource_rows(lines: list[list[str]]) -> dict[str, str]:
    """``{resource: verbs}`` of the resource rows (the ones with four columns)."""
    return {line[0]: " ".join(line[3:]) for line in lines if not line[0].startswith("[")}


BASIC = {
    "selfsubjectreviews.authentication.k8s.io": "[create]",
    "selfsubjectaccessreviews.authorization.k8s.io": "[create]",
    "selfsubjectrulesreviews.authorization.k8s.io": "[create]",
}


def test_can_i_list_shows_the_view_binding_in_its_namespace(kubectl: Kubectl) -> None:
    lines = listed(kubectl, "t-vera", "-n", "dev")
    found = resource_rows(lines)
    assert found["pods"] == "[get list watch]"
    assert found["deployments.apps"] == "[get list watch]"
    assert "secrets" not in found
    assert "nodes" not in found
    assert ["[/api]", "[]", "[get]"] in lines  # system:discovery, to every authenticated user
    for resource, verbs in BASIC.items():
        assert found[resource] == verbs


def test_can_i_list_elsewhere_shows_only_what_everyone_has(kubectl: Kubectl) -> None:
    for args in (("-n", "prod"), ()):
        lines = listed(kubectl, "t-vera", *args)
        assert resource_rows(lines) == BASIC
        urls = {line[0] for line in lines if line[0].startswith("[")}
        assert {"[/api]", "[/apis/*]", "[/healthz]", "[/version]"} <= urls


def test_can_i_list_for_masters_and_cluster_admin_shows_everything(kubectl: Kubectl) -> None:
    for token in (ADMIN_TOKEN, "t-clara"):
        lines = listed(kubectl, token, "-n", "dev")
        assert lines[0] == ["*.*", "[]", "[]", "[*]"]
        assert ["[*]", "[]", "[*]"] in lines


def test_can_i_list_does_not_show_access_policies(kubectl: Kubectl) -> None:
    """E.4: the policy allows everything, yet is no RBAC rule to list."""
    lines = listed(kubectl, "t-policy", "-n", "dev")
    assert resource_rows(lines) == BASIC
    assert kubectl("auth", "can-i", "delete", "nodes", token="t-policy").stdout.strip() == "yes"


def test_rules_review_as_json(kubectl: Kubectl, tmp_path: Path) -> None:
    """A JSON body (not kubectl's protobuf) is read too; the answer echoes the spec."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": "dev"},
    }
    path = tmp_path / "review.json"
    path.write_text(json.dumps(body))
    raw = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
    result = kubectl("create", "--raw", raw, "-f", str(path), token="t-vera")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["spec"] == {"namespace": "dev"}
    status = answer["status"]
    assert status["incomplete"] is True
    assert status["evaluationError"] == "webhook authorizer does not support user rule resolution"
    pods = [rule for rule in status["resourceRules"] if "pods" in rule.get("resources", [])]
    assert pods and pods[0]["verbs"] == ["get", "list", "watch"]
    assert all("nonResourceURLs" in rule for rule in status["nonResourceRules"])
