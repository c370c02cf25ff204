"""``--parameter [FILE:]KEY=VALUE``: a deployment's parameter values, over the ``Default``s.

A stack is deployed with parameter values (``aws cloudformation deploy
--parameter-overrides``, a stack set's per-account overrides); reading the template with its
defaults alone would explain another system. ``KEY=VALUE`` applies to every given template
that declares ``KEY``; ``FILE:KEY=VALUE`` to that template only (``FILE`` as given, or its
name or stem). A value no template can take is an error naming it, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors


@dataclass(frozen=True, slots=True)
class Override:
    """One ``--parameter`` value."""

    text: str
    file: str | None
    key: str
    value: str

    def names(self, path: Path) -> bool:
        """Whether this override is for the template at ``path`` (any, without a file)."""
        return self.file is None or self.file in (str(path), path.name, path.stem)


def parse_override(text: str) -> Override:
    """``[FILE:]KEY=VALUE`` (module doc); parameter names are alphanumeric, so the last
    colon before ``=`` ends the file."""
    left, sep, value = text.partition("=")
    file, colon, key = left.rpartition(":")
    if not sep or not key or not key.isalnum() or (colon and not file):
        raise errors.InputError(
            f"--parameter {text}: expected KEY=VALUE or FILE:KEY=VALUE "
            "(KEY a template parameter name)"
        )
    return Override(text, file or None, key, value)


def overrides_for(
    paths: Sequence[Path], parameters: Sequence[Mapping[str, Any]], texts: Sequence[str]
) -> list[dict[str, str]]:
    """For each template (its path and ``Parameters``), the values it takes; an override no
    template takes, or a value outside a parameter's ``AllowedValues``, is an error."""
    found: list[dict[str, str]] = [{} for _ in paths]
    for override in (parse_override(text) for text in texts):
        taken = False
        for index, (path, declared) in enumerate(zip(paths, parameters, strict=True)):
            if override.names(path) and override.key in declared:
                _check_allowed(override, declared[override.key], path)
                found[index][override.key] = override.value
                taken = True
        if not taken:
            where = f"template {override.file}" if override.file else "template given"
            raise errors.InputError(
                f"--parameter {override.text}: no {where} declares parameter {override.key}"
            )
    return found


def _check_allowed(override: Override, declared: object, path: Path) -> None:
    allowed = declared.get("AllowedValues") if isinstance(declared, Mapping) else None
    if isinstance(allowed, list) and override.value not in [str(a) for a in allowed]:
        raise errors.InputError(
            f"--parameter {override.text}: {path} allows {override.key} to be only "
            f"{', '.join(str(a) for a in allowed)}"
        )
