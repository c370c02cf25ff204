"""``mount(2)`` through ctypes, for the bootstrap inside the private mount namespace: binds
(read-only where Kubernetes mounts read-only) and the re-binding of a directory's entries.

Flags are literals, so that importing this module works on any platform (namespace mode is
Linux-only anyway).
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
# Flags a read-only remount must keep: in a user namespace they are locked and dropping one
# fails with EPERM. Linux's statvfs bits (nosuid 2, nodev 4, noexec 8, noatime 1024,
# nodiratime 2048) equal the MS_ bits; relatime is 4096 there and 1 << 21 here.
_KEPT_FLAGS = 2 | 4 | 8 | 1024 | 2048
_ST_RELATIME = 4096


def replicate(source: str, target: str) -> None:
    """Recreate every entry of directory ``source`` in ``target``: symlinks copied, files and
    directories bound (recursively), so that a tmpfs laid over a directory hides nothing."""
    for name in os.listdir(source):
        origin = os.path.join(source, name)
        copy = os.path.join(target, name)
        mode = os.lstat(origin).st_mode
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(origin), copy)
            continue
        if stat.S_ISDIR(mode):
            os.mkdir(copy, 0o755)
        else:
            os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        mount(origin, copy, None, MS_BIND | MS_REC)


def bind(source: str, target: str, *, read_only: bool) -> None:
    """Bind ``source`` at ``target``; a read-only remount keeps the locked flags it must."""
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        flags = os.statvfs(target).f_flag
        kept = flags & _KEPT_FLAGS | (MS_RELATIME if flags & _ST_RELATIME else 0)
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    """``mount(2)``; a failure raises :class:`OSError` naming the target."""

    def raw(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    if _libc().mount(raw(source), raw(target), raw(fstype), flags, raw(data)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {target}: {os.strerror(code)}")


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    libc.mount.restype = ctypes.c_int
    return libc
