"""The three PATCH flavours kubectl sends: JSON merge, strategic merge (a subset), JSON patch.

``kubectl apply`` (client-side) computes a three-way strategic merge patch from the
last-applied annotation and sends ``application/strategic-merge-patch+json``; ``kubectl
patch`` / ``label`` / ``annotate`` send merge or strategic patches; ``--type=json`` sends
RFC 6902. Strategic merge here is JSON merge patch plus: lists named in :data:`MERGE_KEYS`
are merged element by element on their key (containers, env, volumes ... by ``name``), and
the directives ``$patch`` (replace/delete/merge), ``$retainKeys``,
``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>`` are understood. Other
lists are replaced, which is what the apiserver does for lists without a patch strategy.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubetrust.sandbox.kube import status

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "conditions": "type",
    "finalizers": "",
    "ownerReferences": "uid",
}
"""Lists merged by key in strategic merge patch (a subset of the Go struct tags);
``""`` means a list of scalars merged as a set."""

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def apply(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """``target`` with ``patch`` of ``content_type`` applied (``target`` is not changed)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE:
        return _as_object(merge_patch(target, patch))
    if media == STRATEGIC:
        return _as_object(strategic_merge(target, patch))
    if media == JSON_PATCH:
        return _as_object(json_patch(target, patch))
    raise status.ApiError(
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE}, {STRATEGIC}",
    )


def _as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise status.bad_request("the patch did not produce an object")
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch, the subset described in the module doc."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "replace":
        return _strip_directives(body)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    if "$retainKeys" in body:
        result = _retain_keys(result, body)
    for key, value in body.items():
        if key.startswith("$setElementOrder/"):
            continue  # order hint only: merged lists keep the server's order, new items last
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            result[field] = _delete_from_list(result.get(field), value, key)
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS:
            result[key] = _merge_list(result.get(key), value, MERGE_KEYS[key])
        else:
            merged = strategic_merge(result.get(key), value)
            if merged is None and isinstance(value, dict):
                result.pop(key, None)
            else:
                result[key] = merged
    return result


RETAIN_KEYS_FORMAT = "invalid patch format of retainKeys"
"""``mergepatch.ErrBadPatchFormatForRetainKeys``, answered 400 BadRequest by the apiserver."""


def _retain_keys(original: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Upstream ``applyRetainKeysDirective``, at every level the top one included: the
    list must be a list naming every key the patch sets (nulls and list directives aside),
    else 400 ``invalid patch format of retainKeys``; the original keeps only the listed
    keys, before the patch merges in. (``{"$retainKeys": ["spec"], ...}`` on an object
    therefore drops its ``metadata``: the name check then refuses the result.)"""
    retain = body.pop("$retainKeys")
    if not isinstance(retain, list):
        raise status.bad_request(RETAIN_KEYS_FORMAT)
    for key, value in body.items():
        if value is None or key.startswith(("$deleteFromPrimitiveList/", "$setElementOrder/")):
            continue
        if key not in retain:
            raise status.bad_request(RETAIN_KEYS_FORMAT)
    return {key: value for key, value in original.items() if key in retain}


def _delete_from_list(current: Any, gone: Any, directive: str) -> list[Any]:
    """``$deleteFromPrimitiveList/<list>``: drop the given scalars from the list."""
    if not isinstance(gone, list):
        raise status.bad_request(f"{directive} must be a list")
    dropped = {json.dumps(item, sort_keys=True) for item in gone}
    kept = current if isinstance(current, list) else []
    return [item for item in kept if json.dumps(item, sort_keys=True) not in dropped]


def _merge_list(current: Any, patch: list[Any], key: str) -> list[Any]:
    items = copy.deepcopy(current) if isinstance(current, list) else []
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if not key:  # a set of scalars
        return items + [item for item in patch if item not in items]
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            items.append(copy.deepcopy(element))
            continue
        index = next(
            (
                i
                for i, item in enumerate(items)
                if isinstance(item, dict) and item.get(key) == element[key]
            ),
            None,
        )
        if element.get("$patch") == "delete":
            if index is not None:
                del items[index]
        elif index is None:
            items.append(_strip_directives(element))
        else:
            items[index] = strategic_merge(items[index], element)
    return items


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") or k == "$ref"
        }
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value


# ---------------------------------------------------------------------- RFC 6902
def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test. A failed op is a 422 as on the
    apiserver (``the server rejected our request due to an error in our request``)."""
    if not isinstance(operations, list):
        raise status.bad_request("json patch must be a list of operations")
    document = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise status.bad_request(f"invalid json patch operation: {operation!r}")
        document = _operation(document, operation)
    return document


def _operation(document: Any, operation: dict[str, Any]) -> Any:
    op = operation["op"]
    path = _pointer(operation.get("path"))
    if op == "add":
        return _add(document, path, copy.deepcopy(operation.get("value")))
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        document = _remove(document, path)[0]
        return _add(document, path, copy.deepcopy(operation.get("value")))
    if op in ("move", "copy"):
        source = _pointer(operation.get("from"))
        value = copy.deepcopy(_get(document, source))
        if op == "move":
            document = _remove(document, source)[0]
        return _add(document, path, value)
    if op == "test":
        if _get(document, path) != operation.get("value"):
            raise _invalid(f"testing value {operation.get('path')} failed")
        return document
    raise status.bad_request(f"unexpected json patch op {op!r}")


def _invalid(message: str) -> status.ApiError:
    return status.ApiError(
        "Invalid", f"the server rejected our request due to an error in our request: {message}"
    )


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise status.bad_request(f"invalid json pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _index(container: list[Any], part: str, *, adding: bool) -> int:
    if adding and part == "-":
        return len(container)
    if not (part.isascii() and part.isdigit()) or int(part) > len(container) - (0 if adding else 1):
        raise _invalid(f"index {part} out of range")
    return int(part)


def _get(document: Any, path: list[str]) -> Any:
    node = document
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, adding=False)]
        else:
            raise _invalid(f"path /{'/'.join(path)} does not exist")
    return node


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise _invalid(f"cannot add at /{'/'.join(path)}")
    return document


def _remove(document: Any, path: list[str]) -> tuple[Any, Any]:
    if not path:
        return None, document
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, adding=False))
    raise _invalid(f"path /{'/'.join(path)} does not exist")
