"""``Fn::ImportValue`` across the templates of one run: stacks that share their values.

Teams split an account's system into stacks (the cluster in one, the roles in another) and
pass values with ``Outputs``/``Export`` and ``Fn::ImportValue``. An export is visible only
in its own account and region, and its name is unique there (reference I.2): so an import
resolves to the ``Value`` of the one given template of the same account and region that
exports that name, resolved by that template's own resolver (its parameters, its
resources). A name that rests on something only a deployment knows (``${AWS::StackName}``)
matches nothing, and the import stays "known after apply".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors
from kubetrust.iac.cloudformation_intrinsics import Importer, Resolver, is_symbolic


@dataclass(frozen=True, slots=True)
class Export:
    """One ``Outputs`` entry with an ``Export``: which template, which output."""

    resolver: Resolver
    output: str

    def where(self) -> str:
        return self.resolver.template.where(f"Outputs.{self.output}")


@dataclass(slots=True)
class Exports:
    """The exports of every template of a run, by account, region and name."""

    resolvers: Sequence[Resolver]
    _by_name: dict[tuple[str, str, str], list[Export]] | None = None
    _busy: set[tuple[str, str, str]] = field(default_factory=set)

    def importer(self, resolver: Resolver) -> Importer:
        """The ``Fn::ImportValue`` lookup for the template ``resolver`` reads."""

        def lookup(name: str, where: str) -> object:
            return self.value(resolver, name, where)

        return lookup

    def value(self, importer: Resolver, name: str, where: str) -> object:
        """The exported value ``importer`` imports as ``name``; ``None`` when no other given
        template of its account and region exports it."""
        key = (importer.account, importer.region, name)
        found = [e for e in self._exports().get(key, []) if e.resolver is not importer]
        if not found:
            return None
        if len(found) > 1:
            places = ", ".join(export.where() for export in found)
            raise importer.error(where, f"Fn::ImportValue {name}: exported twice ({places})")
        if key in self._busy:
            raise importer.error(where, f"Fn::ImportValue {name}: the exports refer to each other")
        self._busy.add(key)
        try:
            export = found[0]
            output = export.resolver.template.outputs[export.output]
            return export.resolver.resolve(output.get("Value"), f"Outputs.{export.output}")
        finally:
            self._busy.discard(key)

    def _exports(self) -> dict[tuple[str, str, str], list[Export]]:
        if self._by_name is None:
            self._by_name = {}
            for resolver in self.resolvers:
                for output, name in _exported_names(resolver).items():
                    key = (resolver.account, resolver.region, name)
                    self._by_name.setdefault(key, []).append(Export(resolver, output))
        return self._by_name


def _exported_names(resolver: Resolver) -> dict[str, str]:
    """Output id → export name, for the outputs that export a name known before deployment
    (and whose ``Condition`` does not rule them out)."""
    names: dict[str, str] = {}
    for output, body in resolver.template.outputs.items():
        where = f"Outputs.{output}"
        if not isinstance(body, Mapping):
            raise errors.InputError(f"{resolver.template.where(where)}: not a mapping")
        export: Any = body.get("Export")
        if not isinstance(export, Mapping) or "Name" not in export:
            continue
        condition = body.get("Condition")
        if condition is not None and resolver.condition(str(condition), where) is False:
            continue
        name = resolver.resolve(export["Name"], where)
        if isinstance(name, str) and not is_symbolic(name):
            names[str(output)] = name
        else:
            resolver.symbols.warn(
                f"{resolver.template.where(where)}: the export name rests on a value known "
                "after apply: no import given in this run can match it"
            )
    return names
