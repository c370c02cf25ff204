"""Where a SARIF result points (reference I.3): a file and region when a file holds what the
finding is about, else only the thing itself, by name.

- Declared by an IaC input: the template's line (the logical id's), or the plan's resource
  address: the region of its ``"address": "…"`` in the plan file.
- Else, read from a bundle: the bundle file that holds the subject — the account's
  ``authorization-details.json`` for an IAM ARN, the cluster's ``aws-auth.yaml``,
  ``access-entries.json`` or ``describe-cluster.json`` for a cluster — at the line that
  names it; a finding whose location is a bundle file already, that file.
- Else (read from a live account or the sandbox: no file holds it): no physical location
  at all. A made-up path would name a file no repository has; SARIF's ``location`` may be
  logical only (its ``logicalLocations``: the ARN), which is what the subject is. GitHub
  code scanning annotates files, so it shows results with a file; the others stay in the
  log for SARIF viewers and in ``audit --output json``.

URIs are relative to the working directory when under it (code scanning resolves them
against the repository root), POSIX separators, else ``file://`` URIs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust.iac.model import Location

_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_CLUSTER = re.compile(r":cluster/([A-Za-z0-9_-]+)|clusters/([A-Za-z0-9_-]+)")
_CLUSTER_FILES = ("aws-auth.yaml", "access-entries.json", "describe-cluster.json")


@dataclass(frozen=True, slots=True)
class Region:
    """SARIF ``region``: 1-based lines and columns, ``end_column`` after the last character."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int

    def as_sarif(self) -> dict[str, int]:
        return {
            "startLine": self.start_line,
            "startColumn": self.start_column,
            "endLine": self.end_line,
            "endColumn": self.end_column,
        }


def artifact_uri(file: str) -> str:
    """``file`` as a SARIF artifact URI (module doc)."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return path.as_uri()
    return path.as_posix()


def physical_location(source: Location) -> dict[str, Any]:
    """The ``physicalLocation`` of an IaC declaration, with its region."""
    if source.line is not None:
        region = line_region(source.file, source.line)
    elif source.address is not None:
        region = text_region(source.file, _address_pattern(source.address))
    else:
        region = Region(1, 1, 1, 1)
    return {"artifactLocation": {"uri": artifact_uri(source.file)}, "region": region.as_sarif()}


def fallback_location(subject: str, bundles: Sequence[Path]) -> dict[str, Any] | None:
    """The ``physicalLocation`` of a finding no IaC input declared: the bundle file that
    holds it, ``None`` when no file does (module doc)."""
    file = _bundle_file(subject, bundles)
    if file is None:
        return None
    needle = re.escape(_named(subject))
    region = text_region(str(file), needle) if needle else Region(1, 1, 1, 1)
    return {"artifactLocation": {"uri": artifact_uri(str(file))}, "region": region.as_sarif()}


def _address_pattern(address: str) -> str:
    return r'"address"\s*:\s*"' + re.escape(address) + '"'


def _named(subject: str) -> str:
    """What to look for in a bundle file: the subject's ARN, else the subject."""
    found = re.search(r"arn:aws[a-z-]*:[^\s,;)]+", subject)
    return found.group(0) if found else subject


def _bundle_file(subject: str, bundles: Sequence[Path]) -> Path | None:
    head = subject.split(" ", 1)[0]
    if head and Path(head).is_file():
        return Path(head)
    cluster = _CLUSTER.search(subject)
    account = _ACCOUNT.search(subject)
    for root in bundles:
        if cluster is not None:
            folder = root / "clusters" / (cluster.group(1) or cluster.group(2))
            for name in _CLUSTER_FILES:
                if (folder / name).is_file():
                    return folder / name
        if account is not None:
            details = root / "accounts" / account.group(1) / "authorization-details.json"
            if details.is_file():
                return details
    return None


def forget_files() -> None:
    """Drop the files read so far (each SARIF log reads them afresh)."""
    _lines.cache_clear()


@functools.lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def line_region(file: str, line: int) -> Region:
    """The text of ``line`` (from its first non-blank character to its end)."""
    lines = _lines(file)
    if not 1 <= line <= len(lines):
        return Region(line, 1, line, 1)
    text = lines[line - 1]
    start = len(text) - len(text.lstrip()) + 1
    return Region(line, start, line, len(text) + 1)


def text_region(file: str, pattern: str) -> Region:
    """The first match of ``pattern`` in ``file`` (within one line), else line 1."""
    compiled = re.compile(pattern)
    for number, text in enumerate(_lines(file), start=1):
        found = compiled.search(text)
        if found is not None:
            return Region(number, found.start() + 1, number, found.end() + 1)
    return Region(1, 1, 1, 1)
