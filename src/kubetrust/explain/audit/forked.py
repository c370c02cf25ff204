"""Both cores for an audit's longest step: part of a pure computation in a forked child.

Judging the assume edges of a 10,000-account organization is most of its audit and one
core's work (``benchmarks/scale.py``). :func:`split_map` gives the tail of the list (half,
or ``child_share``) to a child made by ``os.fork`` while the parent does the head, after
any other work it has meanwhile (the audit's rules that need no reach graph); the child
sends back its results — small values (booleans, tuples of strings) — through a pipe, and
the parent joins the two parts in order, so the result is the one a single process computes.

Why fork is safe here:

- the child sees the parent's heap as it was, copy-on-write: the loaded topology is not
  copied, nor pickled. After loading, :func:`kubetrust.explain.gcpause.paused_gc` froze it
  into the permanent generation and the audit runs with the collector paused, so no
  collection in the child walks (and so copies) the shared pages; only the objects the
  child touches are copied;
- ``work`` is pure (it reads the topology and fills caches of its own), so nothing the
  child does is seen by the parent except its results;
- the child runs nothing else: it exits with ``os._exit`` whatever happens — no ``atexit``
  handler, no flush of the parent's buffered output, no ``finally`` of the parent's stack;
- fork is used only when it is safe and worth it (:mod:`kubetrust.explain.forking`: the
  platform has it, more than one CPU is usable, the process has a single thread, and
  ``KUBETRUST_AUDIT_PROCESSES`` is not ``1``) and the list is long (:data:`THRESHOLD`);
- nothing is left behind: the child is waited for before :func:`split_map` returns (a
  pool would outlive the call, and a library must not leave processes running);
- if the child fails (an exception, a signal, the memory it needs), it sends nothing and
  the parent computes that half itself: the result, or the exception, is the one a single
  process gives.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kubetrust.explain import forking

T = TypeVar("T")
R = TypeVar("R")

THRESHOLD = 50_000
"""Fewer items than this are done in one process: a fork, and the copies of pages it
causes, cost more than they save on a small organization (1,000 accounts judge ~33,000
candidate edges in about a second)."""

DISABLE = "KUBETRUST_AUDIT_PROCESSES"
"""Set to ``1`` to keep every audit in one process."""


def fork_usable() -> bool:
    """Whether a child may be forked now for the audit (module doc)."""
    return forking.fork_usable(DISABLE, cpus=_usable_cpus)


def _usable_cpus() -> int:
    return forking.usable_cpus()


def split_map(
    items: Sequence[T],
    work: Callable[[Sequence[T]], list[R]],
    threshold: int | None = None,
    *,
    meanwhile: Callable[[], None] | None = None,
    child_share: float = 0.5,
) -> list[R]:
    """``work(items)``, with the tail of the list done by a forked child when that pays
    (module doc): at least ``threshold`` items (:data:`THRESHOLD` when not given). ``work``
    must return one picklable result per item, in order.

    ``meanwhile``, when given, runs once in this process, after ``work`` when no child is
    forked, else while the child works and before this process's part: other work of the
    caller that would otherwise wait for both parts. ``child_share`` (about the child's
    part of ``items``) then leaves this process the smaller part, so both finish together."""
    if len(items) < (THRESHOLD if threshold is None else threshold) or not fork_usable():
        found = work(items)
        if meanwhile is not None:
            meanwhile()
        return found
    cut = min(max(int(len(items) * (1 - child_share)), 1), len(items) - 1)
    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or process slot for a child: one process, as when small
        os.close(reader)
        os.close(writer)
        found = work(items)
        if meanwhile is not None:
            meanwhile()
        return found
    if pid == 0:  # the child
        os.close(reader)
        _child(writer, work, items[cut:])
    os.close(writer)
    second: list[R] | None = None
    try:
        if meanwhile is not None:
            meanwhile()
        first = work(items[:cut])
    finally:
        second = _collect(reader, pid)
    if second is None or len(second) != len(items) - cut:
        second = work(items[cut:])
    return first + second


def _child(writer: int, work: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> None:
    """Compute, send, exit — never return into the parent's code."""
    code = 1
    try:
        with os.fdopen(writer, "wb") as pipe:
            pickle.dump(work(items), pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def _collect(reader: int, pid: int) -> list[Any] | None:
    """The child's results, or ``None`` when it sent none (it failed); the child reaped."""
    try:
        with os.fdopen(reader, "rb") as pipe:
            found = pickle.load(pipe)
    except (EOFError, pickle.UnpicklingError, OSError):
        found = None
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not isinstance(found, list):
        return None
    return found


__all__ = ["DISABLE", "THRESHOLD", "fork_usable", "split_map"]
