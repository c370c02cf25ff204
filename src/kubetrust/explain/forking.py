"""When a forked child may share a pure computation: the one rule the audit and the load share.

A child made by ``os.fork`` starts with a copy of the parent: its heap copy-on-write, but
also every lock as it was. So a child is forked only when that copy is safe and the second
process can pay for itself:

- the platform has ``os.fork`` (POSIX);
- the process has a single thread: a lock another thread holds at the fork (the import lock,
  a logging handler's, an allocator's) would stay held in the child for ever;
- more than one CPU is usable (affinity, not the machine's count): on one, the two processes
  take turns and the copies cost more than nothing;
- the user did not ask for one process with the step's environment variable set to ``1``
  (``KUBETRUST_AUDIT_PROCESSES`` for the audit, ``KUBETRUST_LOAD_PROCESSES`` for the bundle
  load).

The callers (:mod:`kubetrust.explain.audit.forked`, :mod:`kubetrust.explain.bundle_parallel`)
say what the child computes and how its results come back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return len(affinity(0))
    return os.cpu_count() or 1


def fork_usable(disable: str, cpus: Callable[[], int] = usable_cpus) -> bool:
    """Whether a child may be forked now (module doc); ``disable`` names the variable that,
    set to ``1``, keeps the step in one process; ``cpus`` counts the usable CPUs."""
    if not hasattr(os, "fork") or os.environ.get(disable) == "1":
        return False
    if threading.active_count() != 1:
        return False
    return cpus() > 1


__all__ = ["fork_usable", "usable_cpus"]
