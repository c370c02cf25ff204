"""Load a large bundle on two cores: a forked child reads a run of the account files.

Reading a 10,000-account bundle is one core's work for most of a minute (decoding a gigabyte
of JSON, validating a million policy documents, building a million roles), and the result has
to end up in the caller's process. So the caller's work list (one entry per account file,
cluster directory or config file, in the order a single process reads them) is cut in three:
a *head* and a *tail* that the caller reads itself, and between them a run of account files
that a child forked at the start of the load reads at the same time. The child sends its part
back through an anonymous file (:mod:`kubetrust.explain.slot_pickle`: the field values of the
model's frozen dataclasses, about a fifth of the cost of parsing them again), and the parts
are joined in the work list's order, so the topology, its problems and their order are the
ones a single process builds.

Why fork is safe and how it ends (the rules of :mod:`kubetrust.explain.audit.forked`):

- :func:`kubetrust.explain.forking.fork_usable` (one thread, a second CPU, POSIX, and
  ``KUBETRUST_LOAD_PROCESSES`` not ``1``), and a bundle big enough to pay for the copies
  (:data:`THRESHOLD_BYTES` of account files);
- the fork happens before anything is read: the child copies almost nothing;
- the child runs its part and nothing else, and leaves with ``os._exit`` whatever happens;
- if the child fails in any way (a bad file in its part, an exception, a signal, no memory)
  it sends nothing and the caller reads that part itself: the result, or the error with its
  file and place, is the one a single process gives; a bad file in the head still comes
  first, one in the child's part before one in the tail;
- the child is always waited for (killed first when the caller's own part failed), so no
  process outlives the call.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

from kubetrust.explain import forking, slot_pickle

P = TypeVar("P")
T = TypeVar("T")

DISABLE = "KUBETRUST_LOAD_PROCESSES"
"""Set to ``1`` to read every bundle in one process."""

THRESHOLD_BYTES = 20_000_000
"""Account files smaller than this in total are read in one process: about 200 accounts of
100 roles, under a second of work (a fork and the transfer cost more than they save)."""

CHILD_SHARE = 0.44
"""The child's share of the account bytes. The caller also reads the clusters and rebuilds
what the child sends, the child pickles it: measured at 10,000 accounts of
``benchmarks/scale.py`` (after strings and action lists were shared, which made the transfer
about a third cheaper), the two sides' CPU times were even between 0.40 (the caller busier by
4–10 s) and 0.46 (the child busier by up to 2 s), the load's wall time least near 0.46."""


def child_run(
    items: Sequence[T], weight: Callable[[T], int], share: float = CHILD_SHARE
) -> tuple[int, int] | None:
    """The ``[start, stop)`` range of ``items`` for the child, or ``None`` for one process.

    ``weight`` gives an item's size in bytes, ``0`` for an item the child cannot take
    (anything but an account file); it is asked only when a fork is usable. The child takes
    the end of the longest run of account items, about ``share`` of all account bytes
    (module doc)."""
    if not forking.fork_usable(DISABLE):
        return None
    weights = [weight(item) for item in items]
    total = sum(weights)
    if total < THRESHOLD_BYTES:
        return None
    start, stop = _longest_run(weights)
    wanted, taken, begin = total * share, 0, stop
    while begin > start + 1 and taken < wanted:
        begin -= 1
        taken += weights[begin]
    return (begin, stop) if begin < stop else None


def _longest_run(weights: Sequence[int]) -> tuple[int, int]:
    best, start = (0, 0), None
    for index, weight in enumerate([*weights, 0]):
        if weight > 0 and start is None:
            start = index
        elif weight <= 0 and start is not None:
            if index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best


def split_run(
    count: int,
    child: tuple[int, int],
    run: Callable[[int, int], P],
    join: Callable[[Sequence[P]], P],
) -> P:
    """``run(0, count)``, with ``run(*child)`` done by a forked child (module doc).

    ``run(start, stop)`` reads items ``[start, stop)`` into a part; ``join`` puts parts
    together in order. Both must give the result of one ``run`` over everything."""
    start, stop = child
    spool = _spool()
    with spool:
        pid = _fork()
        if pid is None:  # no child to be had: one process
            return run(0, count)
        if pid == 0:
            _child(spool, lambda: run(start, stop))
        try:
            head = run(0, start)
        except BaseException:
            _kill(pid)
            raise
        tail_error: BaseException | None = None
        tail: P | None = None
        try:
            tail = run(stop, count)
        except Exception as error:  # raised after the child's part: its errors come first
            tail_error = error
        except BaseException:
            _kill(pid)
            raise
        sent = _collect(spool, pid)
    middle: P = run(start, stop) if sent is None else sent
    if tail_error is not None:
        raise tail_error
    assert tail is not None
    return join([head, middle, tail])


def _spool() -> IO[bytes]:
    """An anonymous file for the child's part: memory-backed where Linux offers it."""
    create = getattr(os, "memfd_create", None)
    if create is not None:
        try:
            return open(create("kubetrust-bundle-part"), "w+b")  # the caller closes it
        except OSError:
            pass
    return tempfile.TemporaryFile()


def _fork() -> int | None:
    try:
        return os.fork()
    except OSError:  # no memory or process slot for a child
        return None


def _child(spool: IO[bytes], work: Callable[[], object]) -> None:
    """Read, send, exit — never return into the caller's code."""
    code = 1
    try:
        slot_pickle.dump(work(), spool)
        spool.flush()
        code = 0
    finally:
        os._exit(code)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _collect(spool: IO[bytes], pid: int) -> Any:
    """The child's part, or ``None`` when it sent none (it failed); the child reaped."""
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        spool.seek(0)
        return slot_pickle.load(spool)
    except Exception:  # a truncated or unreadable part: read it here instead
        return None


__all__ = ["CHILD_SHARE", "DISABLE", "THRESHOLD_BYTES", "child_run", "split_run"]
