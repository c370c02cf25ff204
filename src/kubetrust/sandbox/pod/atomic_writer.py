"""The kubelet's atomic writer, so that a reader of a configMap, secret, downwardAPI or
projected volume never sees half a file, even while a token is being refreshed.

Layout: the files live in a ``..<timestamp>`` directory, a ``..data`` symlink points at it and
is swapped by rename, and every top-level entry is a ``name -> ..data/name`` symlink.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VolumeFile:
    """One file of an API-data volume: its content and its Kubernetes mode."""

    data: bytes
    mode: int


Payload = dict[str, VolumeFile]
"""The files of an API-data volume: relative path -> content and mode."""


def write_atomically(volume: Path, payload: Payload) -> None:
    """The kubelet's atomic writer: files go into a fresh ``..<timestamp>`` directory, then the
    ``..data`` symlink is replaced by rename, so readers of ``name -> ..data/name`` see the old
    or the new file, never a partial one; the old directory and stale names go afterwards."""
    data_link = volume / "..data"
    old = os.readlink(data_link) if data_link.is_symlink() else None
    old_names = set(os.listdir(volume / old)) if old and (volume / old).is_dir() else set()
    fresh = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S."), dir=volume))
    os.chmod(fresh, 0o755)
    for rel, file in sorted(payload.items()):
        _write_file(fresh, rel, file)
    staging = volume / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    os.symlink(fresh.name, staging)
    os.replace(staging, data_link)
    names = {rel.split("/")[0] for rel in payload}
    for name in sorted(names):
        if not (volume / name).is_symlink():
            os.symlink(f"..data/{name}", volume / name)
    for name in old_names - names:
        with contextlib.suppress(FileNotFoundError):
            (volume / name).unlink()
    if old:
        shutil.rmtree(volume / old, ignore_errors=True)


def _write_file(root: Path, rel: str, file: VolumeFile) -> None:
    """Create ``rel`` (and its parent directories) under ``root``, exclusively, with its mode."""
    dest = root / rel
    for parent in reversed(dest.relative_to(root).parents[:-1]):
        directory = root / parent
        if not directory.is_dir():
            directory.mkdir()
            os.chmod(directory, 0o755)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(file.data)
        os.fchmod(handle.fileno(), file.mode)
