"""Run a sandbox in the foreground, or detached, and find it again by its state directory.

A state directory holds one sandbox: ``sandbox.json`` (pid, endpoint, issuer base, admin
keys; mode 0600; its format is :class:`kubetrust.sandbox.client.state.SandboxState`, which
clients read without importing the server), ``admin-keys.json`` (kept across restarts so
that ``env`` output stays valid), the sandbox CA, and ``sandbox.log`` for a detached
process. Two state directories give two independent sandboxes side by side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from kubetrust import errors
from kubetrust.sandbox.client.state import (
    STATE_FILE,
    SandboxState,
    default_state_dir,
    pid_alive,
    read_running,
)
from kubetrust.sandbox.world import World

LOG_FILE = "sandbox.log"

__all__ = [
    "LOG_FILE",
    "STATE_FILE",
    "answers",
    "default_state_dir",
    "read_state",
    "run_foreground",
    "start_detached",
    "stop",
]


def read_state(state_dir: Path) -> SandboxState | None:
    """The running sandbox's state, or ``None`` if none runs there (stale or unreadable
    files ignored: a new sandbox may start over them)."""
    return read_running(state_dir)


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """Whether an HTTP server answers at ``endpoint`` (any status counts)."""
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def run_foreground(
    state_dir: Path,
    world: World,
    *,
    port: int = 0,
    issuer_port: int = 0,
    world_file: Path | None = None,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
    realism: str | None = None,
) -> None:
    """Start a sandbox in this process and serve until SIGINT/SIGTERM (or ``stop``)."""
    from kubetrust.sandbox.runtime.server import SandboxServer

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    server = SandboxServer(
        state_dir,
        world,
        port=port,
        issuer_port=issuer_port,
        world_file=world_file,
        realism_preset=realism,
    ).start()
    try:
        if ready is not None:
            ready.set()
        stop.wait()
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            (state_dir / STATE_FILE).unlink()


def start_detached(
    state_dir: Path,
    world_file: Path | None,
    *,
    port: int = 0,
    issuer_port: int = 0,
    timeout: float = 60.0,
    realism: str | None = None,
) -> SandboxState:
    """Start ``kubetrust sandbox up`` as a background process; return its state once it
    answers. An already running sandbox in ``state_dir`` is returned as it is."""
    running = read_state(state_dir)
    if running is not None:
        return running
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = [
        sys.executable,
        "-m",
        "kubetrust",
        "sandbox",
        "up",
        "--state-dir",
        str(state_dir),
        "--port",
        str(port),
        "--issuer-port",
        str(issuer_port),
    ]
    if world_file is not None:
        command += ["--world", str(world_file)]
    if realism is not None:
        command += ["--realism", realism]
    with open(state_dir / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise errors.KubetrustError(
                f"the sandbox exited while starting (code {process.returncode}); "
                f"see {state_dir / LOG_FILE}"
            )
        state = read_state(state_dir)
        if state is not None and state.pid == process.pid and answers(state.endpoint):
            return state
        time.sleep(0.1)
    process.terminate()
    raise errors.KubetrustError(
        f"the sandbox did not answer within {timeout:.0f} s; see {state_dir / LOG_FILE}"
    )


def stop(state_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the sandbox of ``state_dir``; ``False`` if none was running."""
    state = read_state(state_dir)
    if state is None:
        return False
    pid = state.pid
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        (state_dir / STATE_FILE).unlink()
    return True
