"""Pause Python's cyclic garbage collector while large, acyclic structures are built.

Loading an organization allocates millions of small objects (parsed policies, indexes);
each allocation burst triggers collections that rescan the whole, still growing heap —
about a third of a 100,000-role load. What is built here holds no reference cycles worth
collecting, so collection is paused for the duration and restored afterwards (reference
counting still frees everything as usual). Measured in ``benchmarks/scale.py``.

Restoring alone is not enough: every object allocated during the pause is still in the
youngest generation, and the collections that follow traverse all of them, then again as
they age, then the whole heap once the old generation has grown by a quarter — tens of
seconds for a 10,000-account organization. So the block ends with :func:`gc.freeze`, which
moves every object alive then to the permanent generation that collections skip (CPython's
recommendation for large long-lived structures). The cost: a reference cycle already
unreachable at that moment is not reclaimed; what is built here has none.
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
        gc.freeze()
        if enabled:
            gc.enable()
