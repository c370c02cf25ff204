"""Signals sent to us reach the command, as a shell passes them to its foreground job, so that
``kubetrust sandbox exec`` can be stopped like the command itself."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any

_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT)


class SignalForwarder:
    """Pass SIGINT/SIGTERM/SIGHUP/SIGQUIT on to the command while we wait, as a shell does for
    its foreground job. When our process group owns the terminal, SIGINT and SIGQUIT came from
    the keyboard and already reached the command (same group), so they are not sent twice.
    Handlers can only be installed from the main thread; elsewhere nothing is forwarded."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._pending: list[int] = []
        self._saved: dict[int, Any] = {}
        self._keyboard = _owns_terminal()

    def __enter__(self) -> SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            for sig in _FORWARDED:
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    def attach(self, pid: int) -> None:
        """The command has started: deliver what arrived before, forward from now on."""
        self._pid = pid
        for sig in self._pending:
            self._send(sig)
        self._pending.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if signum in _TERMINAL_SIGNALS and self._keyboard:
            return
        if self._pid is None:
            self._pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            assert self._pid is not None
            os.kill(self._pid, signum)


def _owns_terminal() -> bool:
    """Whether our process group is the terminal's foreground group (keyboard signals reach
    the command directly then)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)
