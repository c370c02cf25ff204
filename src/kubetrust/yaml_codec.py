"""YAML as kubetrust reads Kubernetes data: aws-auth's values as the authenticator does, and
manifests — one codec for the sandbox, the provisioner and explain.

The pure layers may not import a YAML library (import-linter), so :mod:`kubetrust.model`
takes a :class:`~kubetrust.model.aws_auth.YamlCodec`; :data:`CODEC` is it. It decodes as the
authenticator's ``yaml.v2`` does (reference D.3): YAML 1.1 scalars with timestamps kept as
text, and, for ``mapAccounts``, every scalar as its literal text. It writes block style
without line folding, so that rewriting ``mapRoles`` around kubetrust's own entries keeps
every foreign entry's meaning.
"""

from __future__ import annotations

from typing import Any

import yaml


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
            return yaml.load(text, Loader=_Yaml11Loader)
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from error

    def load_strings(self, text: str) -> object:
        try:
            return yaml.load(text, Loader=yaml.BaseLoader)
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from error

    def dump(self, value: object) -> str:
        # allow_unicode=False: PyYAML writes a lone NEL (U+0085) single-quoted and reads it
        # back as a space; escaped in double quotes it round-trips (found by a property test).
        return yaml.safe_dump(
            value, default_flow_style=False, sort_keys=False, allow_unicode=False, width=2**31
        )


CODEC = PyYamlCodec()


def load_all(text: str) -> list[Any]:
    """Every document of a (multi-document) YAML or JSON text; raises ``ValueError``."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Yaml11Loader) if doc is not None]
    except yaml.YAMLError as error:
        raise ValueError(" ".join(str(error).split())) from error
