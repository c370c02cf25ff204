"""Hostile and broken requests get a Kubernetes ``Status`` with a 4xx code, never a 500 and
never a dead server: a table of known bad inputs, the last-resort guard, and a fuzz run
(hypothesis) of random paths, methods, content types, bodies and patches, in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kube_appkit import ADMIN_TOKEN, NOBODY_TOKEN, App

from kubetrust.sandbox.kube import tables
from kubetrust.sandbox.oidc import ClusterIssuer

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
JSON = "application/json"
YAML = "application/yaml"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def deployment(name: str, **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
            **spec,
        },
    }


def assert_status(code: int, body: Any, expected: int) -> None:
    assert code == expected, body
    assert isinstance(body, dict) and body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == expected and body["message"]


def nested(depth: int) -> bytes:
    return b'{"metadata": {"name": "deep"}, "data": ' + b"[" * depth + b"]" * depth + b"}"


LAUGHS = b'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + b"".join(
    b"%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n"
    % ((ord("a") + i + 1, ord("a") + i + 1) + (ord("a") + i,) * 9)
    for i in range(9)
)
CASES: list[tuple[str, str, str, bytes, int]] = [
    # (method, path, content type, body, expected code)
    ("POST", CM, JSON, b"{not json", 400),
    ("POST", CM, JSON, b'{"metadata": {"name": "n"}, "data": {"a": NaN}}', 400),
    ("POST", CM, JSON, b"[1, 2]", 400),
    ("POST", CM, JSON, b"\xff\xfe", 400),
    ("POST", CM, JSON, b'{"metadata": {"name": "n"}, "data": {"a": 1' + b"0" * 5000 + b"}}", 400),
    ("POST", CM, JSON, nested(5000), 400),
    ("POST", CM, JSON, nested(200), 400),
    ("POST", CM, YAML, b"metadata: [unclosed", 400),
    ("POST", CM, YAML, b"!!python/object:os.system {}", 400),
    ("POST", CM, YAML, LAUGHS, 400),
    ("POST", CM, "text/plain", b'{"metadata": {"name": "t"}}', 415),
    ("POST", CM, "application/cbor", b"\xa0", 415),
    ("POST", "/api/v1/namespaces/default/events", PROTOBUF, b"k8s\x00", 415),
    ("POST", CM, PROTOBUF, b"k8s\x00\x0a\xff\xff", 400),
    ("POST", CM, JSON, b'{"kind": "Secret", "metadata": {"name": "k"}}', 400),
    ("POST", CM, JSON, b'{"metadata": {"name": 5}}', 400),
    ("POST", CM, JSON, b'{"metadata": {"name": "d"}, "data": ["a"]}', 400),
    ("POST", CM, JSON, b'{"metadata": {"name": "d", "labels": {"a": "b c"}}}', 422),
    ("POST", CM, JSON, b'{"metadata": {"name": "d"}, "data": {"bad key": "v"}}', 422),
    ("POST", "/api/v1/namespaces/default/widgets", JSON, b"{}", 404),
    ("POST", "/apis/nope/v1/namespaces/default/things", JSON, b"{}", 404),
    ("POST", "/api/v1/namespaces/absent/configmaps", JSON, b'{"metadata": {"name": "x"}}', 404),
    ("POST", PODS, JSON, b'{"metadata": {"name": "p"}, "spec": {"containers": "x"}}', 400),
    (
        "POST",
        PODS,
        JSON,
        b'{"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}',
        422,
    ),
    ("POST", DEPLOY, JSON, json.dumps(deployment("d", replicas="two")).encode(), 400),
    ("POST", DEPLOY, JSON, json.dumps(deployment("d", replicas=2**40)).encode(), 400),
    ("POST", DEPLOY, JSON, json.dumps(deployment("d", replicas=1000)).encode(), 422),
    (
        "POST",
        "/api/v1/namespaces/default/secrets",
        JSON,
        b'{"metadata": {"name": "s"}, "data": {"k": "!!"}}',
        400,
    ),
    ("PATCH", f"{CM}/target", JSON_PATCH, b'[{"op": "explode", "path": "/data"}]', 400),
    ("PATCH", f"{CM}/target", JSON_PATCH, b'{"op": "add"}', 400),
    ("PATCH", f"{CM}/target", JSON_PATCH, b'[{"op": "add", "path": "data/x", "value": 1}]', 400),
    (
        "PATCH",
        f"{CM}/target",
        JSON_PATCH,
        '[{"op": "remove", "path": "/metadata/finalizers/²"}]'.encode(),
        422,
    ),
    ("PATCH", f"{CM}/target", JSON_PATCH, b'[{"op": "remove", "path": "/nowhere/x"}]', 422),
    ("PATCH", f"{CM}/target", JSON_PATCH, b'[{"op": "replace", "path": "", "value": 7}]', 400),
    ("PATCH", f"{CM}/target", MERGE, b"[1, 2]", 400),
    ("PATCH", f"{CM}/target", MERGE, b'"text"', 400),
    ("PATCH", f"{CM}/target", MERGE, b'{"data": {"a": {"b": 1}}}', 422),
    (
        "PATCH",
        f"{CM}/target",
        MERGE,
        b'{"metadata": {"name": "renamed", "namespace": "other"}}',
        400,
    ),
    ("PATCH", f"{CM}/target", SMP, b'{"$deleteFromPrimitiveList/finalizers": 5}', 400),
    ("PATCH", f"{CM}/target", SMP, b'{"metadata": {"$patch": "delete"}}', 400),
    (
        "PATCH",
        f"{DEPLOY}/target",
        SMP,
        b'{"spec": {"template": {"spec": {"containers": "x"}}}}',
        422,
    ),
    ("PATCH", f"{DEPLOY}/target", SMP, b'{"spec": {"replicas": {"$patch": "replace"}}}', 422),
    ("PATCH", f"{DEPLOY}/target", SMP, b'{"spec": {"selector": null}}', 422),
    ("PATCH", f"{DEPLOY}/target/scale", MERGE, b'{"spec": {"replicas": "x"}}', 400),
    ("PATCH", f"{CM}/target", JSON, b'{"data": {}}', 415),
    ("PATCH", f"{CM}/target", "application/apply-patch+yaml", b"data: {}", 415),
    ("PATCH", f"{CM}/absent", MERGE, b"{}", 404),
    ("PUT", f"{CM}/target", JSON, b'{"metadata": {"name": "target"}, "data": 3}', 400),
    ("DELETE", f"{CM}/target", JSON, b"{broken", 400),
    ("DELETE", f"{CM}/target", JSON, b'{"propagationPolicy": "Sideways"}', 422),
    ("GET", f"{CM}?labelSelector=a%20in%20(b", "", b"", 400),
    ("GET", f"{CM}?watch=1&resourceVersion=abc", "", b"", 400),
    ("GET", "/apis/apps/v1/namespaces/default/deployments/x/log", "", b"", 404),
    ("POST", "/apis/authentication.k8s.io/v1/tokenreviews", JSON, b"[]", 400),
    ("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", YAML, b"{: x", 400),
    (
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        JSON,
        b'{"spec": []}',
        400,
    ),
    ("POST", CM, JSON, b"x" * (3 * 1024 * 1024 + 1), 413),  # RequestEntityTooLarge
]


@pytest.fixture
def seeded(app: App) -> App:
    assert app.call("POST", CM, {"metadata": {"name": "target"}, "data": {"a": "1"}})[0] == 201
    assert app.call("POST", DEPLOY, deployment("target"))[0] == 201
    return app


def _short_id(value: object) -> str | None:
    """Test ids that stay readable when a case's body is megabytes long."""
    if isinstance(value, bytes) and len(value) > 60:
        return f"{value[:20]!r}...({len(value)} bytes)"
    return None


@pytest.mark.parametrize(("method", "path", "media", "body", "expected"), CASES, ids=_short_id)
def test_bad_inputs_get_4xx(
    seeded: App, method: str, path: str, media: str, body: bytes, expected: int
) -> None:
    code, answer = seeded.call(method, path, raw=body or None, content_type=media or JSON)
    assert_status(code, answer, expected)
    assert seeded.call("GET", f"{CM}/target")[1]["data"] == {"a": "1"}  # nothing changed


def test_yaml_bodies_are_accepted(app: App) -> None:
    body = b"metadata:\n  name: from-yaml\ndata:\n  when: 2001-12-14t21:59:43.10-05:00\n  n: 1.5\n"
    code, created = app.call("POST", CM, raw=body, content_type=YAML)
    assert code == 400  # data values must be strings: 1.5 is not
    code, created = app.call(
        "POST", CM, raw=body.replace(b"n: 1.5", b"n: '1.5'"), content_type=YAML
    )
    assert code == 201 and created["data"] == {"when": "2001-12-15T02:59:43Z", "n": "1.5"}


def test_the_last_resort_guard(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(tables, "table", broken)
    response = app.client.get(
        CM,
        headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}",
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
        },
    )
    assert response.status_code == 500
    assert_status(500, response.get_json(), 500)
    assert response.get_json()["reason"] == "InternalError"
    assert "a bug" not in response.get_json()["message"]
    assert app.call("GET", CM)[0] == 200  # and the server keeps serving


# ---------------------------------------------------------------------- fuzz
FIELDS = [
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "data",
    "containers",
    "image",
    "env",
    "volumes",
    "replicas",
    "selector",
    "matchLabels",
    "template",
    "serviceAccountName",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "token",
    "audiences",
    "expirationSeconds",
    "boundObjectRef",
    "kind",
    "apiVersion",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "op",
    "path",
    "value",
    "from",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["default", "app", "busybox", "/spec", "-", "0"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)
RESOURCES = [
    "configmaps",
    "pods",
    "serviceaccounts",
    "secrets",
    "deployments",
    "replicasets",
    "namespaces",
    "roles",
    "events",
    "tokenreviews",
    "selfsubjectreviews",
    "selfsubjectaccessreviews",
    "widgets",
    "",
]
PREFIXES = [
    "/api/v1",
    "/apis/apps/v1",
    "/apis/rbac.authorization.k8s.io/v1",
    "/apis/authentication.k8s.io/v1",
    "/apis/authorization.k8s.io/v1",
    "/api",
    "/apis",
    "/openapi/v3",
    "/openapi/v3/apis/apps/v1",
    "/version",
    "/healthz",
    "",
    "/apis/x",
]
QUERIES = [
    "",
    "?labelSelector=app%3Dx",
    "?labelSelector=%21%21",
    "?fieldSelector=metadata.name%3Dx",
    "?fieldSelector=a",
    "?watch=true&timeoutSeconds=-1",
    "?watch=1&timeoutSeconds=-1&resourceVersion=1",
    "?watch=true&timeoutSeconds=-1&allowWatchBookmarks=true&sendInitialEvents=true",
    "?dryRun=All",
    "?includeObject=Object",
    "?propagationPolicy=Orphan",
    "?timeoutSeconds=x",
]
SAMPLE_OBJECTS = [
    {"metadata": {"name": "f"}, "data": {"a": "b"}},
    deployment("fz"),
    {"metadata": {"name": "fp"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    {"spec": {"token": "a.b.c", "audiences": ["x"]}},
    {"spec": {"expirationSeconds": 600, "boundObjectRef": {"kind": "Pod", "name": "fp"}}},
    [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}],
    {"spec": {"replicas": 2}},
]


SERVED = [
    ("/api/v1", "configmaps", True),
    ("/api/v1", "pods", True),
    ("/api/v1", "serviceaccounts", True),
    ("/api/v1", "secrets", True),
    ("/api/v1", "namespaces", False),
    ("/api/v1", "events", True),
    ("/apis/apps/v1", "deployments", True),
    ("/apis/apps/v1", "replicasets", True),
    ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    ("/apis/authentication.k8s.io/v1", "tokenreviews", False),
    ("/apis/authentication.k8s.io/v1", "selfsubjectreviews", False),
    ("/apis/authorization.k8s.io/v1", "selfsubjectaccessreviews", False),
]


@st.composite
def paths(draw: st.DrawFn) -> str:
    """Mostly served resources (so that bodies reach the deep code), some random paths."""
    if draw(st.integers(0, 4)):
        prefix, resource, namespaced = draw(st.sampled_from(SERVED))
        path = prefix + ("/namespaces/default/" if namespaced else "/") + resource
    else:
        path = draw(st.sampled_from(PREFIXES))
        if draw(st.booleans()):
            ns = draw(st.sampled_from(["default", "kube-system", "absent", "Bad_NS", "%00"]))
            path += "/namespaces/" + ns
        path += "/" + draw(st.one_of(st.sampled_from(RESOURCES), st.text(max_size=6)))
    if draw(st.booleans()):
        names = ["target", "target", "target", "fz", "fp", "default", "x", ".."]
        path += "/" + draw(st.sampled_from(names))
        if draw(st.integers(0, 3)) == 0:
            path += "/" + draw(st.sampled_from(["status", "scale", "token", "log", "exec", "x"]))
    return path + draw(st.sampled_from(QUERIES))


@st.composite
def bodies(draw: st.DrawFn) -> bytes | None:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return None
    if kind == 1:
        return draw(st.binary(max_size=64))
    if kind == 2:
        return json.dumps(draw(json_values)).encode()
    sample = json.loads(json.dumps(draw(st.sampled_from(SAMPLE_OBJECTS))))
    if isinstance(sample, dict) and kind == 3:  # a valid object with one part replaced
        sample[draw(st.sampled_from([*sample.keys(), "metadata", "spec"]))] = draw(json_values)
    return json.dumps(sample).encode()


TARGETS = [
    (CM, {"data": {"a": "1"}}),
    (DEPLOY, deployment("target")),
    (PODS, {"spec": {"containers": [{"name": "c", "image": "i"}]}}),
    ("/api/v1/namespaces/default/serviceaccounts", {}),
    ("/api/v1/namespaces/default/secrets", {}),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {"rules": []}),
]


def restore_targets(app: App) -> None:
    """Recreate the objects named ``target`` that an earlier example deleted, so that the
    fuzz keeps reaching PUT, PATCH and subresources of existing objects."""
    for path, extra in TARGETS:
        if app.call("GET", f"{path}/target")[0] == 404:
            app.call("POST", path, {**extra, "metadata": {"name": "target"}})


@pytest.fixture(scope="module")
def fuzz_app(issuer: ClusterIssuer) -> App:
    app = App(issuer)
    restore_targets(app)
    return app


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=paths(),
    media=st.sampled_from(
        [JSON, YAML, MERGE, SMP, JSON_PATCH, PROTOBUF, "text/plain", "", "a/b;c"]
    ),
    body=bodies(),
    token=st.sampled_from(
        [
            ADMIN_TOKEN,
            ADMIN_TOKEN,
            ADMIN_TOKEN,
            NOBODY_TOKEN,
            None,
            "a.b.c",
            "eyJhbGciOiJub25lIn0.e30.",
            "k8s-aws-v1.x",
        ]
    ),
)
def test_fuzz_never_500(
    fuzz_app: App, method: str, path: str, media: str, body: bytes | None, token: str | None
) -> None:
    restore_targets(fuzz_app)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if media:
        headers["Content-Type"] = media
    response = fuzz_app.client.open(path, method=method, data=body, headers=headers)
    code = response.status_code
    assert code < 500, (method, path, media, body, response.get_data()[:500])
    text = response.get_data()
    if code >= 400 and method != "HEAD":
        answer = json.loads(text)
        assert answer["kind"] == "Status" and answer["code"] == code
    elif code < 300 and "watch" not in path and method != "HEAD" and text not in (b"ok",):
        json.loads(text)


def test_fuzz_leaves_a_working_server(fuzz_app: App) -> None:
    assert fuzz_app.call("GET", "/api/v1/namespaces")[0] == 200
    assert fuzz_app.call("POST", CM, {"metadata": {"name": "after-fuzz"}})[0] in (201, 409)
