"""The collector settings a started service runs with, and that they are undone on leaving."""

from __future__ import annotations

import gc

from bot.collector import YOUNG_OBJECTS, settled


def test_a_started_service_freezes_what_start_up_made_and_enlarges_the_young_generation() -> None:
    before = gc.get_threshold()
    made_at_start = [object() for _ in range(10)]
    with settled():
        assert gc.get_threshold() == (YOUNG_OBJECTS, *before[1:])
        assert gc.get_freeze_count() >= len(made_at_start)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
