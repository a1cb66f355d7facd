"""The garbage collector, set for a long-running service whose patients feel every pause.

CPython's cyclic collector walks every tracked object of a generation it collects. Right after
start the process holds some 130,000 of them (modules, PTB, SQLAlchemy, Babel's locale data,
the sandbox's seed) that live as long as the process: each full collection walked them all
again, a pause of 75-190 ms on the 2-core VM, in the middle of whatever the patients waited
for. `settled_heap` collects once when the service is ready, then freezes what survives
(`gc.freeze`: never walked again, still freed by reference counting), and lets the youngest
generation grow larger before a collection, so fewer of them run per update. Leaving restores
the collector as it was (tests serve many times in one process).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 3_000
"""Allocations (less deallocations) of tracked objects before the youngest generation is
collected: Python's default is 700, some two patient steps' worth here."""


@contextmanager
def settled_heap() -> Iterator[None]:
    """Freeze what the process holds now and collect the young generation less often."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
