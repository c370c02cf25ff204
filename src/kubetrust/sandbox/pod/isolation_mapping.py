"""The ``mapping`` isolation: no namespace, the pod's paths live under ``<tmp>/root``.

Each ``mountPath`` becomes a symlink to its volume under ``<tmp>/root``; every pod env value
naming a path at or under a ``mountPath`` (each ``:``-separated element) is rewritten to that
location, and the working directory ``/`` maps to ``<tmp>/root``. Absolute paths written in the
command line or inside files are *not* rewritten: this is the fallback where namespaces are
unavailable.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubetrust.sandbox.pod.api import PodExecError, Stream
from kubetrust.sandbox.pod.plan import Plan
from kubetrust.sandbox.pod.process import command_env, complain, wait_for
from kubetrust.sandbox.pod.signals import SignalForwarder
from kubetrust.sandbox.pod.volumes import Mount, path_is_under


def run_mapping(
    plan: Plan,
    argv: list[str],
    extra_env: Mapping[str, str],
    streams: tuple[Stream, Stream, Stream],
    timeout: float | None,
) -> tuple[int, bool]:
    """Run the command with the mapped paths; (shell-style status, timed out)."""
    root = plan.base / "root"
    root.mkdir(mode=0o755)
    targets = [m.target for m in plan.mounts]
    for mount in plan.mounts:
        _link_mount(root, plan.base, mount)
    workdir = _mapped_dir(root, plan.base, plan.cwd)
    env = command_env(
        {k: map_value(v, targets, str(root)) for k, v in plan.env.items()}, plan, extra_env
    )
    with SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                argv, env=env, cwd=workdir, stdin=streams[0], stdout=streams[1], stderr=streams[2]
            )
        except OSError as exc:
            complain(streams[2], f"kubetrust: exec `{argv[0]}`: {exc.strerror}")
            return (127 if exc.errno == errno.ENOENT else 126), False
        forwarder.attach(proc.pid)
        return wait_for(proc, timeout)


def map_value(value: str, targets: Sequence[str], root: str) -> str:
    """In mapping mode, each ``:``-separated element of an env value that names a path at or
    under a mountPath is moved under ``root``; everything else is left alone."""

    def mapped(element: str) -> str:
        if element.startswith("/") and any(path_is_under(element, t) for t in targets):
            return root + element
        return element

    return ":".join(mapped(element) for element in value.split(":"))


def _link_mount(root: Path, base: Path, mount: Mount) -> None:
    """Mapping mode: the mountPath under ``root`` becomes a symlink to the volume."""
    link = root / mount.target.lstrip("/")
    _mapped_dir(root, base, str(Path(mount.target).parent))
    # An empty placeholder may be left by a namespace attempt (precreate_nested).
    if link.is_dir() and not link.is_symlink() and not any(link.iterdir()):
        link.rmdir()
    elif link.is_file() and not link.is_symlink() and link.stat().st_size == 0:
        link.unlink()
    if os.path.lexists(link):
        raise PodExecError(f"mapping mode cannot place mount `{mount.target}`: the path exists")
    os.symlink(mount.source, link)


def _mapped_dir(root: Path, base: Path, pod_path: str) -> str:
    """A pod directory under ``root``, created only inside our workspace (a nested mount inside
    a hostPath volume would otherwise create directories on the host)."""
    path = root / pod_path.lstrip("/")
    real = os.path.realpath(path)
    base_real = os.path.realpath(base)
    if not real.startswith(base_real + os.sep):
        raise PodExecError(f"mapping mode cannot create `{pod_path}` outside its temp directory")
    os.makedirs(real, mode=0o755, exist_ok=True)
    return str(path)
