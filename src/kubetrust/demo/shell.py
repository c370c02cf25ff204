"""Run the demo's commands as subprocesses, with a private environment, and show them.

Every command gets only the environment it names: ``PATH`` with this interpreter's ``bin``
first (the venv's ``aws`` and ``kubectl``), a private ``HOME`` and AWS config paths inside the
demo's work directory, and the variables the caller passes (the sandbox endpoint, an
administrator's keys, a kubeconfig). Nothing from the user's ``~/.aws``, ``~/.kube`` or
``AWS_*``/``KUBECONFIG`` variables can leak in, and nothing is written there.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kubetrust.demo.model import Check

BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 120.0
TIMED_OUT = 124
GRACE_SECONDS = 5.0
_PASSTHROUGH = ("TMPDIR", "PYTHONPATH", "TERM")
_SHOWN_LINES = 30

Echo = Callable[[str], None]


def private_env(home: Path) -> dict[str, str]:
    """The base environment of every command (module doc)."""
    env = {
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "KUBECONFIG": str(home / ".kube" / "config"),
    }
    env.update({name: os.environ[name] for name in _PASSTHROUGH if name in os.environ})
    return env


def shown(args: Sequence[str]) -> str:
    """A command line as a user would type it (``kubetrust`` for ``python -m kubetrust``)."""
    if len(args) > 2 and args[0] == sys.executable and args[1:3] == ["-m", "kubetrust"]:
        args = ["kubetrust", *args[3:]]
    elif args and Path(args[0]).parent == BIN:
        args = [Path(args[0]).name, *args[1:]]
    return shlex.join(args)


def clip(text: str, lines: int = _SHOWN_LINES) -> str:
    """At most ``lines`` lines of ``text``, saying how many were left out."""
    kept = text.rstrip("\n").splitlines()
    if len(kept) <= lines:
        return "\n".join(kept)
    return "\n".join([*kept[:lines], f"... ({len(kept) - lines} more lines)"])


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


class Shell:
    """Runs commands in the private environment; ``echo`` (verbose mode) gets each command
    and its output once it has finished, in one piece, so parallel runs never interleave."""

    def __init__(self, env: Mapping[str, str], echo: Echo | None = None) -> None:
        self.env = dict(env)
        self.echo = echo
        self._lock = threading.Lock()

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        where: str = "host",
        show: bool = True,
    ) -> Check:
        """Run ``args`` to completion (bounded by a timeout); never raises for its failure."""
        started = time.monotonic()
        try:
            code, out, err = _run(args, self.env | dict(env or {}))
        except OSError as error:
            code, out, err = 127, "", f"cannot run {args[0]}: {error.strerror}"
        check = Check(shown(args), code, out, err, time.monotonic() - started, where)
        if show:
            self.show(check)
        return check

    def kubetrust(self, *args: str, env: Mapping[str, str] | None = None) -> Check:
        """The kubetrust CLI of this interpreter, as a user would run it."""
        return self.run([sys.executable, "-m", "kubetrust", *args], env=env)

    def show(self, check: Check, prompt: str = "$ ") -> None:
        """Echo one finished command and its output (verbose mode only); a check without a
        duration (a line of the pod's script) shows none."""
        if self.echo is None:
            return
        facts = [f"{check.seconds:.1f} s"] if check.seconds else []
        facts += [] if check.ok else [f"exit {check.returncode}"]
        suffix = f"    ({', '.join(facts)})" if facts else ""
        lines = [f"{prompt}{check.command}{suffix}"]
        for text in (check.stdout, check.stderr):
            if text.strip():
                lines.append(indent(clip(text)))
        with self._lock:
            self.echo("\n".join(lines))


def _run(args: Sequence[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    """Run to completion. On a timeout or an interruption the command gets SIGTERM and a
    moment to clean up before SIGKILL (``subprocess.run`` kills at once): ``sandbox exec``
    must remove its temporary directory, which holds the pod's service-account token."""
    with subprocess.Popen(
        list(args),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _end(process)
            return TIMED_OUT, "", f"timed out after {TIMEOUT_SECONDS:.0f} s"
        except BaseException:
            _end(process)
            raise
        return process.returncode, out, err


def _end(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
