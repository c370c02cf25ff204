"""CloudFormation templates as input: ``--cloudformation FILE[:ACCOUNT[:REGION]]``.

A template says nothing about the account it is deployed to, so each one is given it:
after the file (``stack.yaml:222222222222``), else through ``--account-map FILE=ACCOUNT``,
else it is an error naming the file. The region is the third part, else ``us-east-1``
(``AWS::Region`` and cluster ARNs depend on it). A stack set is one template per account.

Reading: :mod:`~kubetrust.iac.cloudformation_template` decodes the file (short forms, line
numbers), :mod:`~kubetrust.iac.cloudformation_intrinsics` resolves ``Ref``/``Fn::*``
(placeholders for what only a deployment knows), :mod:`~kubetrust.iac.cloudformation_resources`
turns the resources kubetrust models into a world. Every key of the world is located at
its resource's logical id and line (SARIF, "fix it here").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors
from kubetrust.arn import is_account_id
from kubetrust.iac.cloudformation_exports import Exports
from kubetrust.iac.cloudformation_intrinsics import Resolver, Symbols
from kubetrust.iac.cloudformation_names import Names
from kubetrust.iac.cloudformation_parameters import overrides_for
from kubetrust.iac.cloudformation_resources import RoleFinder, WorldBuilder, add_resource
from kubetrust.iac.cloudformation_template import Template, read_template
from kubetrust.iac.model import IacWorld, SourceMap

DEFAULT_REGION = "us-east-1"

__all__ = ["DEFAULT_REGION", "TemplateSpec", "parse_spec", "read_template_world", "read_templates"]


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A ``--cloudformation`` value: the file, its account and region."""

    path: Path
    account: str
    region: str = DEFAULT_REGION


def parse_spec(spec: str, account_map: Mapping[str, str]) -> TemplateSpec:
    """``FILE[:ACCOUNT[:REGION]]`` (module doc); a file whose name has a colon is taken
    whole when it exists."""
    file, account, region = spec, "", ""
    if not Path(spec).is_file():
        head, _, tail = spec.rpartition(":")
        if head and not is_account_id(tail) and not Path(head).is_file():
            region, (head, _, tail) = tail, head.rpartition(":")
        if head and is_account_id(tail):
            file, account = head, tail
    account = account or _mapped(file, account_map)
    if not is_account_id(account):
        raise errors.InputError(
            f"--cloudformation {spec}: which account is {file} deployed to? Give "
            f"{file}:ACCOUNT or --account-map {file}=ACCOUNT (a 12-digit account id)"
        )
    return TemplateSpec(Path(file), account, region or DEFAULT_REGION)


def _mapped(file: str, account_map: Mapping[str, str]) -> str:
    for key in (file, Path(file).name, Path(file).stem):
        if key in account_map:
            return account_map[key]
    return ""


def read_templates(
    specs: Sequence[str], account_map: Mapping[str, str], parameters: Sequence[str] = ()
) -> list[IacWorld]:
    """One :class:`IacWorld` per ``FILE[:ACCOUNT[:REGION]]``, read together: ``--parameter``
    values (:mod:`~kubetrust.iac.cloudformation_parameters`), imports of each other's
    exports (:mod:`~kubetrust.iac.cloudformation_exports`), and policies attached to a role
    another template of the same account declares."""
    parsed = [parse_spec(spec, account_map) for spec in specs]
    for spec in parsed:
        if not spec.path.is_file():
            raise errors.InputError(f"--cloudformation: no such file: {spec.path}")
    templates = [read_template(spec.path, _shown(spec.path)) for spec in parsed]
    values = overrides_for(
        [spec.path for spec in parsed], [t.parameters for t in templates], parameters
    )
    readers = [
        _reader(spec, template, overrides)
        for spec, template, overrides in zip(parsed, templates, values, strict=True)
    ]
    exports = Exports([builder.resolver for builder in readers])
    for builder in readers:
        builder.resolver.imports = exports.importer(builder.resolver)
    for builder in readers:
        _add_resources(builder)
    for builder in readers:
        builder.attach_all(_role_finder(builder, readers))
    return [_world(builder) for builder in readers]


def read_template_world(spec: TemplateSpec) -> IacWorld:
    """The world one template declares, with where each part was declared."""
    if not spec.path.is_file():
        raise errors.InputError(f"--cloudformation: no such file: {spec.path}")
    builder = _reader(spec, read_template(spec.path, _shown(spec.path)), {})
    _add_resources(builder)
    builder.attach_all(lambda name: None)
    return _world(builder)


def _reader(spec: TemplateSpec, template: Template, overrides: Mapping[str, str]) -> WorldBuilder:
    symbols = Symbols()
    names = Names()
    resolver = Resolver(
        template, spec.account, spec.region, names, symbols, overrides=dict(overrides)
    )
    names.resolver = resolver
    return WorldBuilder(resolver)


def _add_resources(builder: WorldBuilder) -> None:
    resolver = builder.resolver
    for logical_id, resource in resolver.template.resources.items():
        if _deployed(resolver, resolver.template, logical_id):
            add_resource(builder, logical_id, resource)


def _role_finder(builder: WorldBuilder, readers: Sequence[WorldBuilder]) -> RoleFinder:
    """A role of another template deployed in the same account, by name."""
    account = builder.resolver.account

    def find(name: str) -> dict[str, Any] | None:
        for other in readers:
            if other is not builder and other.resolver.account == account:
                role = other.roles.get(name)
                if role is not None:
                    return role
        return None

    return find


def _world(builder: WorldBuilder) -> IacWorld:
    symbols = builder.resolver.symbols
    sources = SourceMap(dict(builder.locations), dict(symbols.unknowns))
    return IacWorld(builder.world(), sources=sources, warnings=tuple(symbols.warnings))


def _deployed(resolver: Resolver, template: Template, logical_id: str) -> bool:
    """Whether the resource's ``Condition`` holds (an unknown one: read, with a warning)."""
    condition = template.resources[logical_id].get("Condition")
    if condition is None:
        return True
    holds = resolver.condition(str(condition), logical_id)
    if holds is None:
        resolver.symbols.warn(
            f"{template.where(logical_id)}: condition {condition} rests on a value known "
            "after apply: the resource was read as if created"
        )
    return holds is not False


def _shown(path: Path) -> str:
    """The path relative to the working directory when under it (SARIF artifact URIs)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
