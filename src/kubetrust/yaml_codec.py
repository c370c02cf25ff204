"""YAML as kubetrust reads Kubernetes data: aws-auth's values as the authenticator does, and
manifests — one codec for the sandbox, the provisioner and explain.

Every decoder here refuses nesting as malformed YAML (``ValueError``): PyYAML's composer
recurses once or twice per level and raises ``RecursionError`` a few hundred levels down,
and a value nested just under that, or an alias inside its own anchor (``&a [*a]``, a list
that contains itself), would overflow the recursive code that reads it next
(:func:`kubetrust.errors.check_nesting`).

The pure layers may not import a YAML library (import-linter), so :mod:`kubetrust.model`
takes a :class:`~kubetrust.model.aws_auth.YamlCodec`; :data:`CODEC` is it. It decodes as the
authenticator's ``yaml.v2`` does (reference D.3): YAML 1.1 scalars with timestamps kept as
text, and, for ``mapAccounts``, every scalar as its literal text. It writes block style
without line folding, so that rewriting ``mapRoles`` around kubetrust's own entries keeps
every foreign entry's meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from kubetrust import errors

T = TypeVar("T")


class _Yaml11Loader(yaml.SafeLoader):
    """SafeLoader without timestamps: yaml.v2 decodes them into ``interface{}`` as text."""


_Yaml11Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PyYamlCodec:
    """The aws-auth codec (module doc); errors come out as :class:`ValueError`, as the
    protocol asks."""

    def load(self, text: str) -> object:
        try:
            return bounded(lambda: yaml.load(text, Loader=_Yaml11Loader))
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from error

    def load_strings(self, text: str) -> object:
        try:
            return bounded(lambda: yaml.load(text, Loader=yaml.BaseLoader))
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from error

    def dump(self, value: object) -> str:
        # allow_unicode=False: PyYAML writes a lone NEL (U+0085) single-quoted and reads it
        # back as a space; escaped in double quotes it round-trips (found by a property test).
        return yaml.safe_dump(
            value, default_flow_style=False, sort_keys=False, allow_unicode=False, width=2**31
        )


CODEC = PyYamlCodec()


def bounded(decode: Callable[[], T]) -> T:
    """``decode()``'s value, with nesting past the decoder's limit or past
    :data:`kubetrust.errors.MAX_NESTING`, or a value that contains itself, raised as
    :class:`kubetrust.errors.NestingError` (a ``ValueError``) — never ``RecursionError``."""
    try:
        value = decode()
    except RecursionError:
        raise errors.NestingError(errors.NESTED_TOO_DEEPLY) from None
    errors.check_nesting(value)
    return value


def load_all(text: str) -> list[Any]:
    """Every document of a (multi-document) YAML or JSON text; raises ``ValueError``."""
    try:
        return bounded(
            lambda: [doc for doc in yaml.load_all(text, Loader=_Yaml11Loader) if doc is not None]
        )
    except yaml.YAMLError as error:
        raise ValueError(" ".join(str(error).split())) from error


CLOUDFORMATION_SHORT_FORMS = frozenset(
    {
        "Base64", "Cidr", "FindInMap", "GetAZs", "GetAtt", "ImportValue", "Join", "Select",
        "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "ToJsonString",
        "Length",
    }
)  # fmt: skip
"""CloudFormation's YAML short forms ``!Name`` of ``Fn::Name`` (reference I.2); ``!Ref`` and
``!Condition`` keep their name without ``Fn::``."""


class _CloudFormationLoader(_Yaml11Loader):
    """The YAML 1.1 loader (timestamps as text: ``AWSTemplateFormatVersion: 2010-09-09``
    stays a string) plus the short-form tags, each turned into its long form."""


def _short_form(loader: _CloudFormationLoader, suffix: str, node: yaml.Node) -> object:
    name = suffix.removeprefix("!")
    if name not in CLOUDFORMATION_SHORT_FORMS and name not in ("Ref", "Condition"):
        mark = node.start_mark
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown tag !{name} (not a CloudFormation short form)", mark
        )
    value: object
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "GetAtt":  # `!GetAtt Res.Attr.Nested`: the first dot splits (AWS CLI)
            resource, _, attribute = str(value).partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name if name in ("Ref", "Condition") else f"Fn::{name}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


@dataclass(frozen=True, slots=True)
class CloudFormationText:
    """A template decoded: its data, and the 1-based line of each resource's logical id."""

    template: object
    resource_lines: dict[str, int]


def load_cloudformation(text: str) -> CloudFormationText:
    """A CloudFormation template (YAML with short forms, or JSON: a YAML subset) with the
    line of every ``Resources`` key; raises ``ValueError`` saying where (line, column)."""
    try:
        node, template = bounded(lambda: _cloudformation_document(text))
        errors.check_nesting(template)  # a tuple is no container to `bounded`
    except yaml.YAMLError as error:
        raise ValueError(" ".join(str(error).split())) from error
    return CloudFormationText(template, _resource_lines(node))


def _cloudformation_document(text: str) -> tuple[yaml.Node | None, object]:
    loader = _CloudFormationLoader(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _resource_lines(root: yaml.Node | None) -> dict[str, int]:
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "Resources" and isinstance(value, yaml.MappingNode):
            return {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return {}
