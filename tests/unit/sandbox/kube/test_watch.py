"""Watches in-process: changes since a resourceVersion, selectors, initial events,
bookmarks, Table rows, and 410 Expired once the history is gone. (``kubectl rollout
status``, ``wait`` and ``delete`` exercise watches over TLS in test_kubectl_workloads.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kube_appkit import ADMIN_TOKEN, App

from kubetrust.sandbox.kube import store as store_module
from kubetrust.sandbox.oidc import ClusterIssuer

CM = "/api/v1/namespaces/default/configmaps"


def watch(app: App, query: str, accept: str = "application/json") -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": accept}
    response = app.client.get(f"{CM}?watch=true&timeoutSeconds=-1&{query}", headers=headers)
    assert response.status_code == 200
    return [json.loads(line) for line in response.get_data().splitlines()]


def test_changes_since_a_version_filtered_by_labels(app: App) -> None:
    version = app.call("GET", CM)[1]["metadata"]["resourceVersion"]
    app.call("POST", CM, {"metadata": {"name": "a", "labels": {"x": "1"}}})
    app.call("PATCH", f"{CM}/a", {"data": {"k": "v"}}, content_type="application/merge-patch+json")
    app.call("POST", CM, {"metadata": {"name": "b"}})
    app.call("DELETE", f"{CM}/a")
    events = watch(app, f"resourceVersion={version}&labelSelector=x%3D1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]
    assert events[1]["object"]["data"] == {"k": "v"}
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(version)
    everything = watch(app, f"resourceVersion={version}")
    assert [e["object"]["metadata"]["name"] for e in everything] == ["a", "a", "b", "a"]


def test_initial_events_bookmark_and_tables(app: App) -> None:
    app.call("POST", CM, {"metadata": {"name": "one"}})
    initial = watch(
        app, "sendInitialEvents=true&allowWatchBookmarks=true&fieldSelector=metadata.name%3Done"
    )
    assert [e["type"] for e in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    rows = watch(app, "resourceVersion=0", accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert {e["object"]["kind"] for e in rows} == {"Table"}
    assert "one" in [e["object"]["rows"][0]["cells"][0] for e in rows]


def test_a_version_older_than_the_history_is_expired(
    issuer: ClusterIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "EVENT_LOG", 20)
    app = App(issuer)
    for index in range(30):
        app.call("POST", CM, {"metadata": {"name": f"c{index}"}})
    (event,) = watch(app, "resourceVersion=1")
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version: 1")
