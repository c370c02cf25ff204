"""Real kubectl v1.33 against an EKS-like cluster: kube-system as on EKS, Deployments
rolled out with IRSA, ``rollout status``, ``scale``, ``apply`` twice, ``delete``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kube_authkit import GroupAuthorizer, union

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, sa_tokens, workloads
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

from .conftest import Kubectl, static_tokens

ROLE = "arn:aws:iam::111111111111:role/shop"
MANIFEST = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
  annotations:
    eks.amazonaws.com/role-arn: ROLE
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      serviceAccountName: shop
      containers:
      - name: shop
        image: IMAGE
        env:
        - {name: MODE, value: prod}
""".replace("ROLE", ROLE)


@pytest.fixture(scope="module")
def eks(ca: pki.CertificateAuthority, issuer: ClusterIssuer) -> Iterator[KubeApiServer]:
    store = Store()
    authenticate = union(static_tokens(), sa_tokens.ServiceAccountTokenAuthenticator(issuer, store))
    app = api.KubeApi(authenticate, GroupAuthorizer(), store, issuer=issuer, region="eu-west-1")
    workloads.seed_system(app, "eu-west-1")  # as the sandbox wiring calls it
    with KubeApiServer(ca, 0, app) as server:
        yield server


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, eks: KubeApiServer, ca: pki.CertificateAuthority
) -> Kubectl:
    return Kubectl(tmp_path_factory.mktemp("eks-kubectl"), eks.endpoint, ca.certificate_pem)


def shop_pods(run: Kubectl) -> list[Any]:
    result = run("get", "pods", "-l", "app=shop", "-o", "json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["items"])


def test_kube_system_looks_like_eks(run: Kubectl) -> None:
    result = run("get", "pods", "-n", "kube-system")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = [line.split() for line in lines[1:]]
    patterns = [
        r"aws-node-\w{5}",
        r"aws-node-\w{5}",
        r"coredns-\w{10}-\w{5}",
        r"coredns-\w{10}-\w{5}",
        r"kube-proxy-\w{5}",
        r"kube-proxy-\w{5}",
    ]
    assert all(re.fullmatch(p, row[0]) for p, row in zip(patterns, rows, strict=True))
    assert [row[1:4] for row in rows] == [["2/2", "Running", "0"]] * 2 + [
        ["1/1", "Running", "0"]
    ] * 4
    deploy = run("get", "deploy", "coredns", "-n", "kube-system", "-o", "wide").stdout.splitlines()
    assert deploy[1].split()[:4] == ["coredns", "2/2", "2", "2"]
    assert (
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2" in deploy[1]
    )
    wide = run("get", "pods", "-n", "kube-system", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[5:7] == ["IP", "NODE"]
    assert re.search(r"ip-10-0-\d+-\d+\.eu-west-1\.compute\.internal", wide[1])


def test_apply_rollout_irsa_scale_delete(run: Kubectl) -> None:
    first = run("apply", "-f", "-", stdin=MANIFEST.replace("IMAGE", "nginx:1.27"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "serviceaccount/shop created",
        "deployment.apps/shop created",
    ]
    rollout = run("rollout", "status", "deployment/shop", "--timeout=20s")
    assert rollout.returncode == 0, rollout.stderr
    assert rollout.stdout.strip() == 'deployment "shop" successfully rolled out'
    assert rollout.stderr == ""  # no watch errors: the server serves watches
    table = run("get", "pods", "-l", "app=shop").stdout.splitlines()
    assert len(table) == 3 and all(line.split()[1:3] == ["1/1", "Running"] for line in table[1:])
    assert run("get", "deploy", "shop").stdout.splitlines()[1].split()[:4] == [
        "shop",
        "2/2",
        "2",
        "2",
    ]

    pods = shop_pods(run)
    for pod in pods:
        container = pod["spec"]["containers"][0]
        assert container["env"] == [
            {"name": "MODE", "value": "prod"},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
            {"name": "AWS_REGION", "value": "eu-west-1"},
            {"name": "AWS_ROLE_ARN", "value": ROLE},
            {
                "name": "AWS_WEB_IDENTITY_TOKEN_FILE",
                "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            },
        ]
        volumes = pod["spec"]["volumes"]
        assert volumes[0]["name"] == "aws-iam-token"
        assert (
            volumes[0]["projected"]["sources"][0]["serviceAccountToken"]["audience"]
            == "sts.amazonaws.com"
        )
    names = {pod["metadata"]["name"] for pod in pods}

    again = run("apply", "-f", "-", stdin=MANIFEST.replace("IMAGE", "nginx:1.27"))
    assert again.stdout.splitlines() == [
        "serviceaccount/shop unchanged",
        "deployment.apps/shop unchanged",
    ]
    assert {pod["metadata"]["name"] for pod in shop_pods(run)} == names

    changed = run("apply", "-f", "-", stdin=MANIFEST.replace("IMAGE", "nginx:1.28"))
    assert changed.stdout.splitlines() == [
        "serviceaccount/shop unchanged",
        "deployment.apps/shop configured",
    ]
    assert run("rollout", "status", "deployment/shop", "--timeout=20s").returncode == 0
    replaced = shop_pods(run)
    assert len(replaced) == 2 and not names & {p["metadata"]["name"] for p in replaced}
    assert {p["spec"]["containers"][0]["image"] for p in replaced} == {"nginx:1.28"}
    history = run("rollout", "history", "deployment/shop")
    assert history.returncode == 0, history.stderr

    scaled = run("scale", "deployment/shop", "--replicas=3")
    assert scaled.returncode == 0, scaled.stderr
    assert scaled.stdout.strip() == "deployment.apps/shop scaled"
    assert len(shop_pods(run)) == 3
    ready = run("wait", "--for=condition=Ready", "pod", "-l", "app=shop", "--timeout=20s")
    assert ready.returncode == 0, ready.stderr

    deleted = run("delete", "deployment", "shop")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == 'deployment.apps "shop" deleted'
    assert shop_pods(run) == []
    assert run("get", "rs", "-o", "name").stdout.strip() == ""


def test_pod_with_a_missing_service_account(run: Kubectl) -> None:
    result = run(
        "run",
        "lost",
        "--image=busybox",
        "--overrides",
        '{"spec": {"serviceAccountName": "nobody"}}',
    )
    assert result.returncode == 1
    assert (
        'Error from server (Forbidden): pods "lost" is forbidden: error looking up service '
        'account default/nobody: serviceaccount "nobody" not found'
    ) in result.stderr
