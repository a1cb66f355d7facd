"""The garbage collector's pauses in this process while a run lasts: each collection holds the
whole event loop, so its length lands on whatever the patients are waiting for."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def gc_pauses() -> Iterator[list[float]]:
    """The milliseconds of each collection that ran inside the block, filled as they end."""
    pauses: list[float] = []
    began = 0.0

    def timed(phase: str, info: dict[str, Any]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - began) * 1000)

    gc.callbacks.append(timed)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timed)
