"""The pure pieces of the API server: selectors, store, patches, protobuf, tables."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from kubetrust.sandbox.kube import controllers, patch, protowire, selectors, status, tables
from kubetrust.sandbox.kube.store import INITIAL_NAMESPACES, NAMESPACES, Store

CM = "/v1/configmaps"


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a in (x, y)", {"a": "y"}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("!a", {"b": "1"}, True),
        ("a", {"b": "1"}, False),
        ("a=b,c in (d),!e", {"a": "b", "c": "d"}, True),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert selectors.parse(selector)(labels) is expected


def test_a_selector_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="unable to parse"):
        selectors.parse("a in (b")


def test_store_starts_with_the_four_namespaces() -> None:
    names = [ns["metadata"]["name"] for ns in Store().list(NAMESPACES)[0]]
    assert names == sorted(INITIAL_NAMESPACES)


def test_store_bookkeeping() -> None:
    store = Store()
    created = store.create(CM, "default", {"metadata": {"name": "a", "uid": "mine"}, "data": {}})
    assert created["metadata"]["uid"] != "mine" and created["metadata"]["generation"] == 1
    created["data"] = {"k": "v"}
    updated = store.update(CM, "default", "a", created)
    assert updated["metadata"]["generation"] == 2
    same = store.update(CM, "default", "a", updated)
    assert same["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    relabelled = {**updated, "metadata": {**updated["metadata"], "labels": {"x": "y"}}}
    assert store.update(CM, "default", "a", relabelled)["metadata"]["generation"] == 2
    with pytest.raises(status.ApiError) as caught:
        store.update(CM, "default", "a", updated)  # stale resourceVersion
    assert caught.value.reason == "Conflict" and caught.value.code == 409
    generated = store.create(CM, "default", {"metadata": {"generateName": "gen-"}})
    assert generated["metadata"]["name"].startswith("gen-")


def test_store_reads_are_copies() -> None:
    store = Store()
    store.create(CM, "default", {"metadata": {"name": "a"}, "data": {"k": "v"}})
    store.get(CM, "default", "a")["data"]["k"] = "changed"
    assert store.get(CM, "default", "a")["data"] == {"k": "v"}


def test_store_is_thread_safe() -> None:
    store = Store()
    start = int(store.resource_version)

    def create(worker: int) -> None:
        for index in range(50):
            store.create(CM, "default", {"metadata": {"name": f"w{worker}-{index}"}})

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items, version = store.list(CM, "default")
    assert len(items) == 400 and int(version) == start + 400
    assert len({item["metadata"]["resourceVersion"] for item in items}) == 400


def test_merge_patch_rfc7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert patch.merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}


def test_strategic_merge_directives() -> None:
    target = {
        "spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
            "finalizers": ["x"],
            "tolerations": [{"key": "t"}],
        }
    }
    result = patch.strategic_merge(
        target,
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "a"}],
                "containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "image": "3"}],
                "finalizers": ["y"],
                "tolerations": [{"key": "u"}],
            }
        },
    )
    assert result["spec"]["containers"] == [{"name": "a", "image": "3"}]
    assert result["spec"]["finalizers"] == ["x", "y"]
    assert result["spec"]["tolerations"] == [{"key": "u"}]  # no merge key: replaced
    replaced = patch.strategic_merge(target, {"spec": {"$patch": "replace", "replicas": 1}})
    assert replaced == {"spec": {"replicas": 1}}
    retained = patch.strategic_merge({"s": {"a": 1, "b": 2}}, {"s": {"$retainKeys": ["a"]}})
    assert retained == {"s": {"a": 1}}


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    ops = [
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "replace", "path": "/b/c", "value": 2},
        {"op": "copy", "from": "/b", "path": "/d"},
        {"op": "move", "from": "/a/0", "path": "/e"},
        {"op": "remove", "path": "/b"},
        {"op": "test", "path": "/d/c", "value": 2},
    ]
    assert patch.json_patch(doc, ops) == {"a": [2, 3], "d": {"c": 2}, "e": 1}
    with pytest.raises(status.ApiError):
        patch.json_patch(doc, [{"op": "remove", "path": "/missing"}])


def test_protobuf_configmap_decodes_to_json() -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    entry = field(1, b"k") + field(2, b"v")
    raw = field(1, field(1, b"cm") + field(2, b"")) + field(2, entry)
    body = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"ConfigMap")) + field(2, raw)
    assert protowire.decode(body, "ConfigMap") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"k": "v"},
    }
    with pytest.raises(ValueError, match="not supported"):
        protowire.decode(body, "Ingress")
    with pytest.raises(ValueError, match="magic"):
        protowire.decode(b"{}", "ConfigMap")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (200, "3m20s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 3600, "3d1h"),
        (100 * 86400, "100d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_a_patch_that_loses_a_race_is_retried() -> None:
    """A write between the patch's read and its write makes the first attempt conflict;
    the app retries on the new object, as the apiserver does."""
    from kube_authkit import GroupAuthorizer, StaticTokens, admin_user
    from werkzeug.test import Client as WsgiClient

    from kubetrust.sandbox.kube import api

    class RacingStore(Store):
        raced = False

        def get(self, kind: str, namespace: str, name: str) -> dict[str, object]:
            current = super().get(kind, namespace, name)
            if name == "race" and not self.raced:
                self.raced = True
                other = super().get(kind, namespace, name)
                self.update(kind, namespace, name, {**other, "data": {"other": "writer"}})
            return current

    app = api.KubeApi(StaticTokens({"t": admin_user()}), GroupAuthorizer(), RacingStore())
    path = "/api/v1/namespaces/default/configmaps"
    headers = {"Authorization": "Bearer t"}
    client = WsgiClient(app)
    assert (
        client.post(path, json={"metadata": {"name": "race"}}, headers=headers).status_code == 201
    )
    response = client.patch(
        f"{path}/race",
        data='{"data": {"mine": "1"}}',
        headers={**headers, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.get_json()["data"] == {"other": "writer", "mine": "1"}


def test_the_controllers_do_not_import_the_cluster() -> None:
    """The controllers see the cluster through ``ControlledCluster``; an import of
    ``kube.cluster`` back (even one for type checking) would restore the cycle."""
    tree = ast.parse(Path(controllers.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert "kubetrust.sandbox.kube.store" in imported  # the walk sees the module's imports
    assert "kubetrust.sandbox.kube.cluster" not in imported
