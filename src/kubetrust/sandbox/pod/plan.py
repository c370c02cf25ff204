"""What the pod's container sees, prepared before anything runs: its environment, its volumes
and their mounts, its working directory, hostname and private ``HOME``.

Every :class:`InputError` about the pod comes from :func:`prepare`, so a bad pod fails before a
process is started; :func:`workspace` guarantees the temp directory is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust.errors import InputError, shown
from kubetrust.sandbox.pod.env import resolve_env
from kubetrust.sandbox.pod.pod_spec import pod_label, select_container, spec_object
from kubetrust.sandbox.pod.volume_source import CachedSource, VolumeSource
from kubetrust.sandbox.pod.volumes import AtomicVolume, Mount, materialize


@dataclass
class Plan:
    """Everything needed to start the command, in either isolation mode."""

    base: Path
    env: dict[str, str]
    mounts: list[Mount]
    volumes: list[AtomicVolume]
    cwd: str
    hostname: str
    home: Path


def command_argv(command: Sequence[str]) -> list[str]:
    """The command as a list; a bare string is refused (it would run as one program name)."""
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise InputError(f"the command must be a non-empty list of strings, not {shown(command)}")
    return list(command)


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A 0700 temp directory for volumes, HOME and the bootstrap's spec; always removed."""
    base = Path(tempfile.mkdtemp(prefix="kubetrust-pod-"))
    try:
        yield base
    finally:
        _remove_tree(base)


def prepare(
    pod: Mapping[str, Any],
    container_name: str | None,
    source: VolumeSource,
    base: Path,
    cwd: str | None,
) -> Plan:
    """Resolve the env and materialize the mounted volumes; all InputErrors come from here."""
    if not isinstance(pod, Mapping):
        raise InputError(f"the pod must be an object, not {shown(pod)}")
    container = select_container(pod, container_name)
    where = f"pod `{pod_label(pod)}`, container `{container.get('name', '')}`"
    cached = CachedSource(source)
    env = resolve_env(pod, container, cached, where)
    mounts, volumes = materialize(pod, container, cached, base, env, where)
    workdir = cwd if cwd is not None else str(container.get("workingDir") or "/")
    if not workdir.startswith("/"):
        raise InputError(f"{where}: the working directory must be absolute, not {shown(workdir)}")
    home = base / "home"
    home.mkdir(mode=0o700)
    spec = spec_object(pod.get("spec"), "spec")
    hostname = str(
        spec.get("hostname") or spec_object(pod.get("metadata"), "metadata").get("name") or ""
    )
    return Plan(base, env, mounts, volumes, posixpath.normpath(workdir), hostname[:63], home)


def _remove_tree(path: Path) -> None:
    """Remove the workspace even where the command made a directory read-only."""

    def retry_writable(func: Callable[..., Any], name: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            func(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry_writable)
    else:
        shutil.rmtree(path, onerror=retry_writable)
