"""The three PATCH flavours kubectl sends: JSON merge, strategic merge (a subset), JSON patch.

``kubectl apply`` (client-side) computes a three-way strategic merge patch from the
last-applied annotation and sends ``application/strategic-merge-patch+json``; ``kubectl
patch`` / ``label`` / ``annotate`` send merge or strategic patches; ``--type=json`` sends
RFC 6902, applied by the ``jsonpatch`` library (:func:`json_patch`). Strategic merge here
is JSON merge patch plus: lists named in :data:`MERGE_KEYS` are merged element by element
on their key (containers, env, volumes ... by ``name``), and the directives ``$patch``
(replace/delete/merge), ``$retainKeys``, ``$setElementOrder/<list>`` and
``$deleteFromPrimitiveList/<list>`` are understood. Other lists are replaced, which is what
the apiserver does for lists without a patch strategy.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

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
MAX_JSON_PATCH_OPERATIONS = 10_000
"""Upstream ``maxJSONPatchOperations``: a longer patch is 413 RequestEntityTooLarge."""

_VALUED = ("add", "replace", "test")
_FROM = ("move", "copy")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test) through the ``jsonpatch`` library,
    with the apiserver's answers around it (upstream ``jsonPatcher.applyJSPatch``): a patch
    that does not decode is 400 BadRequest (:func:`_decoded`), more than
    :data:`MAX_JSON_PATCH_OPERATIONS` operations 413, and an operation that fails on the
    object (a ``test`` that does not hold, a path to a missing member, an index out of
    range or ``-`` where an element must exist, a step into a string or number, a move
    into the moved value's own child) is 422 Invalid, ``the server rejected our request
    due to an error in our request: ...``. ``target`` is not changed."""
    document = copy.deepcopy(target)
    copied = 0
    for operation, single in _decoded(operations):
        try:
            copied += _copy_size(document, operation)
            document = single.apply(document, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise _invalid(_failure(operation, exc)) from None
        if copied > MAX_ACCUMULATED_COPY:
            raise _invalid(
                "Unable to complete the copy, the accumulated size increase of copy is "
                f"{copied}, exceeding the limit {MAX_ACCUMULATED_COPY}"
            )
    return document


MAX_ACCUMULATED_COPY = 3 * 1024 * 1024
"""What ``copy`` operations may add up to, in encoded bytes: the request size limit. Each copy
of an object into its own child doubles it, so a few dozen operations of a small patch would
otherwise take all memory (evanphx/json-patch's ``AccumulatedCopySizeLimit`` guards the same
way, with the message used here)."""


def _copy_size(document: Any, operation: dict[str, Any]) -> int:
    """The encoded size of what a ``copy`` adds (0 for other operations); a missing source
    is left to the library, which reports it as such."""
    if operation["op"] != "copy":
        return 0
    try:
        value = jsonpointer.resolve_pointer(document, operation["from"])
    except jsonpointer.JsonPointerException:
        return 0
    if isinstance(value, jsonpointer.EndOfList):  # ``-``: no element, the library refuses
        return 0
    return len(json.dumps(value, separators=(",", ":")))


def _failure(operation: dict[str, Any], exc: Exception) -> str:
    """Why ``operation`` failed, in upstream's (evanphx/json-patch) words and never with
    the document's content: the library's own messages quote the value a ``test`` found
    and the object a member was missing from, which would let a caller allowed to patch
    but not to read an object read it."""
    op, path = operation["op"], operation.get("path")
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        return f"testing value {path} failed"
    if isinstance(exc, jsonpointer.JsonPointerException | jsonpatch.JsonPatchPathNotFound):
        where = f"{operation.get('from')} or {path}" if op in _FROM else path
        return f"{op} operation does not apply: doc is missing path: {where}"
    return f"{op} operation does not apply: {exc}"  # conflicts name paths only


def _decoded(operations: Any) -> list[tuple[dict[str, Any], jsonpatch.JsonPatch]]:
    """Each operation with the library's one-operation patch of it, all decoded before
    any applies, as upstream does; 400 BadRequest where upstream's decoding fails: not a
    list, an operation that is not an object or has no string ``op`` of the six, a
    ``path`` (or a ``from`` of move/copy) that is not a JSON pointer. A missing ``value``
    of add/replace/test means ``null``, as in the evanphx/json-patch the apiserver uses
    (the library would refuse it)."""
    if not isinstance(operations, list):
        raise status.bad_request("json patch must be a list of operations")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise status.ApiError(
            "RequestEntityTooLarge",
            f"Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    decoded = []
    for operation in operations:
        prepared = _prepared(operation)
        try:
            decoded.append((prepared, jsonpatch.JsonPatch([prepared])))
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise status.bad_request(f"invalid json patch: {exc}") from None
    return decoded


def _prepared(operation: Any) -> dict[str, Any]:
    if not isinstance(operation, dict) or "op" not in operation:
        raise status.bad_request(f"invalid json patch operation: {operation!r}")
    op = operation["op"]
    if op in _FROM:
        source = operation.get("from")
        try:
            if not isinstance(source, str):
                raise jsonpointer.JsonPointerException("not a string")
            jsonpointer.JsonPointer(source)
        except jsonpointer.JsonPointerException:
            raise status.bad_request(f"invalid json pointer {source!r}") from None
    if op in _VALUED and "value" not in operation:
        return {**operation, "value": None}
    return operation


def _invalid(message: str) -> status.ApiError:
    return status.ApiError(
        "Invalid", f"the server rejected our request due to an error in our request: {message}"
    )
