"""A CloudFormation template file decoded and checked for the shape kubetrust reads.

JSON is tried first (``json`` accepts tabs and escapes that YAML does not), then YAML with
the short-form tags (:func:`kubetrust.yaml_codec.load_cloudformation`, reference I.2). Every
resource keeps the line of its logical id, so that a finding points at it (SARIF) and an
error says where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubetrust import errors
from kubetrust.yaml_codec import load_cloudformation


@dataclass(frozen=True, slots=True)
class Template:
    """A decoded template: its sections as mappings and the line of each resource."""

    file: str
    parameters: Mapping[str, Any]
    mappings: Mapping[str, Any]
    conditions: Mapping[str, Any]
    resources: Mapping[str, Mapping[str, Any]]
    lines: Mapping[str, int]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """``Outputs``: their ``Export`` names are what other stacks' ``Fn::ImportValue`` read
    (:mod:`kubetrust.iac.cloudformation_exports`)."""

    def where(self, logical_id: str) -> str:
        """``stack.yaml:12 (CiRole)`` for messages."""
        line = self.lines.get(logical_id)
        return f"{self.file}:{line} ({logical_id})" if line else f"{self.file} ({logical_id})"


def read_template(path: Path, shown: str) -> Template:
    """The template at ``path`` (``shown`` names it in messages and locations)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise errors.InputError(f"{shown}: cannot read the template: {error}") from error
    data, lines = _decode(text, shown)
    return _checked(data, lines, shown)


def _decode(text: str, shown: str) -> tuple[object, dict[str, int]]:
    if text.lstrip().startswith("{"):
        try:
            data = errors.decode_json(text)
        except errors.NestingError as error:
            raise errors.InputError(f"{shown}: not a CloudFormation template: {error}") from None
        except json.JSONDecodeError:
            pass  # JSON-looking YAML (flow style with short forms): YAML decides below
        else:
            return data, _json_resource_lines(text, data)
    try:
        decoded = load_cloudformation(text)
    except ValueError as error:
        raise errors.InputError(f"{shown}: not a CloudFormation template: {error}") from error
    return decoded.template, decoded.resource_lines


def _json_resource_lines(text: str, data: object) -> dict[str, int]:
    """Lines of the logical ids of a JSON template: the first ``"Id":`` after
    ``"Resources"`` (ids are unique keys of that object)."""
    start = text.find('"Resources"')
    resources = data.get("Resources") if isinstance(data, dict) else None
    if start < 0 or not isinstance(resources, dict):
        return {}
    lines: dict[str, int] = {}
    for logical_id in resources:
        found = re.compile(rf'"{re.escape(logical_id)}"\s*:').search(text, start)
        if found is not None:
            lines[logical_id] = text.count("\n", 0, found.start()) + 1
    return lines


def _section(data: Mapping[str, Any], name: str, shown: str) -> Mapping[str, Any]:
    found = data.get(name) or {}
    if not isinstance(found, Mapping):
        raise errors.InputError(f"{shown}: {name} must be a mapping, got {type(found).__name__}")
    return found


def _checked(data: object, lines: dict[str, int], shown: str) -> Template:
    if not isinstance(data, Mapping):
        raise errors.InputError(f"{shown}: not a CloudFormation template (not a mapping)")
    resources = _section(data, "Resources", shown)
    if not resources:
        raise errors.InputError(f"{shown}: not a CloudFormation template (no Resources)")
    for logical_id, resource in resources.items():
        where = f"{shown}:{lines[logical_id]}" if logical_id in lines else shown
        if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
            raise errors.InputError(f"{where}: resource {logical_id} has no Type")
        if not isinstance(resource.get("Properties") or {}, Mapping):
            raise errors.InputError(f"{where}: resource {logical_id}: Properties is not a mapping")
    return Template(
        file=shown,
        parameters=_section(data, "Parameters", shown),
        mappings=_section(data, "Mappings", shown),
        conditions=_section(data, "Conditions", shown),
        resources=resources,
        lines=lines,
        outputs=_section(data, "Outputs", shown),
    )
