"""CloudFormation's intrinsic functions, resolved as far as the template alone allows.

A template is read before any stack exists: parameters have their ``--parameter`` value,
else their ``Default``; the pseudo parameters ``AWS::AccountId`` (the template's
account), ``AWS::Region``, ``AWS::Partition`` and ``AWS::URLSuffix`` are known, and each
resource's ``Ref``/``Fn::GetAtt`` is known when its properties say it (a ``RoleName``, a
cluster ``Name``). Everything else — a generated name, a cluster's issuer, an import no
given template exports (:mod:`kubetrust.iac.cloudformation_exports`), a parameter without
a value — becomes a *placeholder*: a value shaped like the real one
(an issuer URL, a name) so that ARNs, ``Fn::Split`` and ``Fn::Sub`` still work on it, and
recorded with what it stands for, so that explain says "known after apply" instead of
guessing (reference I.2).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors
from kubetrust.iac.cloudformation_template import Template
from kubetrust.iac.symbolic import TOKEN_PREFIX

PLACEHOLDER = TOKEN_PREFIX.rstrip("-")
"""In every placeholder (:mod:`kubetrust.iac.symbolic`'s token): what :func:`is_symbolic`
and the renderers recognise."""
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9A-F]{8}")

NO_VALUE = object()
"""``Ref: AWS::NoValue``: the property is left out."""

Attribute = Callable[[str, str], object]
"""``(logical id, attribute or "Ref") → value``: a resource's ``Ref``/``Fn::GetAtt``."""

Importer = Callable[[str, str], object]
"""``(export name, logical id) → value`` of the export another given template declares,
``None`` when none does (:class:`kubetrust.iac.cloudformation_exports.Exports`)."""

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def is_symbolic(value: object) -> bool:
    """Whether ``value`` holds a placeholder (an unknown) anywhere."""
    return PLACEHOLDER in str(value)


def placeholder_token(seed: str) -> str:
    """``KNOWN-AFTER-APPLY-1A2B3C4D``: stable for a seed (file and logical id)."""
    return f"{PLACEHOLDER}-{hashlib.sha256(seed.encode()).hexdigest()[:8].upper()}"


@dataclass(slots=True)
class Symbols:
    """Placeholders made while reading one template, and the warnings met."""

    unknowns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def unknown(self, value: str, stands_for: str) -> str:
        """``value`` (holding a token), its token(s) recorded as standing for ``stands_for``
        (token → meaning, as :class:`kubetrust.iac.model.SourceMap` keeps them)."""
        for token in _TOKEN.findall(value):
            self.unknowns.setdefault(token, stands_for)
        return value

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


@dataclass(slots=True)
class Resolver:
    """Resolves the intrinsics of one template (module doc)."""

    template: Template
    account: str
    region: str
    attribute: Attribute
    symbols: Symbols
    partition: str = "aws"
    overrides: Mapping[str, str] = field(default_factory=dict)
    """``--parameter`` values: they win over a parameter's ``Default``."""
    imports: Importer | None = None
    """Another given template's ``Export`` for ``Fn::ImportValue`` (``None``: not found)."""
    _conditions: dict[str, bool | None] = field(default_factory=dict)

    def resolve(self, value: object, where: str) -> Any:
        """``value`` with every intrinsic replaced (``where``: the logical id, for messages)."""
        if isinstance(value, list):
            items = [self.resolve(item, where) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            (name, argument), *_ = value.items()
            function = _FUNCTIONS.get(str(name))
            if function is not None:
                return function(self, argument, where)
        resolved = {key: self.resolve(item, where) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def string(self, value: object, where: str, what: str) -> str:
        """A resolved value that must be a string (numbers as text, as CloudFormation does)."""
        resolved = self.resolve(value, where)
        if isinstance(resolved, bool) or not isinstance(resolved, str | int | float):
            raise self.error(where, f"{what} must be a string, got {errors.shown(resolved)}")
        return str(resolved)

    def error(self, where: str, text: str) -> errors.InputError:
        return errors.InputError(f"{self.template.where(where)}: {text}")

    def condition(self, name: str, where: str) -> bool | None:
        """A named condition's value; ``None`` when it rests on an unknown."""
        if name not in self._conditions:
            if name not in self.template.conditions:
                raise self.error(where, f"condition {name} is not in Conditions")
            self._conditions[name] = None  # a cycle resolves to unknown
            self._conditions[name] = self.truth(self.template.conditions[name], where)
        return self._conditions[name]

    def truth(self, value: object, where: str) -> bool | None:
        """A condition expression (``Fn::Equals``/``And``/``Or``/``Not``/``Condition``)."""
        if isinstance(value, Mapping) and len(value) == 1:
            (name, argument), *_ = value.items()
            if name == "Condition":
                return self.condition(str(argument), where)
            if name in _LOGIC:
                parts = [self.truth(a, where) for a in _list(self, argument, where, name)]
                return _LOGIC[name](parts)
            if name == "Fn::Equals":
                left, right = (self.resolve(a, where) for a in _pair(self, argument, where))
                if is_symbolic(left) or is_symbolic(right):
                    return None
                return str(left) == str(right)
        raise self.error(where, f"not a condition: {errors.shown(value)}")

    def parameter(self, name: str, where: str) -> object:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in ("AWS::StackName", "AWS::StackId", "AWS::NotificationARNs"):
            token = placeholder_token(f"{self.template.file}/{name}")
            return self.symbols.unknown(token, f"{self.template.file}: {name}")
        declared = self.template.parameters[name]
        default = declared.get("Default") if isinstance(declared, Mapping) else None
        default = self.overrides.get(name, default)
        if default is None:
            token = f"{name}-{placeholder_token(f'{self.template.file}/{name}')}"
            self.symbols.warn(
                f"{self.template.where(where)}: parameter {name} has no Default: its value "
                "is known at deployment only"
            )
            return self.symbols.unknown(token, f"{self.template.file}: parameter {name}")
        kind = str(declared.get("Type", "String"))
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            return [item.strip() for item in str(default).split(",")]
        return str(default) if isinstance(default, int | float) else default

    def ref(self, name: object, where: str) -> object:
        if not isinstance(name, str):
            raise self.error(where, f"Ref takes a name, got {errors.shown(name)}")
        if name.startswith("AWS::") or name in self.template.parameters:
            return self.parameter(name, where)
        if name in self.template.resources:
            return self.attribute(name, "Ref")
        raise self.error(where, f"Ref {name}: no such parameter or resource")


def _list(resolver: Resolver, argument: object, where: str, name: str) -> list[Any]:
    if not isinstance(argument, list):
        raise resolver.error(where, f"{name} takes a list, got {errors.shown(argument)}")
    return argument


def _pair(resolver: Resolver, argument: object, where: str) -> list[Any]:
    items = _list(resolver, argument, where, "Fn::Equals")
    if len(items) != 2:
        raise resolver.error(where, f"Fn::Equals takes two values, got {len(items)}")
    return items


def _get_att(resolver: Resolver, argument: object, where: str) -> object:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    items = _list(resolver, argument, where, "Fn::GetAtt")
    if len(items) != 2:
        raise resolver.error(where, f"Fn::GetAtt takes [resource, attribute], got {items}")
    logical_id = items[0]
    attribute = resolver.string(items[1], where, "Fn::GetAtt's attribute")
    if logical_id not in resolver.template.resources:
        raise resolver.error(where, f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
    return resolver.attribute(str(logical_id), attribute)


def _sub(resolver: Resolver, argument: object, where: str) -> str:
    variables: Mapping[str, Any] = {}
    if isinstance(argument, list):
        if len(argument) != 2 or not isinstance(argument[1], Mapping):
            raise resolver.error(where, "Fn::Sub takes a string or [string, {variables}]")
        argument, variables = argument
    if not isinstance(argument, str):
        raise resolver.error(where, f"Fn::Sub takes a string, got {errors.shown(argument)}")

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        if name.startswith("!"):  # ${!Literal} is written as ${Literal}
            return "${" + name[1:] + "}"
        if name in variables:
            return resolver.string(variables[name], where, f"Fn::Sub variable {name}")
        if "." in name and not name.startswith("AWS::"):
            return resolver.string({"Fn::GetAtt": name.split(".", 1)}, where, name)
        return resolver.string({"Ref": name}, where, f"Fn::Sub variable {name}")

    return _SUB_VARIABLE.sub(replace, argument)


def _join(resolver: Resolver, argument: object, where: str) -> str:
    items = _list(resolver, argument, where, "Fn::Join")
    if len(items) != 2:
        raise resolver.error(where, "Fn::Join takes [delimiter, [values]]")
    delimiter = resolver.string(items[0], where, "Fn::Join's delimiter")
    values = resolver.resolve(items[1], where)
    if not isinstance(values, list):
        raise resolver.error(where, f"Fn::Join takes a list of values, got {errors.shown(values)}")
    return delimiter.join(resolver.string(v, where, "a Fn::Join value") for v in values)


def _select(resolver: Resolver, argument: object, where: str) -> object:
    items = _list(resolver, argument, where, "Fn::Select")
    if len(items) != 2:
        raise resolver.error(where, "Fn::Select takes [index, [values]]")
    index_text = resolver.string(items[0], where, "Fn::Select's index")
    values = resolver.resolve(items[1], where)
    if not index_text.isdigit() or not isinstance(values, list):
        raise resolver.error(
            where, f"Fn::Select [{index_text}, {errors.shown(values)}]: bad arguments"
        )
    if int(index_text) >= len(values) and is_symbolic(values):
        # a split of a placeholder (an import known after apply): its parts are unknown too
        shown = f"Fn::Select [{index_text}, {errors.shown(values)}]"
        token = placeholder_token(f"{resolver.template.file}/{where}/{shown}")
        return resolver.symbols.unknown(token, f"{resolver.template.file}: {shown}")
    if int(index_text) >= len(values):
        raise resolver.error(where, f"Fn::Select index {index_text} out of {len(values)} values")
    return values[int(index_text)]


def _split(resolver: Resolver, argument: object, where: str) -> list[str]:
    items = _list(resolver, argument, where, "Fn::Split")
    if len(items) != 2:
        raise resolver.error(where, "Fn::Split takes [delimiter, string]")
    delimiter = resolver.string(items[0], where, "Fn::Split's delimiter")
    return resolver.string(items[1], where, "Fn::Split's string").split(delimiter)


def _if(resolver: Resolver, argument: object, where: str) -> object:
    items = _list(resolver, argument, where, "Fn::If")
    if len(items) != 3:
        raise resolver.error(where, "Fn::If takes [condition, if true, if false]")
    holds = resolver.condition(str(items[0]), where)
    if holds is None:
        resolver.symbols.warn(
            f"{resolver.template.where(where)}: condition {items[0]} rests on a value known "
            "after apply: its true branch was read"
        )
    return resolver.resolve(items[1] if holds is not False else items[2], where)


def _find_in_map(resolver: Resolver, argument: object, where: str) -> object:
    items = _list(resolver, argument, where, "Fn::FindInMap")
    if len(items) < 3:
        raise resolver.error(where, "Fn::FindInMap takes [map, key, key]")
    keys = [resolver.string(item, where, "a Fn::FindInMap key") for item in items[:3]]
    found: object = resolver.template.mappings
    for key in keys:
        if is_symbolic(key) or not isinstance(found, Mapping) or key not in found:
            if is_symbolic(key):
                token = placeholder_token(f"{resolver.template.file}/{'.'.join(keys)}")
                return resolver.symbols.unknown(token, f"Fn::FindInMap {keys}")
            raise resolver.error(where, f"Fn::FindInMap {keys}: {key} is not in the map")
        found = found[key]
    return resolver.resolve(found, where)


def _unknown(name: str) -> Callable[[Resolver, object, str], object]:
    """A function whose value only exists once deployed (an import, the AZs, a CIDR)."""

    def resolve(resolver: Resolver, argument: object, where: str) -> object:
        shown = f"{name} {errors.shown(resolver.resolve(argument, where))}"
        token = placeholder_token(f"{resolver.template.file}/{where}/{shown}")
        resolver.symbols.warn(f"{resolver.template.where(where)}: {shown} is known after apply")
        return resolver.symbols.unknown(token, f"{resolver.template.file}: {shown}")

    return resolve


def _import_value(resolver: Resolver, argument: object, where: str) -> object:
    """Another given template's export of that name in the same account and region (the
    only ones CloudFormation lets a stack import), else a placeholder."""
    name = resolver.resolve(argument, where)
    if resolver.imports is not None and isinstance(name, str) and not is_symbolic(name):
        found = resolver.imports(name, where)
        if found is not None:
            return found
    return _unknown("Fn::ImportValue")(resolver, argument, where)


def _base64(resolver: Resolver, argument: object, where: str) -> object:
    return resolver.resolve(argument, where)  # the text before encoding: what people read


def _condition_value(resolver: Resolver, argument: object, where: str) -> object:
    return resolver.condition(str(argument), where)


_FUNCTIONS: Mapping[str, Callable[[Resolver, Any, str], object]] = {
    "Ref": lambda resolver, name, where: resolver.ref(name, where),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": _base64,
    "Fn::ImportValue": _import_value,
    "Fn::GetAZs": _unknown("Fn::GetAZs"),
    "Fn::Cidr": _unknown("Fn::Cidr"),
    "Condition": _condition_value,
}

_LOGIC: Mapping[str, Callable[[list[bool | None]], bool | None]] = {
    "Fn::Not": lambda parts: None if parts[0] is None else not parts[0],
    "Fn::And": lambda parts: False if False in parts else (None if None in parts else True),
    "Fn::Or": lambda parts: True if True in parts else (None if None in parts else False),
}
