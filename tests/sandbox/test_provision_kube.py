"""The Kubernetes adapter and the Kubernetes side of apply, against standalone API servers.

Each cluster of these tests is a sandbox KubeApiServer of its own (TLS from a fresh CA,
static bearer tokens), reached through the official kubernetes client exactly as kubetrust
reaches an EKS cluster: endpoint + CA + token provider, or a kubeconfig context. The AWS
side runs against the session's sandbox. Once the sandbox serves its clusters' API servers
these tests keep guarding the adapter; the end-to-end run moves to the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_authkit import GroupAuthorizer, StaticTokens, admin_user

from kubetrust import provision
from kubetrust.adapters import KubeApiError, KubernetesPort
from kubetrust.provision import ClusterRef, LiveObject
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api
from kubetrust.sandbox.kube.server import KubeApiServer

from .test_provision_aws import _cluster, _ports, _spec

TOKEN = "admin-token"
NODE_ROLE = {
    "rolearn": "arn:aws:iam::222222222222:role/eks-node-role",
    "username": "system:node:{{EC2PrivateDNSName}}",
    "groups": ["system:bootstrappers", "system:nodes"],
}
ADMIN_ROLE = {
    "rolearn": "arn:aws:iam::222222222222:role/Admin",
    "username": "admin",
    "groups": ["system:masters"],
}


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority.create("provision test CA")


def _server(ca: pki.CertificateAuthority) -> KubeApiServer:
    tokens = StaticTokens({TOKEN: admin_user()})
    return KubeApiServer(ca, 0, api.KubeApi(tokens, GroupAuthorizer()))


@pytest.fixture(scope="module")
def servers(ca: pki.CertificateAuthority) -> Iterator[list[KubeApiServer]]:
    started = [_server(ca).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


def _port(server: KubeApiServer, ca: pki.CertificateAuthority) -> KubernetesPort:
    return KubernetesPort.from_endpoint(server.endpoint, ca.certificate_pem, lambda: TOKEN)


# --------------------------------------------------------------------------- the adapter


def test_namespaces_service_accounts_config_maps(
    servers: list[KubeApiServer], ca: pki.CertificateAuthority
) -> None:
    port = _port(servers[0], ca)
    assert port.get_namespace("adapter-ns") is None
    port.create_namespace("adapter-ns", {"team": "a"})
    namespace = port.get_namespace("adapter-ns")
    assert namespace is not None and namespace.labels["team"] == "a"

    port.create_service_account("adapter-ns", "sa", {"l": "1"}, {"a": "1"})
    port.patch_service_account("adapter-ns", "sa", {"eks.amazonaws.com/role-arn": "arn:x"})
    account = port.get_service_account("adapter-ns", "sa")
    assert account is not None
    assert account.annotations == {"a": "1", "eks.amazonaws.com/role-arn": "arn:x"}
    port.patch_service_account("adapter-ns", "sa", {"eks.amazonaws.com/role-arn": None})
    account = port.get_service_account("adapter-ns", "sa")
    assert account is not None and account.annotations == {"a": "1"}
    port.delete_service_account("adapter-ns", "sa")
    assert port.get_service_account("adapter-ns", "sa") is None

    port.create_config_map("adapter-ns", "cm", {"config": "a = 1\n"}, {"x": "y"})
    live = port.get_config_map("adapter-ns", "cm")
    assert live is not None and live.data == {"config": "a = 1\n"} and live.resource_version
    port.replace_config_map(
        LiveObject(
            "adapter-ns", "cm", live.labels, {}, {"config": "a = 2\n"}, live.resource_version
        )
    )
    with pytest.raises(KubeApiError) as stale:  # the version read before the replace
        port.replace_config_map(
            LiveObject("adapter-ns", "cm", {}, {}, {"config": "lost"}, live.resource_version)
        )
    assert stale.value.status == 409
    current = port.get_config_map("adapter-ns", "cm")
    assert current is not None and current.data == {"config": "a = 2\n"}
    port.delete_config_map("adapter-ns", "cm")
    assert port.get_config_map("adapter-ns", "cm") is None


def test_errors_are_translated(servers: list[KubeApiServer], ca: pki.CertificateAuthority) -> None:
    wrong = KubernetesPort.from_endpoint(servers[0].endpoint, ca.certificate_pem, lambda: "no")
    with pytest.raises(KubeApiError) as info:
        wrong.get_namespace("default")
    assert info.value.status == 401
    with pytest.raises(KubeApiError) as missing:  # namespace absent: 404 on create
        _port(servers[0], ca).create_config_map("nowhere", "cm", {}, {})
    assert missing.value.status == 404
    unreachable = KubernetesPort.from_endpoint(
        "https://127.0.0.1:9", ca.certificate_pem, lambda: "t"
    )
    with pytest.raises(KubeApiError) as down:
        unreachable.get_namespace("default")
    assert down.value.status == 0


def test_from_kubeconfig(
    servers: list[KubeApiServer], ca: pki.CertificateAuthority, tmp_path: Path
) -> None:
    import base64

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": servers[0].endpoint,
                    "certificate-authority-data": base64.b64encode(ca.certificate_pem).decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    port = KubernetesPort.from_kubeconfig(str(path), "ctx")
    assert port.get_namespace("kube-system") is not None
    with pytest.raises(KubeApiError):
        KubernetesPort.from_kubeconfig(str(path), "no-such-context")


# --------------------------------------------------------------------------- apply, end to end


class HybridPorts:
    """AWS from the sandbox; each named cluster's Kubernetes API from a standalone server."""

    def __init__(self, aws: Any, kube: dict[str, KubernetesPort]) -> None:
        self.factory = _ports(aws)
        self.clusters = kube

    def aws(self, account: str) -> Any:
        return self.factory.aws(account)

    def kube(self, cluster: ClusterRef) -> KubernetesPort:
        return self.clusters[cluster.name]


def test_seed_kubernetes_side(
    aws: Any, servers: list[KubeApiServer], ca: pki.CertificateAuthority, tmp_path: Path
) -> None:
    ci_cluster = _cluster(aws, aws.CI, "ci-cluster")
    target_cluster = _cluster(aws, aws.TARGET, "target-cluster")
    aws.client("eks", account=aws.TARGET).update_cluster_config(
        name=target_cluster, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}
    )
    ci_role, target_role = aws.unique("ci-role"), aws.unique("target-role")
    spec = _spec(
        aws,
        "seed.yaml",
        {
            "cluster: ci-cluster": f"cluster: {ci_cluster}",
            "name: target-cluster": f"name: {target_cluster}",
            "ci-account-iam-role": ci_role,
            "target-account-iam-role": target_role,
        },
    )
    source, target = _port(servers[0], ca), _port(servers[1], ca)
    ports = HybridPorts(aws, {ci_cluster: source, target_cluster: target})
    foreign = {"mapRoles": yaml.safe_dump([NODE_ROLE, ADMIN_ROLE], sort_keys=False)}
    target.create_config_map("kube-system", "aws-auth", foreign, {})

    report = provision.apply(
        spec, ports, provision.Options(backup_dir=tmp_path / "backups", artifacts_dir=tmp_path)
    )
    assert report.ok, report.to_json()
    account = source.get_service_account("ci-namespace", "ci-serviceaccount")
    assert account is not None
    assert account.annotations["eks.amazonaws.com/role-arn"] == (
        f"arn:aws:iam::{aws.CI}:role/{ci_role}"
    )
    assert account.labels["app.kubernetes.io/managed-by"] == "kubetrust"
    config = source.get_config_map("ci-namespace", "awsconfig-configmap")
    assert config is not None
    assert config.data["config"].startswith(
        f"[profile ci-env]\nrole_arn = arn:aws:iam::{aws.CI}:role/{ci_role}\n"
    )
    kubeconfig = source.get_config_map("ci-namespace", "kubetrust-kubeconfig")
    assert kubeconfig is not None
    clusters = yaml.safe_load(kubeconfig.data["config"])["clusters"]
    assert clusters[0]["name"] == f"arn:aws:eks:us-east-1:{aws.TARGET}:cluster/{target_cluster}"

    aws_auth = target.get_config_map("kube-system", "aws-auth")
    assert aws_auth is not None
    assert yaml.safe_load(aws_auth.data["mapRoles"]) == [
        NODE_ROLE,
        ADMIN_ROLE,
        {
            "rolearn": f"arn:aws:iam::{aws.TARGET}:role/{target_role}",
            "username": "test-user",
            "groups": ["system:masters"],
        },
    ]
    (backup,) = report.backups
    assert yaml.safe_load(yaml.safe_load(backup.read_text())["data"]["mapRoles"]) == [
        NODE_ROLE,
        ADMIN_ROLE,
    ]
    assert (tmp_path / "kubeconfig").exists() and (tmp_path / "aws-config").exists()

    assert provision.plan(spec, ports).pending == []
    assert provision.apply(spec, ports).writes == 0

    gone = provision.destroy(spec, ports, provision.Options(backup_dir=tmp_path / "backups"))
    assert gone.ok, json.dumps(gone.to_json(), indent=1)
    aws_auth = target.get_config_map("kube-system", "aws-auth")
    assert aws_auth is not None
    assert yaml.safe_load(aws_auth.data["mapRoles"]) == [NODE_ROLE, ADMIN_ROLE]
    assert source.get_service_account("ci-namespace", "ci-serviceaccount") is None
    assert source.get_config_map("ci-namespace", "awsconfig-configmap") is None
    assert source.get_namespace("ci-namespace") is not None


def test_access_entries_on_the_sandbox(
    aws: Any, servers: list[KubeApiServer], ca: pki.CertificateAuthority
) -> None:
    ci_cluster = _cluster(aws, aws.CI, "ci-cluster")
    names = {t: _cluster(aws, aws.TARGET, f"{t}-cluster") for t in ("dev", "stg", "prod")}
    for name in names.values():
        aws.client("eks", account=aws.TARGET).update_cluster_config(
            name=name, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}
        )
    suffix = aws.unique("x")[-8:]
    renames = {
        "cluster: ci-cluster": f"cluster: {ci_cluster}",
        "roleName: ci-deployer": f"roleName: ci-deployer-{suffix}",
        '"333333333333"': f'"{aws.TARGET}"',
        '"444444444444"': f'"{aws.TARGET}"',
        "ci-deployer-aws-config": f"aws-config-{suffix}",
        "ci-deployer-kubeconfig": f"kubeconfig-{suffix}",
    }
    renames |= {f"name: {t}-cluster": f"name: {n}" for t, n in names.items()}
    spec = _spec(aws, "three-targets.yaml", renames)
    ports = HybridPorts(aws, {ci_cluster: _port(servers[0], ca)})
    report = provision.apply(spec, ports)
    assert report.ok, report.to_json()
    eks = aws.client("eks", account=aws.TARGET)
    principal = f"arn:aws:iam::{aws.TARGET}:role/ci-deployer-{suffix}-dev"
    entry = eks.describe_access_entry(clusterName=names["dev"], principalArn=principal)
    assert entry["accessEntry"]["username"] == "ci-deployer"
    policies = eks.list_associated_access_policies(
        clusterName=names["dev"], principalArn=principal
    )["associatedAccessPolicies"]
    assert [(p["policyArn"].rsplit("/", 1)[1], p["accessScope"]) for p in policies] == [
        ("AmazonEKSEditPolicy", {"type": "namespace", "namespaces": ["apps", "apps-*"]})
    ]
    assert provision.apply(spec, ports).writes == 0
    assert provision.destroy(spec, ports).ok
    assert principal not in eks.list_access_entries(clusterName=names["dev"])["accessEntries"]


def test_eks_token_signs_the_cluster_header(aws: Any) -> None:
    import urllib.request
    from urllib.parse import parse_qs, urlsplit

    from kubetrust import eks_token
    from kubetrust.adapters import eks_bearer_token, session
    from kubetrust.adapters.aws import AwsAccess

    key, secret = aws.sandbox.admin_keys[aws.TARGET]
    boto = session(AwsAccess(access_key_id=key, secret_access_key=secret, region="us-east-1"))
    token = eks_bearer_token(boto, "target-cluster", "us-east-1", aws.sandbox.endpoint)
    url = eks_token.decode(token)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(aws.sandbox.endpoint + "/?")
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert query["X-Amz-Credential"][0].startswith(f"{key}/")
    request = urllib.request.Request(url, headers={"x-k8s-aws-id": "target-cluster"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # what the server replays
        assert f"arn:aws:iam::{aws.TARGET}:user/" in answer.read().decode()
    real = eks_bearer_token(boto, "target-cluster", "us-east-1")
    assert urlsplit(eks_token.decode(real)).netloc == "sts.us-east-1.amazonaws.com"
