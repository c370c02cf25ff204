"""The types a caller of :func:`~kubetrust.sandbox.pod.run_in_pod` meets: the isolation it
asks for, the result it gets back, and the error for an isolation that cannot be honoured.

They live apart from the machinery so that every part of the package can name them without
importing the parts that run processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Literal

from kubetrust.errors import KubetrustError

Isolation = Literal["auto", "namespace", "mapping"]
IsolationUsed = Literal["namespace", "mapping"]
Stream = int | IO[Any] | None


@dataclass(frozen=True)
class ExecResult:
    """How the command ended: ``returncode`` is shell-style (128+N when killed by signal N),
    ``isolation_used`` says how the pod's paths were provided, ``fallback_reason`` why ``auto``
    could not use a namespace, ``timed_out`` whether ``timeout`` killed the command."""

    returncode: int
    isolation_used: IsolationUsed
    fallback_reason: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class NamespaceSupport:
    """Whether private mount namespaces work here, the ``unshare`` prefix, or why not."""

    available: bool
    argv: tuple[str, ...]
    reason: str


class PodExecError(KubetrustError):
    """The command could not be started the way the caller required (``isolation="namespace"``
    where namespaces are unavailable or the pod's layout cannot be built)."""
