"""The aws-auth :class:`~kubetrust.model.aws_auth.YamlCodec` on PyYAML.

The pure ``model`` layer parses aws-auth but may not import a YAML library (import-linter),
so the YAML reading comes in through this codec. It decodes as the authenticator's
``yaml.v2`` does (reference D.3): YAML 1.1 scalars, timestamps kept as text; and, for
``mapAccounts``, every scalar as its literal text.
"""

from __future__ import annotations

import yaml


class _Yaml11Loader(yaml.SafeLoader):
    """SafeLoader without timestamps: yaml.v2 decodes them into ``interface{}`` as text."""


_Yaml11Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PyYamlCodec:
    """See module doc; errors come out as :class:`ValueError`, as the protocol asks."""

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
