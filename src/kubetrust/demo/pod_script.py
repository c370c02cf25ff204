"""One shell script for the pod, and its output split back into one result per command.

The seed's checks run in one ``sh -c`` inside the pod, as a CI job would run them: the
``~/.aws`` copied by the first line and the kubeconfig written by ``update-kubeconfig`` must
be there for the later lines (``sandbox exec`` gives every run a fresh ``HOME``). To still get
one verdict per command, each line is wrapped in marker lines, printed on both stdout and
stderr, that carry the command's key and exit status; a random nonce keeps a command's own
output from ever looking like a marker.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from kubetrust.demo.model import Check
from kubetrust.demo.scenario import PodCommand

_PREFIX = "@@kubetrust-demo"


@dataclass(frozen=True)
class PodScript:
    """The script to run and how to read its output."""

    commands: tuple[PodCommand, ...]
    nonce: str

    @property
    def marker(self) -> str:
        return f"{_PREFIX}:{self.nonce}"

    def text(self) -> str:
        """Each command between its markers; a failure does not stop the script, so that
        every later check still reports its own verdict. No ``cd /``: ``sandbox exec`` starts
        in the pod's working directory, which in mapping mode is not the host's ``/``."""
        lines = [
            f"mark() {{ printf '\\n{self.marker} %s\\n' \"$1\"; "
            f"printf '\\n{self.marker} %s\\n' \"$1\" >&2; }}",
        ]
        for command in self.commands:
            lines += [
                f"mark 'begin {command.key}'",
                command.command,
                f'mark "end {command.key} $?"',
            ]
        return "\n".join(lines) + "\n"

    def plain(self) -> str:
        """The script as a reader should see it: the commands alone."""
        return "\n".join(command.command for command in self.commands)

    def split(self, finished: Check) -> dict[str, Check]:
        """One :class:`Check` per command that ran (a command that never ended, because the
        whole exec failed, is missing: the caller decides what that means)."""
        outs = _sections(finished.stdout, self.marker)
        errs = _sections(finished.stderr, self.marker)
        results: dict[str, Check] = {}
        for command in self.commands:
            code = outs.codes.get(command.key, errs.codes.get(command.key))
            if code is None:
                continue
            results[command.key] = Check(
                command.command,
                code,
                outs.text.get(command.key, ""),
                errs.text.get(command.key, ""),
                where=finished.where,
            )
        return results


def script(commands: Sequence[PodCommand]) -> PodScript:
    return PodScript(tuple(commands), secrets.token_hex(6))


@dataclass(frozen=True)
class _Sections:
    text: dict[str, str]
    codes: dict[str, int]


def _sections(stream: str, marker: str) -> _Sections:
    pattern = re.compile(rf"^{re.escape(marker)} (begin|end) (\S+)(?: (-?\d+))?$")
    text: dict[str, str] = {}
    codes: dict[str, int] = {}
    current: str | None = None
    collected: list[str] = []
    for line in stream.splitlines():
        found = pattern.match(line)
        if found is None:
            if current is not None:
                collected.append(line)
            continue
        kind, key, code = found.groups()
        if kind == "begin":
            current, collected = key, []
        elif key == current:
            text[key] = "\n".join(collected).strip("\n")
            codes[key] = int(code) if code is not None else -1
            current = None
    return _Sections(text, codes)
