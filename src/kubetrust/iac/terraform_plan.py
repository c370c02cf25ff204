"""The parts of ``terraform show -json PLANFILE`` output kubetrust reads (reference I.1).

- ``format_version`` (major version 1: the format's compatibility promise; 0.x, written by
  Terraform 0.12-0.15, has the same shape);
- ``errored`` and ``complete`` (a plan cut short or with deferred changes: warned);
- ``resource_changes``: every resource instance with ``change.actions``, ``before``,
  ``after`` and ``after_unknown`` (which parts of ``after`` are known only after apply);
  data sources whose read is deferred to apply appear here with the action ``read``; an
  entry with ``deposed`` is an older object of a replacement (skipped: the current object
  has its own entry); ``forget`` (Terraform 1.7's ``removed``) leaves the thing as it was;
  ``resource_drift``, ``output_changes``, ``checks`` and ``relevant_attributes`` are not
  read (drift is already in the changes' ``before``);
- ``planned_values`` (resources without a change entry) and ``prior_state`` (data sources
  read during planning, with their values);
- ``configuration``: ``provider_config`` (each provider block: alias, ``region``,
  ``assume_role``, ``allowed_account_ids``) and per module its resources
  (``provider_config_key``, ``expressions`` with ``constant_value`` or ``references``),
  ``module_calls`` (input expressions and the called module) and ``outputs``.

This module only indexes the document; :mod:`.terraform_refs` follows references and
:mod:`.terraform_resources` turns resources into a world. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors

__all__ = ["PlanDocument", "PlanResource", "module_path", "split_address"]

_INDEX = re.compile(r"\[[^\]]*\]")


def module_path(module_address: str) -> str:
    """``module.a["x"].module.b[0]`` → ``module.a.module.b``: the configuration's path."""
    return _INDEX.sub("", module_address)


def split_address(address: str) -> tuple[str, str]:
    """A resource instance address → (module address, the address inside the module):
    ``module.eks.aws_iam_role.this[0]`` → (``module.eks``, ``aws_iam_role.this[0]``)."""
    parts = _segments(address)
    module: list[str] = []
    while len(parts) >= 2 and parts[0] == "module":
        module += parts[:2]
        parts = parts[2:]
    return ".".join(module), ".".join(parts)


def _segments(address: str) -> list[str]:
    """Dot-separated segments, dots inside ``["..."]`` kept."""
    segments: list[str] = []
    current = ""
    depth = 0
    for char in address:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    segments.append(current)
    return segments


@dataclass(frozen=True, slots=True)
class PlanResource:
    """One resource instance of the plan, as it will be after apply."""

    address: str
    module: str
    mode: str
    type: str
    name: str
    values: Mapping[str, Any]
    unknown: Mapping[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ("no-op",)
    before: Mapping[str, Any] | None = None
    provider_name: str = ""

    @property
    def deleted(self) -> bool:
        """Deleted by the plan (``delete`` alone: a replacement creates it again)."""
        return "delete" in self.actions and "create" not in self.actions

    @property
    def config_address(self) -> str:
        """The address in its module's configuration: no instance key."""
        return f"{self.mode_prefix}{self.type}.{self.name}"

    @property
    def mode_prefix(self) -> str:
        return "data." if self.mode == "data" else ""


class PlanDocument:
    """A decoded plan, indexed (module doc). ``file`` names it in errors and locations."""

    def __init__(self, file: str, data: object) -> None:
        self.file = file
        if not isinstance(data, Mapping):
            raise errors.InputError(f"{file}: not `terraform show -json` output (not an object)")
        version = data.get("format_version")
        if not isinstance(version, str) or version.split(".")[0] not in ("0", "1"):
            raise errors.InputError(
                f"{file}: `format_version` {errors.shown(version)}: kubetrust reads the plan "
                "JSON formats 0.x and 1.x (`terraform show -json PLANFILE` of Terraform 0.12 "
                "or later)"
            )
        sections = ("resource_changes", "planned_values", "configuration", "prior_state")
        if not any(k in data for k in sections):
            raise errors.InputError(
                f"{file}: no `resource_changes`, `planned_values`, `configuration` or "
                "`prior_state`: not a plan (give the output of `terraform show -json PLANFILE`)"
            )
        self.data: Mapping[str, Any] = data
        self.warnings: list[str] = _plan_warnings(file, data)
        configuration = data.get("configuration")
        self.configuration: Mapping[str, Any] = (
            configuration if isinstance(configuration, Mapping) else {}
        )
        providers = self.configuration.get("provider_config")
        self.providers: Mapping[str, Any] = providers if isinstance(providers, Mapping) else {}
        self.resources: dict[str, PlanResource] = {}
        self._config: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._modules: dict[str, Mapping[str, Any]] = {}
        self._index_configuration(self.configuration.get("root_module"), "")
        self._read_changes()
        self._read_values(_dig(data, "planned_values", "root_module"), managed_only=True)
        self._read_values(_dig(data, "prior_state", "values", "root_module"), managed_only=False)

    # ------------------------------------------------------------------ configuration
    def _index_configuration(self, module: object, path: str) -> None:
        if not isinstance(module, Mapping):
            return
        self._modules[path] = module
        for resource in items(module.get("resources")):
            if isinstance(resource, Mapping) and isinstance(resource.get("address"), str):
                self._config[(path, resource["address"])] = resource
        calls = module.get("module_calls")
        for name, call in calls.items() if isinstance(calls, Mapping) else ():
            if isinstance(call, Mapping):
                child = f"{path}.module.{name}" if path else f"module.{name}"
                self._index_configuration(call.get("module"), child)

    def config_of(self, resource: PlanResource) -> Mapping[str, Any]:
        """The resource's configuration block (empty when the plan has none)."""
        return self._config.get((module_path(resource.module), resource.config_address), {})

    def module_config(self, path: str) -> Mapping[str, Any] | None:
        """The configuration of the module at ``path`` (``""``: the root)."""
        return self._modules.get(path)

    def module_call(self, path: str) -> Mapping[str, Any] | None:
        """The call of the module at ``path`` in its parent (its input expressions)."""
        parent, separator, name = path.rpartition(".module.")
        if not separator:
            parent, name = "", path.removeprefix("module.")
        calls = (self._modules.get(parent) or {}).get("module_calls")
        call = calls.get(name) if isinstance(calls, Mapping) else None
        return call if isinstance(call, Mapping) else None

    # ------------------------------------------------------------------ resources
    def _read_changes(self) -> None:
        changes = self.data.get("resource_changes") or []
        if not isinstance(changes, list):
            raise errors.InputError(f"{self.file}: `resource_changes` must be a list")
        for index, item in enumerate(changes):
            where = f"{self.file}: resource_changes[{index}]"
            if not isinstance(item, Mapping) or not isinstance(item.get("address"), str):
                raise errors.InputError(f"{where}: an entry needs an `address`")
            address = item["address"]
            change = item.get("change")
            if not isinstance(change, Mapping) or not isinstance(change.get("actions"), list):
                raise errors.InputError(f"{self.file}: {address}: no `change.actions`")
            if item.get("deposed"):
                continue  # an older object of a replacement; the current one has its entry
            actions = tuple(str(a) for a in change["actions"])
            before = change.get("before")
            after = change.get("after")
            deleted = "delete" in actions and "create" not in actions
            values = before if deleted or actions == ("forget",) else after
            if not isinstance(values, Mapping):
                raise errors.InputError(
                    f"{self.file}: {address}: no values (`change.after` must be an object "
                    f"for actions {list(actions)})"
                )
            unknown = change.get("after_unknown")
            self.resources[address] = PlanResource(
                address=address,
                module=str(item.get("module_address") or split_address(address)[0]),
                mode=str(item.get("mode") or "managed"),
                type=str(item.get("type") or ""),
                name=str(item.get("name") or ""),
                values=values,
                unknown=unknown if isinstance(unknown, Mapping) and values is after else {},
                actions=actions,
                before=before if isinstance(before, Mapping) else None,
                provider_name=str(item.get("provider_name") or ""),
            )

    def _read_values(self, module: object, *, managed_only: bool) -> None:
        for item in _module_resources(module):
            address = item.get("address")
            if not isinstance(address, str) or address in self.resources:
                continue
            mode = str(item.get("mode") or "managed")
            if managed_only and mode != "managed":
                continue
            values = item.get("values")
            if not isinstance(values, Mapping):
                raise errors.InputError(f"{self.file}: {address}: no `values` object")
            self.resources[address] = PlanResource(
                address=address,
                module=split_address(address)[0],
                mode=mode,
                type=str(item.get("type") or ""),
                name=str(item.get("name") or ""),
                values=values,
                provider_name=str(item.get("provider_name") or ""),
            )

    def find(self, module: str, relative: str) -> PlanResource | None:
        """The resource instance ``relative`` (``aws_iam_role.ci``, ``data.x.y[0]``) in the
        module instance ``module``; a reference without an index finds the single
        instance."""
        address = f"{module}.{relative}" if module else relative
        found = self.resources.get(address)
        if found is not None or "[" in relative.rsplit(".", 1)[-1]:
            return found
        instances = [r for r in self.resources.values() if r.address.startswith(address + "[")]
        return instances[0] if len(instances) == 1 else None


def _plan_warnings(file: str, data: Mapping[str, Any]) -> list[str]:
    """What makes a plan's world not the whole story: a plan that failed, or one with
    changes deferred to a later plan (Terraform 1.8+ ``complete: false``)."""
    found = []
    if data.get("errored") is True:
        found.append(f"{file}: the plan errored: resources after the error are missing from it")
    if data.get("complete") is False:
        found.append(
            f"{file}: the plan is not complete (changes deferred to a later plan): "
            "what it defers is missing"
        )
    return found


def _module_resources(module: object) -> Iterator[Mapping[str, Any]]:
    if not isinstance(module, Mapping):
        return
    for item in items(module.get("resources")):
        if isinstance(item, Mapping):
            yield item
    for child in items(module.get("child_modules")):
        yield from _module_resources(child)


def items(value: object) -> list[Any]:
    """``value`` if it is a list, else nothing: a plan part of the wrong shape is skipped as
    a missing one is (the readers warn about what they looked for and did not find)."""
    return value if isinstance(value, list) else []


def _dig(data: Mapping[str, Any], *keys: str) -> object:
    node: object = data
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node
