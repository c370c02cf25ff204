"""The command's process, whichever the isolation: the environment it gets, how its end is
reported (shell-style status, timeout), and where a launch error is written."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping

from kubetrust.sandbox.pod.api import Stream
from kubetrust.sandbox.pod.plan import Plan

_log = logging.getLogger(__name__)

_PASSTHROUGH = ("PATH", "TERM", "LANG", "LC_ALL", "LC_CTYPE")


def command_env(
    pod_env: Mapping[str, str], plan: Plan, extra_env: Mapping[str, str]
) -> dict[str, str]:
    """Only PATH and the terminal/locale settings come from the caller: its AWS variables
    must not leak into the pod. The pod's own env may set HOME; extra_env has the last word."""
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = str(plan.home)
    env["HOSTNAME"] = plan.hostname
    env.update(pod_env)
    env.update(extra_env)
    return env


def wait_for(proc: subprocess.Popen[bytes], timeout: float | None) -> tuple[int, bool]:
    """(shell-style status, whether ``timeout`` killed it)."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return _shell_status(proc.wait()), True
    return _shell_status(code), False


def complain(stream: Stream, message: str) -> None:
    """Write a one-line error where the command's stderr would go."""
    target = sys.stderr if stream is None else stream
    try:
        fd = target if isinstance(target, int) else target.fileno()
        os.write(fd, (message + "\n").encode())
    except (OSError, ValueError, AttributeError):
        _log.warning("%s", message)


def read_all(fd: int) -> bytes:
    """Everything written to a pipe until its last writer closes it; the fd is closed."""
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _shell_status(code: int) -> int:
    return 128 - code if code < 0 else code
