"""The bootstrap: runs inside the new mount namespace, builds the pod's layout, then becomes
the command (exec). Started by :mod:`.isolation_namespace` as ``python -I -S -c`` importing
:func:`bootstrap_main` from this module.

It never writes to the host: ``mkdir`` is not namespaced, so a missing mount point is created
only on a tmpfs of our own. Its nearest existing ancestor is first *shadowed* by a tmpfs that
re-binds every original entry (``/var/run`` -> ``/run`` gains ``secrets/`` this way), and a
missing top-level directory (``/aws_config``) makes the bootstrap build a new root on a tmpfs
(marked unbindable, holding recursive binds of every top-level entry of ``/``) and ``chroot``
into it. This is emulation, not a security boundary.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sys
from typing import Any

from kubetrust.sandbox.pod.linux_mounts import (
    MS_PRIVATE,
    MS_REC,
    MS_UNBINDABLE,
    bind,
    mount,
    replicate,
)

SETUP_FAILED = 125


def bootstrap_main() -> None:
    """Entry point of ``python -c`` under ``unshare``: build the layout, then exec the command."""
    spec_path, status_fd = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a forwarded Ctrl-C ends us like the command
    os.write(status_fd, b"B")
    try:
        with open(spec_path, encoding="utf-8") as handle:
            spec = json.load(handle)
        os.unlink(spec_path)
        layout = MountLayout(spec["newroot"])
        layout.build(spec["mounts"])
        os.chdir(layout.mount_point(spec["cwd"], is_dir=True))
        with contextlib.suppress(OSError):
            socket.sethostname(spec["hostname"] or "pod")
    except Exception as exc:
        os.write(status_fd, b"E" + str(exc).encode(errors="replace")[:4000])
        os._exit(SETUP_FAILED)
    _exec(spec["argv"], spec["env"], status_fd)


def _exec(argv: list[str], env: dict[str, str], status_fd: int) -> None:
    """Become the command; closing the status pipe on exec tells the parent it runs."""
    # Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    os.set_inheritable(status_fd, False)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        os.write(2, f"kubetrust: exec `{argv[0]}`: {exc.strerror}\n".encode())
        os._exit(127 if exc.errno == errno.ENOENT else 126)


class MountLayout:
    """The pod's mounts inside a private mount namespace, without ever writing to the host:
    directories are only created on tmpfs mounts of our own (``private_devs``)."""

    def __init__(self, newroot: str) -> None:
        self.newroot = newroot
        self.private_devs: set[int] = set()

    def build(self, mounts: list[dict[str, Any]]) -> None:
        """Bind every volume at its mount point, parents first (the caller's order)."""
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        # Open every source first: later mounts (or the chroot) may hide their host paths.
        fds = [os.open(m["source"], os.O_PATH | os.O_CLOEXEC) for m in mounts]
        try:
            for spec, fd in zip(mounts, fds, strict=True):
                target = self.mount_point(spec["target"], is_dir=spec["is_dir"])
                bind(f"/proc/self/fd/{fd}", target, read_only=spec["read_only"])
        finally:
            for fd in fds:
                os.close(fd)

    def mount_point(self, path: str, *, is_dir: bool, depth: int = 0) -> str:
        """The real path of ``path``, creating what is missing on private tmpfs only."""
        if depth > 40:
            raise OSError(errno.ELOOP, f"too many symlinks resolving `{path}`")
        current = "/"
        parts = [part for part in path.split("/") if part]
        for index, name in enumerate(parts):
            last = index == len(parts) - 1
            candidate = os.path.join(current, name)
            if os.path.islink(candidate):
                resolved = os.path.realpath(candidate)
                if not os.path.lexists(resolved):
                    resolved = self.mount_point(
                        resolved, is_dir=is_dir or not last, depth=depth + 1
                    )
                current = resolved
                continue
            if not os.path.lexists(candidate):
                self._make_private(current)
                if last and not is_dir:
                    os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
                else:
                    os.mkdir(candidate, 0o755)
            current = candidate
        if os.path.isdir(current) != is_dir:
            kind = "directory" if is_dir else "file"
            raise OSError(errno.ENOTDIR, f"mount point `{path}` exists but is not a {kind}")
        return current

    def _make_private(self, directory: str) -> None:
        if os.stat(directory).st_dev in self.private_devs:
            return
        if directory == "/":
            self._enter_new_root()
        else:
            self._shadow(directory)

    def _shadow(self, directory: str) -> None:
        """Cover ``directory`` with a tmpfs that re-binds every original entry."""
        info = os.stat(directory)
        fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            mount("tmpfs", directory, "tmpfs", 0, f"mode={info.st_mode & 0o7777:o}")
            replicate(f"/proc/self/fd/{fd}", directory)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.chown(directory, info.st_uid, info.st_gid)
        self.private_devs.add(os.stat(directory).st_dev)

    def _enter_new_root(self) -> None:
        """A tmpfs root with every top-level entry of ``/`` re-bound, then chroot into it.
        It is unbindable, so binding ``/tmp`` (where it lives) does not copy it into itself."""
        fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            mount("tmpfs", self.newroot, "tmpfs", 0, "mode=755")
            mount(None, self.newroot, None, MS_UNBINDABLE)
            replicate(f"/proc/self/fd/{fd}", self.newroot)
        finally:
            os.close(fd)
        os.chdir(self.newroot)
        os.chroot(".")
        os.chdir("/")
        self.private_devs.add(os.stat("/").st_dev)
