"""The EKS-hosted webhook's Pod Identity mutation (reference F.2, F.6), field by field.

The associations are driven through the webhook's protocol
(:class:`~kubetrust.sandbox.kube.pod_identity_webhook.ServiceAccountAssociations`) with a
set the test owns: this is the seam the EKS control plane fills from the association API
(tests/sandbox/test_pod_identity_agent.py drives it with boto3 end to end). Pods go through
the API server's real write path (in-process, and over TLS with the real kubectl).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kube_authkit import GroupAuthorizer, union

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, pod_identity_webhook, sa_tokens
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

from .conftest import App, Kubectl, static_tokens

SA = "/api/v1/namespaces/default/serviceaccounts"
PODS = "/api/v1/namespaces/default/pods"
ROLE = "arn:aws:iam::111111111111:role/app"
REGION = "us-west-2"
MOUNT = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
TOKEN_FILE = f"{MOUNT}/eks-pod-identity-token"
AGENT = "http://169.254.170.23/v1/credentials"
POD_IDENTITY_ENV = [
    {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
    {"name": "AWS_DEFAULT_REGION", "value": REGION},
    {"name": "AWS_REGION", "value": REGION},
    {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": AGENT},
    {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": TOKEN_FILE},
]
"""``addEnvToContainer``'s order for the container-credentials branch (the webhook's
``containercredentials/rawPodNeedsAll`` fixture)."""
MOUNT_ENTRY = {"name": "eks-pod-identity-token", "readOnly": True, "mountPath": MOUNT}


class Associations:
    """The webhook's protocol over a set of (namespace, service account) the test edits."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def has_association(self, namespace: str, service_account: str) -> bool:
        return (namespace, service_account) in self.pairs


def low(lo: int, hi: int) -> int:
    assert (lo, hi) == (79200, 86400)
    return lo


def wire(app: api.KubeApi, draw: Any = low) -> Associations:
    associations = Associations()
    app.cluster.admission.pod_identity = pod_identity_webhook.PodIdentityWebhook(
        associations, region=REGION, draw=draw
    )
    return associations


@pytest.fixture
def web(issuer: ClusterIssuer) -> tuple[App, Associations]:
    app = App(issuer, region=REGION)
    return app, wire(app.app)


def account(app: App, name: str, annotations: dict[str, str] | None = None) -> None:
    metadata: dict[str, Any] = {"name": name, "annotations": annotations or {}}
    code, body = app.call("POST", SA, {"metadata": metadata})
    assert code == 201, body


def pod(
    app: App,
    name: str,
    account_name: str = "app",
    *,
    containers: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    path: str = PODS,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "serviceAccountName": account_name,
            "containers": containers or [{"name": "main", "image": "busybox"}],
            **spec,
        },
    }
    code, created = app.call("POST", path, body)
    assert code == 201, created
    return dict(created)


def container(created: dict[str, Any], name: str = "main", section: str = "containers") -> Any:
    (found,) = [c for c in created["spec"][section] if c["name"] == name]
    return found


def token_volumes(created: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in created["spec"]["volumes"] if v["name"] == "eks-pod-identity-token"]


# ---------------------------------------------------------------------- the mutation
def test_every_field_as_the_webhook_writes_it(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    created = pod(app, "p1", volumes=[{"name": "data", "emptyDir": {}}])
    main = container(created)
    assert main["env"] == POD_IDENTITY_ENV
    assert MOUNT_ENTRY in main["volumeMounts"]
    assert created["spec"]["volumes"][0] == {  # prepended (``add /spec/volumes/0``)
        "name": "eks-pod-identity-token",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": "pods.eks.amazonaws.com",
                        "expirationSeconds": 79200,
                        "path": "eks-pod-identity-token",
                    }
                }
            ],
        },
    }
    assert created["spec"]["volumes"][1]["name"] == "data"
    assert created["metadata"]["labels"] == {"eks.amazonaws.com/pod-identity": "enabled"}
    # the API token is still mounted by the ServiceAccount plugin, as on EKS
    assert any(v["name"].startswith("kube-api-access-") for v in created["spec"]["volumes"])
    # and what was stored is what was answered
    code, stored = app.call("GET", f"{PODS}/p1")
    assert code == 200
    for key in ("containers", "volumes"):
        assert stored["spec"][key] == created["spec"][key]


def test_label_is_added_to_existing_labels(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    body = {
        "metadata": {"name": "labelled", "labels": {"app": "web"}},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "x"}]},
    }
    code, created = app.call("POST", PODS, body)
    assert code == 201, created
    assert created["metadata"]["labels"] == {
        "app": "web",
        "eks.amazonaws.com/pod-identity": "enabled",
    }


def test_expiration_jitter_and_annotations(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    account(app, "short", {"eks.amazonaws.com/token-expiration": "3600"})
    associations.pairs |= {("default", "app"), ("default", "short")}

    def seconds(created: dict[str, Any]) -> int:
        (volume,) = token_volumes(created)
        return int(volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"])

    assert seconds(pod(app, "jittered")) == 79200  # the draw decides within [79200, 86400]
    assert seconds(pod(app, "from-sa", "short")) == 3600  # an explicit value is not jittered
    pod_annotation = {"eks.amazonaws.com/token-expiration": "100"}
    assert seconds(pod(app, "from-pod", "short", annotations=pod_annotation)) == 600  # floor


def test_default_draw_stays_in_the_jitter_range(issuer: ClusterIssuer) -> None:
    app = App(issuer, region=REGION)
    associations = wire(app.app, draw=pod_identity_webhook.default_draw())
    account(app, "app")
    associations.pairs.add(("default", "app"))
    drawn = set()
    for index in range(20):
        (volume,) = token_volumes(pod(app, f"r{index}"))
        value = volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"]
        assert 79200 <= value <= 86400
        drawn.add(value)
    assert len(drawn) > 1  # jittered, not a constant


# ---------------------------------------------------------------------- precedence over IRSA
def test_association_takes_precedence_over_the_irsa_annotation(
    web: tuple[App, Associations],
) -> None:
    app, associations = web
    account(app, "both", {"eks.amazonaws.com/role-arn": ROLE})
    irsa_pod = pod(app, "before", "both")  # no association yet: IRSA
    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in container(irsa_pod)["env"]
    associations.pairs.add(("default", "both"))
    created = pod(app, "after", "both")
    names = [env["name"] for env in container(created)["env"]]
    assert "AWS_ROLE_ARN" not in names and "AWS_WEB_IDENTITY_TOKEN_FILE" not in names
    assert container(created)["env"] == POD_IDENTITY_ENV
    assert not [v for v in created["spec"]["volumes"] if v["name"] == "aws-iam-token"]
    assert len(token_volumes(created)) == 1
    associations.pairs.clear()  # association deleted: new pods are IRSA pods again
    again = pod(app, "again", "both")
    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in container(again)["env"]
    assert not token_volumes(again)
    assert "labels" not in again["metadata"]


def test_association_is_per_namespace_and_service_account(
    web: tuple[App, Associations],
) -> None:
    app, associations = web
    account(app, "app")
    account(app, "other")
    associations.pairs |= {("elsewhere", "app"), ("default", "other-sa")}
    created = pod(app, "plain")
    assert "env" not in container(created)
    assert not token_volumes(created)


# ---------------------------------------------------------------------- containers
def test_skip_containers_and_init_containers(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    created = pod(
        app,
        "skips",
        containers=[{"name": "sidecar", "image": "x"}, {"name": "main", "image": "x"}],
        initContainers=[{"name": "init", "image": "x"}, {"name": "init-skip", "image": "x"}],
        annotations={"eks.amazonaws.com/skip-containers": "sidecar,init-skip"},
    )
    assert container(created)["env"] == POD_IDENTITY_ENV
    assert container(created, "init", "initContainers")["env"] == POD_IDENTITY_ENV
    for name, section in (("sidecar", "containers"), ("init-skip", "initContainers")):
        skipped = container(created, name, section)
        assert "env" not in skipped
        assert MOUNT_ENTRY not in skipped.get("volumeMounts", [])
    assert len(token_volumes(created)) == 1  # the pod still gets the volume


def test_container_that_sets_a_credentials_variable_keeps_it(
    web: tuple[App, Associations],
) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    own = {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://127.0.0.1:9/creds"}
    token_only = {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/t"}
    complete = [own, {"name": "AWS_REGION", "value": "eu-west-1"}]
    complete.append({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"})
    created = pod(
        app,
        "preset",
        containers=[
            {"name": "uri", "image": "x", "env": [own]},
            {"name": "token", "image": "x", "env": [token_only]},
            {"name": "complete", "image": "x", "env": complete},
        ],
    )
    # either variable stops the container-credentials env, not the region/STS env or mount
    assert container(created, "uri")["env"] == [own, *POD_IDENTITY_ENV[:3]]
    assert container(created, "token")["env"] == [token_only, *POD_IDENTITY_ENV[:3]]
    assert MOUNT_ENTRY in container(created, "uri")["volumeMounts"]
    # credentials, region and STS all set: the container is left alone entirely
    assert container(created, "complete")["env"] == complete
    assert MOUNT_ENTRY not in container(created, "complete").get("volumeMounts", [])


def test_existing_token_volume_is_kept_and_a_foreign_one_stops_the_mutation(
    web: tuple[App, Associations],
) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    own = {
        "name": "eks-pod-identity-token",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"audience": "mine", "path": "eks-pod-identity-token"}}
            ]
        },
    }
    kept = pod(app, "own-volume", volumes=[own])
    (volume,) = token_volumes(kept)
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "mine"
    assert container(kept)["env"] == POD_IDENTITY_ENV
    foreign = {"name": "eks-pod-identity-token", "hostPath": {"path": "/tmp"}}
    untouched = pod(app, "foreign-volume", volumes=[foreign])
    assert "env" not in container(untouched)
    assert "labels" not in untouched["metadata"]


def test_windows_pods_get_a_windows_token_path(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    created = pod(app, "win", nodeSelector={"kubernetes.io/os": "windows"})
    env = {e["name"]: e["value"] for e in container(created)["env"]}
    expected = (
        "C:\\var\\run\\secrets\\pods.eks.amazonaws.com\\serviceaccount\\eks-pod-identity-token"
    )
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == expected


# ---------------------------------------------------------------------- only at creation
def test_pod_created_before_its_association_gets_nothing(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    early = pod(app, "early")
    associations.pairs.add(("default", "app"))
    code, stored = app.call("GET", f"{PODS}/early")
    assert code == 200
    for key in ("containers", "volumes"):
        assert stored["spec"][key] == early["spec"][key]
    assert "env" not in container(stored) and not token_volumes(stored)
    # an update never mutates (the webhook is registered for CREATE only)
    patch = {"metadata": {"labels": {"touched": "yes"}}}
    code, patched = app.call(
        "PATCH", f"{PODS}/early", patch, content_type="application/merge-patch+json"
    )
    assert code == 200, patched
    assert patched["metadata"]["labels"] == {"touched": "yes"}
    assert "env" not in container(patched) and not token_volumes(patched)
    recreated = pod(app, "early-2")  # recreating the pod is the documented fix
    assert container(recreated)["env"] == POD_IDENTITY_ENV


def test_pods_of_a_deployment_are_mutated(web: tuple[App, Associations]) -> None:
    app, associations = web
    account(app, "app")
    associations.pairs.add(("default", "app"))
    template = {
        "metadata": {"labels": {"run": "d"}},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "main", "image": "x"}]},
    }
    deployment = {
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"run": "d"}}, "template": template},
    }
    code, body = app.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
    assert code == 201, body
    code, listed = app.call("GET", f"{PODS}?labelSelector=run%3Dd")
    (created,) = listed["items"]
    assert container(created)["env"] == POD_IDENTITY_ENV
    assert created["metadata"]["labels"]["eks.amazonaws.com/pod-identity"] == "enabled"


def test_mutation_is_pure_of_everything_but_the_pod() -> None:
    service_account = {"metadata": {"name": "app", "annotations": {}}}
    pod_in = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    before = copy.deepcopy(service_account)
    webhook = pod_identity_webhook.PodIdentityWebhook(region="eu-west-1", draw=low)
    mutated = pod_identity_webhook.mutate(copy.deepcopy(pod_in), service_account, webhook)
    assert service_account == before
    assert mutated["spec"]["volumes"][0]["projected"] == {  # no defaults before the API's
        "sources": [
            {
                "serviceAccountToken": {
                    "audience": "pods.eks.amazonaws.com",
                    "expirationSeconds": 79200,
                    "path": "eks-pod-identity-token",
                }
            }
        ]
    }
    assert not pod_identity_webhook.NoAssociations().has_association("default", "app")


# ---------------------------------------------------------------------- real kubectl
@pytest.fixture(scope="module")
def served(
    ca: pki.CertificateAuthority, issuer: ClusterIssuer
) -> Iterator[tuple[KubeApiServer, Associations]]:
    store = Store()
    authenticate = union(static_tokens(), sa_tokens.ServiceAccountTokenAuthenticator(issuer, store))
    app = api.KubeApi(
        authenticate,
        GroupAuthorizer(reader_groups=("readers",)),
        store,
        issuer=issuer,
        region=REGION,
        ca_pem=ca.certificate_pem,
    )
    associations = wire(app)
    with KubeApiServer(ca, 0, app) as server:
        yield server, associations


def test_kubectl_sees_the_mutation(
    served: tuple[KubeApiServer, Associations],
    ca: pki.CertificateAuthority,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server, associations = served
    kubectl = Kubectl(tmp_path_factory.mktemp("kubectl-pi"), server.endpoint, ca.certificate_pem)
    done = kubectl("create", "serviceaccount", "app")
    assert done.returncode == 0, done.stderr
    done = kubectl("run", "before", "--image=busybox", "--overrides", _sa_override())
    assert done.returncode == 0, done.stderr
    associations.pairs.add(("default", "app"))
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "after"},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "main", "image": "x"}]},
    }
    done = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert done.returncode == 0, done.stderr
    done = kubectl("get", "pod", "after", "-o", "json")
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)
    assert container(after)["env"] == POD_IDENTITY_ENV
    assert after["spec"]["volumes"][0]["name"] == "eks-pod-identity-token"
    done = kubectl("get", "pods", "-l", "eks.amazonaws.com/pod-identity=enabled", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pod/after"]  # `before` predates the association
    done = kubectl("get", "pod", "before", "-o", "jsonpath={.spec.containers[0].env}")
    assert done.returncode == 0 and done.stdout == "", done.stdout


def _sa_override() -> str:
    return json.dumps({"apiVersion": "v1", "spec": {"serviceAccountName": "app"}})
