"""Pause Python's cyclic garbage collector while large, acyclic structures are built.

Loading an organization allocates millions of small objects (parsed policies, indexes);
each allocation burst triggers collections that rescan the whole, still growing heap —
about a third of a 100,000-role load. What is built here holds no reference cycles worth
collecting, so collection is paused for the duration and restored afterwards (reference
counting still frees everything as usual). Measured in ``benchmarks/scale.py``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore its previous state after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
