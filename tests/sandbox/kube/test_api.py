"""The API server over real HTTPS with urllib: discovery, every verb, every error Status."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube.server import KubeApiServer

from .conftest import NOBODY_TOKEN, READER_TOKEN, Client

CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


def _configmap(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"a": "1"}}


def _deployment(name: str) -> dict[str, Any]:
    container = {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def _assert_status(body: Any, code: int, reason: str) -> None:
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason


# ---------------------------------------------------------------------- TLS, auth
def test_tls_is_verified_against_the_sandbox_ca(kube_server: KubeApiServer) -> None:
    other = pki.CertificateAuthority.create("someone else")
    request = urllib.request.Request(kube_server.endpoint + "/version")
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(request, context=pki.client_ssl_context(other.certificate_pem))
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_version_needs_no_credentials(client: Client) -> None:
    code, body = client.call("GET", "/version", token=None)
    assert code == 200 and body["major"] == "1" and body["minor"] == "33"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_no_or_bad_token_is_401_unauthorized(client: Client, token: str | None) -> None:
    code, body = client.call("GET", "/api/v1/namespaces", token=token)
    assert code == 401
    _assert_status(body, 401, "Unauthorized")
    assert body["message"] == "Unauthorized"


def test_forbidden_uses_the_apiserver_wording(client: Client) -> None:
    code, body = client.call("GET", CM + "/x", token=NOBODY_TOKEN)
    assert code == 403
    _assert_status(body, 403, "Forbidden")
    assert body["message"] == (
        'configmaps "x" is forbidden: User "nobody" cannot get resource "configmaps" in API '
        'group "" in the namespace "default"'
    )
    assert body["details"] == {"name": "x", "group": "", "kind": "configmaps"}
    code, body = client.call(
        "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", token=NOBODY_TOKEN
    )
    assert body["message"] == (
        'clusterroles.rbac.authorization.k8s.io is forbidden: User "nobody" cannot list '
        'resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'
    )


def test_reader_may_list_but_not_create(client: Client) -> None:
    assert client.call("GET", CM, token=READER_TOKEN)[0] == 200
    code, body = client.call("POST", CM, _configmap("by-reader"), token=READER_TOKEN)
    assert code == 403 and 'User "reader" cannot create resource "configmaps"' in body["message"]


# ---------------------------------------------------------------------- discovery
def test_discovery_documents(client: Client) -> None:
    assert client.call("GET", "/api")[1]["versions"] == ["v1"]
    groups = {g["name"] for g in client.call("GET", "/apis")[1]["groups"]}
    assert groups == {
        "apps",
        "rbac.authorization.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
    }
    core = {r["name"]: r for r in client.call("GET", "/api/v1")[1]["resources"]}
    assert core["namespaces"]["shortNames"] == ["ns"] and not core["namespaces"]["namespaced"]
    assert core["configmaps"]["shortNames"] == ["cm"] and "patch" in core["configmaps"]["verbs"]
    assert core["pods"]["shortNames"] == ["po"] and core["serviceaccounts"]["kind"] == (
        "ServiceAccount"
    )
    assert core["serviceaccounts/token"] == {
        "name": "serviceaccounts/token",
        "singularName": "",
        "namespaced": True,
        "group": "authentication.k8s.io",
        "version": "v1",
        "kind": "TokenRequest",
        "verbs": ["create"],
    }
    assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
    authn = client.call("GET", "/apis/authentication.k8s.io/v1")[1]["resources"]
    assert {r["name"]: r["verbs"] for r in authn}["tokenreviews"] == ["create"]
    apps = client.call("GET", "/apis/apps/v1")[1]
    assert apps["groupVersion"] == "apps/v1"
    assert apps["resources"][0]["shortNames"] == ["deploy"]
    scale = {r["name"]: r for r in apps["resources"]}["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert client.call("GET", "/apis/nope/v1")[0] == 404
    paths = client.call("GET", "/openapi/v3")[1]["paths"]
    assert "apis/apps/v1" in paths


# ---------------------------------------------------------------------- CRUD
def test_initial_namespaces_and_table(client: Client) -> None:
    code, body = client.call("GET", "/api/v1/namespaces")
    names = [item["metadata"]["name"] for item in body["items"]]
    assert code == 200 and body["kind"] == "NamespaceList"
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    assert int(body["metadata"]["resourceVersion"]) > 0
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = client.call("GET", "/api/v1/namespaces", accept=accept)[1]
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    row = next(r for r in table["rows"] if r["cells"][0] == "kube-system")
    assert row["cells"][1] == "Active" and row["object"]["kind"] == "PartialObjectMetadata"


def test_create_get_update_delete_configmap(client: Client) -> None:
    code, created = client.call("POST", CM, _configmap("crud"))
    assert code == 201
    meta = created["metadata"]
    assert meta["namespace"] == "default" and meta["uid"] and meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z")
    code, body = client.call("POST", CM, _configmap("crud"))
    assert code == 409
    _assert_status(body, 409, "AlreadyExists")
    assert body["message"] == 'configmaps "crud" already exists'
    fetched = client.call("GET", CM + "/crud")[1]
    assert fetched == created
    fetched["data"]["b"] = "2"
    code, updated = client.call("PUT", CM + "/crud", fetched)
    assert code == 200 and updated["data"] == {"a": "1", "b": "2"}
    assert int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    code, body = client.call("PUT", CM + "/crud", fetched)  # stale resourceVersion
    assert code == 409
    _assert_status(body, 409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on configmaps "crud"')
    assert client.call("DELETE", CM + "/crud")[0] == 200
    code, body = client.call("GET", CM + "/crud")
    assert code == 404
    _assert_status(body, 404, "NotFound")
    assert body["message"] == 'configmaps "crud" not found'
    assert body["details"] == {"name": "crud", "kind": "configmaps"}
    assert client.call("DELETE", CM + "/crud")[0] == 404


@pytest.mark.parametrize(
    ("path", "kind", "api_version"),
    [
        ("/api/v1/namespaces/default/secrets", "Secret", "v1"),
        ("/api/v1/namespaces/default/serviceaccounts", "ServiceAccount", "v1"),
        ("/api/v1/namespaces/default/pods", "Pod", "v1"),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "Role",
            "rbac.authorization.k8s.io/v1",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "RoleBinding",
            "rbac.authorization.k8s.io/v1",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "ClusterRole",
            "rbac.authorization.k8s.io/v1",
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "ClusterRoleBinding",
            "rbac.authorization.k8s.io/v1",
        ),
    ],
)
def test_every_kind_round_trips(client: Client, path: str, kind: str, api_version: str) -> None:
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "rt"}}
    if kind == "Pod":
        obj["spec"] = {"containers": [{"name": "c", "image": "busybox"}]}
    assert client.call("POST", path, obj)[0] == 201
    code, listed = client.call("GET", path)
    assert code == 200 and listed["kind"] == f"{kind}List"
    assert "rt" in [item["metadata"]["name"] for item in listed["items"]]
    assert client.call("GET", f"{path}/rt")[1]["kind"] == kind
    assert client.call("DELETE", f"{path}/rt")[0] == 200


def test_namespace_lifecycle_and_scoping(client: Client) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    code, created = client.call("POST", "/api/v1/namespaces", ns)
    assert code == 201 and created["status"]["phase"] == "Active"
    path = "/api/v1/namespaces/team-a/configmaps"
    assert client.call("POST", path, _configmap("scoped"))[0] == 201
    everywhere = client.call("GET", "/api/v1/configmaps")[1]["items"]
    assert ("team-a", "scoped") in {
        (i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere
    }
    assert client.call("DELETE", "/api/v1/namespaces/team-a")[0] == 200
    assert client.call("GET", path + "/scoped")[0] == 404
    code, body = client.call("POST", path, _configmap("orphan"))
    assert code == 404 and body["message"] == 'namespaces "team-a" not found'


def test_bad_requests(client: Client) -> None:
    code, body = client.call("POST", CM, {"kind": "ConfigMap", "metadata": {}})
    assert code == 422 and body["reason"] == "Invalid"
    code, body = client.call(
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        {"metadata": {"name": "x", "namespace": "default"}},
    )
    assert code == 400 and "does not match the namespace" in body["message"]
    code, _ = client.call("POST", CM, raw=b"{not json")
    assert code == 400
    assert client.call("GET", "/api/v1/widgets")[0] == 404
    assert client.call("GET", CM + "?watch=true&timeoutSeconds=x")[0] == 400
    assert client.call("GET", CM + "?watch=true&resourceVersion=x")[0] == 400
    code, body = client.call("GET", CM + "?labelSelector=a%20in%20(b")
    assert code == 400
    code, body = client.call("POST", "/api/v1/configmaps", _configmap("nowhere"))
    assert code == 405 and body["reason"] == "MethodNotAllowed"
    assert client.call("DELETE", CM)[0] == 405  # deletecollection
    code, body = client.call("POST", CM + "?dryRun=All", _configmap("dry"))
    assert code == 400 and "dryRun" in body["message"]
    assert client.call("GET", CM + "/dry")[0] == 404
    client.call("POST", CM, _configmap("renamed"))
    code, body = client.call("PUT", CM + "/renamed", _configmap("other"))
    assert code == 400 and "does not match the name" in body["message"]


def test_label_selectors(client: Client) -> None:
    for name, labels in [
        ("sel-1", {"app": "x", "tier": "web"}),
        ("sel-2", {"app": "y"}),
        ("sel-3", {"tier": "db"}),
    ]:
        client.call("POST", CM, _configmap(name, labels))

    def names(selector: str) -> list[str]:
        query = urllib.parse.quote(selector)
        items = client.call("GET", f"{CM}?labelSelector={query}")[1]["items"]
        return [i["metadata"]["name"] for i in items if i["metadata"]["name"].startswith("sel")]

    assert names("app=x") == ["sel-1"]
    assert names("app!=x") == ["sel-2", "sel-3"]
    assert names("app in (x,y)") == ["sel-1", "sel-2"]
    assert names("tier notin (web)") == ["sel-2", "sel-3"]
    assert names("!app") == ["sel-3"]
    assert names("app,tier") == ["sel-1"]
    assert names("app==y") == ["sel-2"]


# ---------------------------------------------------------------------- PATCH
def test_merge_patch(client: Client) -> None:
    client.call("POST", CM, _configmap("mp"))
    patch = {"data": {"a": None, "b": "2"}, "metadata": {"labels": {"l": "v"}}}
    code, body = client.call(
        "PATCH", CM + "/mp", patch, content_type="application/merge-patch+json"
    )
    assert code == 200 and body["data"] == {"b": "2"} and body["metadata"]["labels"] == {"l": "v"}


def test_json_patch(client: Client) -> None:
    client.call("POST", CM, _configmap("jp"))
    ops = [
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "remove", "path": "/data/a"},
        {"op": "test", "path": "/data/b", "value": "2"},
    ]
    code, body = client.call("PATCH", CM + "/jp", ops, content_type="application/json-patch+json")
    assert code == 200 and body["data"] == {"b": "2"}
    bad = [{"op": "test", "path": "/data/b", "value": "9"}]
    code, body = client.call("PATCH", CM + "/jp", bad, content_type="application/json-patch+json")
    assert code == 422 and body["reason"] == "Invalid"


def test_strategic_merge_patch_merges_containers_and_env_by_name(client: Client) -> None:
    code, created = client.call("POST", DEPLOY, _deployment("smp"))
    assert code == 201 and created["spec"]["replicas"] == 1
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]},
                        {"name": "side", "image": "busybox"},
                    ]
                }
            }
        }
    }
    code, body = client.call(
        "PATCH", DEPLOY + "/smp", patch, content_type="application/strategic-merge-patch+json"
    )
    containers = body["spec"]["template"]["spec"]["containers"]
    assert code == 200 and [c["name"] for c in containers] == ["web", "side"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert body["metadata"]["generation"] == 2
    delete = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"name": "side", "$patch": "delete"}],
                }
            }
        }
    }
    body = client.call(
        "PATCH", DEPLOY + "/smp", delete, content_type="application/strategic-merge-patch+json"
    )[1]
    assert [c["name"] for c in body["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_patch_errors(client: Client) -> None:
    code, body = client.call(
        "PATCH", CM + "/absent", {"data": {}}, content_type="application/merge-patch+json"
    )
    assert code == 404 and body["reason"] == "NotFound"
    client.call("POST", CM, _configmap("pe"))
    code, _ = client.call("PATCH", CM + "/pe", {}, content_type="application/apply-patch+yaml")
    assert code == 415


# ---------------------------------------------------------------------- self reviews
def test_self_subject_review(client: Client) -> None:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    code, answer = client.call(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body, token=READER_TOKEN
    )
    assert code == 201 and answer["kind"] == "SelfSubjectReview"
    assert answer["status"]["userInfo"] == {
        "username": "reader",
        "uid": "r-1",
        "groups": ["readers", "system:authenticated"],
    }


def test_self_subject_access_review(client: Client) -> None:
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

    def allowed(verb: str, token: str) -> bool:
        spec = {"resourceAttributes": {"verb": verb, "resource": "pods", "namespace": "default"}}
        code, body = client.call("POST", path, {"spec": spec}, token=token)
        assert code == 201 and body["spec"] == spec
        return bool(body["status"]["allowed"])

    assert allowed("list", READER_TOKEN) and not allowed("create", READER_TOKEN)
    assert not allowed("get", NOBODY_TOKEN)


def test_self_subject_access_review_in_protobuf(client: Client) -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    attributes = field(1, b"default") + field(2, b"create") + field(5, b"pods")
    raw = field(2, field(1, attributes))
    type_meta = field(1, b"authorization.k8s.io/v1") + field(2, b"SelfSubjectAccessReview")
    envelope = b"k8s\x00" + field(1, type_meta) + field(2, raw)
    code, body = client.call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        raw=envelope,
        content_type="application/vnd.kubernetes.protobuf",
        token=READER_TOKEN,
    )
    assert code == 201
    assert body["spec"]["resourceAttributes"] == {
        "namespace": "default",
        "verb": "create",
        "resource": "pods",
    }
    assert body["status"]["allowed"] is False
