"""RFC 6902 JSON Patch (``application/json-patch+json``, ``kubectl patch --type=json``)
through the ``jsonpatch`` library, with the apiserver's answers: 400 for a patch that does
not decode, 422 Invalid for an operation that fails on the object, 413 past 10,000
operations; a failed patch changes nothing and its message never quotes the object.
Over HTTPS on loopback, and in-process for the library's edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust.sandbox.kube import patch, status

from .conftest import Client

CM = "/api/v1/namespaces/default/configmaps"
JSON_PATCH = "application/json-patch+json"
SECRET_VALUE = "s3cr3t-value-never-echoed"


def _configmap(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": "web"}, "finalizers": ["a/b", "c/d"]},
        "data": {"k": SECRET_VALUE, "n": "1"},
    }


@pytest.fixture(scope="module")
def target(client: Client) -> str:
    code, _ = client.call("POST", CM, _configmap("jp-target"))
    assert code == 201
    return f"{CM}/jp-target"


REFUSED = [
    # a patch that does not decode: 400 BadRequest
    ({"op": "add", "path": "/data/x", "value": "1"}, 400, "BadRequest"),
    (["add"], 400, "BadRequest"),
    ([{"path": "/data/x"}], 400, "BadRequest"),
    ([{"op": "explode", "path": "/data"}], 400, "BadRequest"),
    ([{"op": 7, "path": "/data"}], 400, "BadRequest"),
    ([{"op": "add", "value": "1"}], 400, "BadRequest"),
    ([{"op": "add", "path": "data/x", "value": "1"}], 400, "BadRequest"),
    ([{"op": "add", "path": "/data/x~2", "value": "1"}], 400, "BadRequest"),
    ([{"op": "add", "path": 3, "value": "1"}], 400, "BadRequest"),
    ([{"op": "move", "path": "/data/x"}], 400, "BadRequest"),
    ([{"op": "copy", "from": "data/k", "path": "/data/x"}], 400, "BadRequest"),
    # an operation that fails on the object: 422 Invalid
    ([{"op": "test", "path": "/data/k", "value": "guess"}], 422, "Invalid"),
    ([{"op": "test", "path": "/data/absent", "value": "x"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/data/absent"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/nowhere/x"}], 422, "Invalid"),
    ([{"op": "replace", "path": "/data/absent", "value": "1"}], 422, "Invalid"),
    ([{"op": "add", "path": "/nowhere/x", "value": "1"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/metadata/finalizers/-"}], 422, "Invalid"),
    ([{"op": "replace", "path": "/metadata/finalizers/-", "value": "e/f"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/metadata/finalizers/2"}], 422, "Invalid"),
    ([{"op": "add", "path": "/metadata/finalizers/3", "value": "e/f"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/metadata/finalizers/01"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/metadata/finalizers/²"}], 422, "Invalid"),
    ([{"op": "copy", "from": "/metadata/finalizers/-", "path": "/data/x"}], 422, "Invalid"),
    ([{"op": "add", "path": "/data/k/deeper", "value": "1"}], 422, "Invalid"),
    ([{"op": "add", "path": "/metadata/finalizers/0/x", "value": "1"}], 422, "Invalid"),
    ([{"op": "move", "from": "/metadata", "path": "/metadata/labels/m"}], 422, "Invalid"),
    ([{"op": "move", "from": "/data/absent", "path": "/data/x"}], 422, "Invalid"),
    ([{"op": "remove", "path": ""}], 422, "Invalid"),
    # a patch whose result is not an object: 400
    ([{"op": "replace", "path": "", "value": 7}], 400, "BadRequest"),
    # the first operation applies, the second fails: nothing is stored
    (
        [{"op": "add", "path": "/data/x", "value": "1"}, {"op": "remove", "path": "/data/no"}],
        422,
        "Invalid",
    ),
]


@pytest.mark.parametrize(("operations", "code", "reason"), REFUSED)
def test_bad_json_patches_get_the_apiservers_answer_and_change_nothing(
    client: Client, target: str, operations: Any, code: int, reason: str
) -> None:
    _, before = client.call("GET", target)
    answer_code, answer = client.call("PATCH", target, operations, content_type=JSON_PATCH)
    assert (answer_code, answer["reason"], answer["code"]) == (code, reason, code), answer
    assert SECRET_VALUE not in answer["message"]
    if code == 422:
        assert answer["message"].startswith(
            "the server rejected our request due to an error in our request: "
        )
    _, after = client.call("GET", target)
    assert after == before


def test_a_failed_test_names_the_path_not_the_value(client: Client, target: str) -> None:
    operations = [{"op": "test", "path": "/data/k", "value": "guess"}]
    code, answer = client.call("PATCH", target, operations, content_type=JSON_PATCH)
    assert code == 422
    assert answer["message"].endswith("testing value /data/k failed")


def test_json_patch_applies_every_operation(client: Client) -> None:
    code, _ = client.call("POST", CM, _configmap("jp-ok"))
    assert code == 201
    operations = [
        {"op": "test", "path": "/data/k", "value": SECRET_VALUE},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "e/f"},
        {"op": "add", "path": "/metadata/finalizers/0", "value": "z/z"},
        {"op": "remove", "path": "/metadata/finalizers/1"},
        {"op": "copy", "from": "/data/n", "path": "/data/copied"},
        {"op": "move", "from": "/data/k", "path": "/data/moved"},
        {"op": "replace", "path": "/metadata/labels/app", "value": "api"},
        {"op": "add", "path": "/metadata/labels/a~1b", "value": "slash"},
    ]
    code, body = client.call("PATCH", f"{CM}/jp-ok", operations, content_type=JSON_PATCH)
    assert code == 200, body
    assert body["data"] == {"n": "1", "copied": "1", "moved": SECRET_VALUE}
    assert body["metadata"]["finalizers"] == ["z/z", "c/d", "e/f"]
    assert body["metadata"]["labels"] == {"app": "api", "a/b": "slash"}


def test_more_than_ten_thousand_operations_is_too_large(client: Client, target: str) -> None:
    operations = [{"op": "test", "path": "/data/n", "value": "1"}] * 10_001
    code, answer = client.call("PATCH", target, operations, content_type=JSON_PATCH)
    assert (code, answer["reason"]) == (413, "RequestEntityTooLarge")
    code, _ = client.call("PATCH", target, operations[:10_000], content_type=JSON_PATCH)
    assert code == 200


def test_a_copy_bomb_is_refused_before_it_takes_the_memory(client: Client, target: str) -> None:
    """Each copy of /data into its own child doubles it: 40 of them would need 2^40 times the
    object. The accumulated copy size is bounded, the patch is 422 and nothing is stored."""
    bomb = [{"op": "add", "path": "/data", "value": {"seed": "x" * 64}}]
    bomb += [{"op": "copy", "from": "/data", "path": f"/data/c{i}"} for i in range(40)]
    # /data is a map of strings in a ConfigMap, but the patch applies before validation
    _, before = client.call("GET", target)
    code, answer = client.call("PATCH", target, bomb, content_type=JSON_PATCH)
    assert (code, answer["reason"]) == (422, "Invalid"), answer
    assert "accumulated size increase of copy" in answer["message"]
    _, after = client.call("GET", target)
    assert after == before
    # the sandbox still answers, at once
    assert client.call("GET", target)[0] == 200


def test_library_edge_cases_in_process() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}, "t": True, "n": None}
    # a missing value is null for add, replace and test (evanphx/json-patch, not RFC 6902)
    assert patch.json_patch(doc, [{"op": "add", "path": "/x"}])["x"] is None
    assert patch.json_patch(doc, [{"op": "test", "path": "/n"}]) == doc
    # JSON equality in test: true is not 1, 1 is 1.0
    with pytest.raises(status.ApiError) as refused:
        patch.json_patch(doc, [{"op": "test", "path": "/t", "value": 1}])
    assert refused.value.code == 422
    assert patch.json_patch(doc, [{"op": "test", "path": "/b/c", "value": 1.0}]) == doc
    # copy into its own child is allowed, move is not
    copied = patch.json_patch(doc, [{"op": "copy", "from": "/b", "path": "/b/d"}])
    assert copied["b"] == {"c": 1, "d": {"c": 1}}
    with pytest.raises(status.ApiError) as refused:
        patch.json_patch(doc, [{"op": "move", "from": "/b", "path": "/b/d"}])
    assert refused.value.code == 422 and "own children" in refused.value.message
    # the target is never changed, even by a patch that fails half-way
    with pytest.raises(status.ApiError):
        patch.json_patch(doc, [{"op": "remove", "path": "/a/0"}, {"op": "remove", "path": "/z"}])
    assert doc == {"a": [1, 2], "b": {"c": 1}, "t": True, "n": None}
