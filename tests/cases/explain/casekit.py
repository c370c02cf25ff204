"""Build the world of a broken-setup case: a base world plus patches, written as a bundle.

A case names its base world (``seed``: ``seed_world.yaml``) and a list of patches, each
``{set|append|delete: [path...], value: ...}``; path items are mapping keys or list
indexes. In keys and string values, ``{prefix}`` stands for the seed cluster's issuer
without ``https://``, ``{ci}`` and ``{target}`` for the two accounts, ``{other}`` for a
third account, ``{ci_role_id}`` for the unique id (``AROA…``) the bundle gives the seed's
``ci-account-iam-role`` — so that a case reads like the mistake it pins.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from kubetrust.explain import bundle, worlds
from kubetrust.model.topology import Topology

HERE = Path(__file__).parent
PREFIX = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
SUBSTITUTIONS = {
    "{prefix}": PREFIX,
    "{ci}": "111111111111",
    "{target}": "222222222222",
    "{other}": "333333333333",
    "{ci_role_id}": worlds.unique_id("AROA", "arn:aws:iam::111111111111:role/ci-account-iam-role"),
}


def substitute(value: Any) -> Any:
    if isinstance(value, str):
        for token, text in SUBSTITUTIONS.items():
            value = value.replace(token, text)
        return value
    if isinstance(value, list):
        return [substitute(v) for v in value]
    if isinstance(value, dict):
        return {substitute(k): substitute(v) for k, v in value.items()}
    return value


def load_world(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((HERE / f"{name}_world.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _walk(world: Any, path: list[Any]) -> tuple[Any, Any]:
    node = world
    for key in path[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    return node, path[-1]


def patched(world: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``world`` with ``patches`` applied as written (no placeholders filled)."""
    result = copy.deepcopy(world)
    for patch in patches:
        if "set" in patch:
            parent, key = _walk(result, patch["set"])
            parent[key] = patch["value"]
        elif "append" in patch:
            parent, key = _walk(result, patch["append"])
            if isinstance(parent, dict):
                parent.setdefault(key, [])
            parent[key].append(patch["value"])
        elif "delete" in patch:
            parent, key = _walk(result, patch["delete"])
            del parent[key]
        else:
            raise AssertionError(f"unknown patch {patch}")
    return result


def apply(world: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """The case's world: its patches with the placeholders filled, applied."""
    return patched(world, substitute(patches))


def build(case: dict[str, Any], root: Path) -> Topology:
    world = apply(load_world(case.get("world", "seed")), case.get("patch") or [])
    worlds.write_bundle(world, root, encode=case.get("encode", "object"))
    return bundle.load_bundle([root])


def load_cases(name: str) -> list[dict[str, Any]]:
    items = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    assert isinstance(items, list)
    return items
