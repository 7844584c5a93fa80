"""``collector_paused()``: run a bounded, cycle-free computation without the cyclic collector.

Building or querying a definition with thousands of triggers allocates a few objects per
trigger, none of them in a reference cycle. With the collector on, every few hundred
allocations it walks the young objects, and every so often *all* tracked objects — including
the large definition itself — so the total work grows faster than the number of triggers
(a 10k-trigger star took 15× the time of a 1k one). Paused for such a computation, the
collector has nothing to reclaim afterwards either: reference counting frees everything.

A computation whose objects are *kept* (an import: its cases and events stay in the store)
says so with ``kept=True``. Otherwise the first allocation after the block would start a
young collection over everything the block allocated (the count of young objects kept
growing while the collector was off): a walk of every new event and case that can find
nothing (the block made no cycle), a twentieth of a BPIC 2013 import. Instead, what is
tracked then moves straight to the oldest generation (``gc.freeze()`` then
``gc.unfreeze()``: two list splices, and the young count starts again from zero), where the
full collections look at it as they look at any long-lived object. Cycles made elsewhere
before the block are still collected, by the next full collection. Skipped when the program
froze objects itself (``gc.freeze()``): unfreezing would hand its objects back to the
collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused(*, kept: bool = False) -> Iterator[None]:
    """Disable the cyclic garbage collector for the ``with`` block, then restore its state
    (a caller that had disabled it keeps it disabled). ``kept``: the block's objects live on;
    they join the oldest generation uncollected (see the module's docstring)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if kept and was_enabled and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()
