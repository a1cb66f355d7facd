"""`settled_heap`: what the service holds when it is ready is frozen (full collections no longer
walk it), the young generation is collected less often, and leaving puts the collector back."""

from __future__ import annotations

import gc

from bot.heap import YOUNG_THRESHOLD, settled_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_the_heap_is_frozen_while_serving_and_restored_after() -> None:
    before = gc.get_threshold()
    with settled_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        assert before[0] < YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_garbage_made_while_serving_is_still_collected() -> None:
    with settled_heap():
        Node()
        assert gc.collect() > 0  # the new cycle is found; the frozen heap is not walked
