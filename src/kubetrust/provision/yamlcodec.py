"""The aws-auth YAML codec (:class:`kubetrust.model.aws_auth.YamlCodec`) on PyYAML.

``mapRoles`` is YAML inside a ConfigMap string. Reading it as the authenticator does
(YAML 1.1 without timestamps) and writing block style without line folding keeps every
foreign entry's meaning when kubetrust rewrites the list around its own entries.
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
        return yaml.safe_dump(
            value, default_flow_style=False, sort_keys=False, allow_unicode=False, width=2**31
        )


CODEC = PyYamlCodec()
