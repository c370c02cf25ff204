"""A small writer of ``terraform show -json PLANFILE`` documents, for the test fixtures.

The fixtures under ``tests/cases/terraform/`` are the JSON Terraform prints for a plan: what
``generate.py`` states per resource (its values after apply, which of them are unknown
until apply, its configuration expressions, its provider) this module lays out the way
Terraform's plan JSON format does (``resource_changes`` with ``change.after`` /
``after_unknown`` / ``after_sensitive``, ``planned_values`` with nested ``child_modules``,
``prior_state`` for data sources read while planning, ``configuration`` with
``provider_config`` and ``module_calls``; module resources' ``provider_config_key`` as
Terraform normalizes it: ``module.x:aws`` when inherited, the parent's key when passed).
Shapes learned from Terraform's "JSON Output Format" documentation and the public plan
fixtures of static analyzers; no code was copied.
"""

from __future__ import annotations

import re
from typing import Any

AWS = "registry.terraform.io/hashicorp/aws"
KUBERNETES = "registry.terraform.io/hashicorp/kubernetes"
_INSTANCE = re.compile(r"\[[^\]]*\]$")


def const(value: Any) -> dict[str, Any]:
    """A configuration expression whose value is known from the configuration."""
    return {"constant_value": value}


def ref(*traversals: str) -> dict[str, Any]:
    """A configuration expression referencing ``traversals``, listed as Terraform does:
    each traversal, then the resource or module call containing it."""
    references: list[str] = []
    for traversal in traversals:
        references.append(traversal)
        container = _container(traversal)
        if container and container not in references:
            references.append(container)
    return {"references": references}


def _container(traversal: str) -> str | None:
    parts = traversal.split(".")
    if parts[0] in ("var", "local", "each", "count", "path"):
        return None
    if parts[0] == "module":
        return ".".join(parts[:2])
    head = 3 if parts[0] == "data" else 2
    resource = ".".join(parts[:head])
    return _INSTANCE.sub("", resource) if resource != traversal else None


def split(address: str) -> tuple[str, str, str | int | None]:
    """``module.a.module.b["x"].aws_iam_role.this[0]`` → (module address, config address
    inside the module, instance key)."""
    parts = re.findall(r'(?:[^.\[]+)(?:\[(?:"[^"]*"|\d+)\])?', address)
    module: list[str] = []
    while len(parts) > 2 and parts[0] == "module":
        module += parts[:2]
        parts = parts[2:]
    relative = ".".join(parts)
    key: str | int | None = None
    found = _INSTANCE.search(relative)
    if found:
        inner = found.group(0)[1:-1]
        key = int(inner) if inner.isdigit() else inner.strip('"')
        relative = relative[: found.start()]
    return ".".join(module), relative, key


def module_path(module_address: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", module_address)


class PlanWriter:
    """One plan document, filled resource by resource (module doc)."""

    def __init__(self, terraform_version: str = "1.9.8") -> None:
        self.version = terraform_version
        self.changes: list[dict[str, Any]] = []
        self.prior: list[dict[str, Any]] = []
        self.providers: dict[str, dict[str, Any]] = {}
        self.modules: dict[str, dict[str, Any]] = {"": {"resources": []}}
        self.calls: dict[str, dict[str, Any]] = {}
        self.variables: dict[str, Any] = {}

    # ------------------------------------------------------------------ configuration
    def provider(
        self,
        key: str,
        *,
        region: dict[str, Any] | None = None,
        role_arn: dict[str, Any] | None = None,
        allowed: list[str] | None = None,
        full_name: str = AWS,
        extra: dict[str, Any] | None = None,
    ) -> None:
        name, _, alias = key.partition(".")
        expressions: dict[str, Any] = dict(extra or {})
        if region is not None:
            expressions["region"] = region
        if role_arn is not None:
            expressions["assume_role"] = [{"role_arn": role_arn}]
        if allowed is not None:
            expressions["allowed_account_ids"] = const(allowed)
        entry: dict[str, Any] = {"name": name, "full_name": full_name}
        if alias:
            entry["alias"] = alias
        entry["expressions"] = expressions
        self.providers[key] = entry

    def module(
        self,
        address: str,
        source: str,
        *,
        version: str | None = None,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, dict[str, Any]] | None = None,
        passed: dict[str, str] | None = None,
    ) -> None:
        """A module call; ``passed`` maps the module's provider names to the parent's keys
        (``providers = { aws = aws.dev }``)."""
        path = module_path(address)
        call: dict[str, Any] = {"source": source}
        if version:
            call["version_constraint"] = version
        call["expressions"] = inputs or {}
        self.modules.setdefault(path, {"resources": []})
        self.modules[path]["outputs"] = {
            name: {"expression": expression} for name, expression in (outputs or {}).items()
        }
        self.calls[path] = call
        for child, parent in (passed or {}).items():
            self.providers[f"{path}:{child}"] = {
                "name": child,
                "full_name": AWS if child.startswith("aws") else KUBERNETES,
                "module_address": path,
            }
            self.calls[path].setdefault("_passed", {})[child] = parent

    def variable(self, name: str, value: Any) -> None:
        self.variables[name] = {"value": value}

    def _provider_key(self, module: str, provider: str) -> str:
        """The normalized ``provider_config_key`` of a resource in ``module`` using its
        module's ``provider`` (Terraform links a passed provider to the parent's key)."""
        if not module:
            return provider
        path = module_path(module)
        passed = self.calls.get(path, {}).get("_passed", {})
        if provider in passed:
            return passed[provider]
        return f"{path}:{provider}"

    def _configure(
        self,
        address: str,
        mode: str,
        type_: str,
        provider: str,
        expressions: dict[str, Any],
        key: str | int | None,
        for_each: dict[str, Any] | None = None,
    ) -> None:
        module, relative, _key = split(address)
        entries = self.modules.setdefault(module_path(module), {"resources": []})["resources"]
        if any(e["address"] == relative for e in entries):
            return
        entry: dict[str, Any] = {
            "address": relative,
            "mode": mode,
            "type": type_,
            "name": relative.rsplit(".", 1)[-1],
            "provider_config_key": self._provider_key(module, provider),
            "expressions": expressions,
            "schema_version": 0,
        }
        if isinstance(key, int):
            entry["count_expression"] = const(1)
        elif isinstance(key, str):
            entry["for_each_expression"] = for_each or {}
        entries.append(entry)

    # ------------------------------------------------------------------ resources
    def resource(
        self,
        address: str,
        after: dict[str, Any],
        *,
        unknown: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        provider: str = "aws",
        actions: tuple[str, ...] = ("create",),
        before: dict[str, Any] | None = None,
        mode: str = "managed",
        for_each: dict[str, Any] | None = None,
    ) -> None:
        """A resource instance the plan changes (a data source whose read waits for apply:
        ``mode="data"``, ``actions=("read",)``)."""
        module, relative, key = split(address)
        type_ = relative.split(".")[-2]
        self._configure(address, mode, type_, provider, config or {}, key, for_each)
        item: dict[str, Any] = {"address": address}
        if module:
            item["module_address"] = module
        item.update({"mode": mode, "type": type_, "name": relative.rsplit(".", 1)[-1]})
        if key is not None:
            item["index"] = key
        item["provider_name"] = KUBERNETES if type_.startswith("kubernetes_") else AWS
        item["change"] = {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": unknown or {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": {},
        }
        if mode == "data":
            item["action_reason"] = "read_because_config_unknown"
        self.changes.append(item)

    def data(
        self,
        address: str,
        values: dict[str, Any],
        *,
        config: dict[str, Any] | None = None,
        provider: str = "aws",
    ) -> None:
        """A data source read while planning: its values in ``prior_state``."""
        _module, relative, key = split(address)
        type_ = relative.split(".")[-2]
        self._configure(address, "data", type_, provider, config or {}, key)
        item: dict[str, Any] = {
            "address": address,
            "mode": "data",
            "type": type_,
            "name": relative.rsplit(".", 1)[-1],
        }
        if key is not None:
            item["index"] = key
        item.update({"provider_name": AWS, "schema_version": 0, "values": values})
        item["sensitive_values"] = {}
        self.prior.append(item)

    # ------------------------------------------------------------------ output
    def document(self) -> dict[str, Any]:
        managed = [c for c in self.changes if c["mode"] == "managed"]
        planned = _module_tree(
            [
                {
                    "address": c["address"],
                    "mode": "managed",
                    "type": c["type"],
                    "name": c["name"],
                    **({"index": c["index"]} if "index" in c else {}),
                    "provider_name": c["provider_name"],
                    "schema_version": 0,
                    "values": c["change"]["after"],
                    "sensitive_values": {},
                }
                for c in managed
                if "delete" not in c["change"]["actions"] or "create" in c["change"]["actions"]
            ]
        )
        return {
            "format_version": "1.2",
            "terraform_version": self.version,
            "variables": self.variables,
            "planned_values": {"root_module": planned},
            "resource_changes": self.changes,
            "prior_state": {
                "format_version": "1.0",
                "terraform_version": self.version,
                "values": {"root_module": _module_tree(self.prior)},
            },
            "configuration": {
                "provider_config": self.providers,
                "root_module": self._configuration(""),
            },
            "timestamp": "2026-05-04T09:12:44Z",
            "applyable": True,
            "complete": True,
            "errored": False,
        }

    def _configuration(self, path: str) -> dict[str, Any]:
        module = dict(self.modules.get(path, {"resources": []}))
        calls = {}
        for child, call in self.calls.items():
            parent, separator, name = child.rpartition(".module.")
            if not separator:
                parent, name = "", child.removeprefix("module.")
            if parent == path:
                shown = {k: v for k, v in call.items() if k != "_passed"}
                shown["module"] = self._configuration(child)
                calls[name] = shown
        if calls:
            module["module_calls"] = calls
        return module


def _module_tree(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Resources laid out as ``root_module`` with nested ``child_modules``."""
    root: dict[str, Any] = {"resources": []}
    nodes: dict[str, dict[str, Any]] = {"": root}
    for item in items:
        module, _relative, _key = split(item["address"])
        node = root
        prefix = ""
        for segment in re.findall(r'module\.[^.\[]+(?:\[(?:"[^"]*"|\d+)\])?', module):
            prefix = f"{prefix}.{segment}" if prefix else segment
            if prefix not in nodes:
                nodes[prefix] = {"resources": [], "address": prefix}
                node.setdefault("child_modules", []).append(nodes[prefix])
            node = nodes[prefix]
        node["resources"].append(item)
    return root
