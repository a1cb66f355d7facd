"""Wake-ups: a dialog step may ask to be woken at `wake_at` (an SMS code expires then). The
adapter owns one timer per chat (the newest request replaces the older one: the dialog always
asks for its earliest pending deadline) and, when it fires, puts a `ChatTick` on the
application's update queue, so the Tick is ordered with the chat's other updates.

Timers live in memory: they are cancelled on shutdown, and the service sets them again on start
from the stored dialogs (`Engine.wake_ups`). The dialog also checks expiry on every event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from bot.ops.metrics import CODE_EXPIRIES
from bot.telegram.ordering import ChatTick

MAX_DELAY_SECONDS = 7 * 24 * 3600.0


class WakeScheduler:
    def __init__(
        self,
        deliver: Callable[[ChatTick], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._deliver = deliver
        self._clock = clock
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def schedule(self, chat_id: int, when: datetime) -> None:
        """Wake the chat at `when` (at once if that has passed), replacing its earlier timer."""
        self.cancel(chat_id)
        delay = min(max(0.0, (when - self._clock()).total_seconds()), MAX_DELAY_SECONDS)
        loop = asyncio.get_running_loop()
        self._timers[chat_id] = loop.call_later(delay, self._fire, chat_id)

    def cancel(self, chat_id: int) -> None:
        timer = self._timers.pop(chat_id, None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self) -> None:
        for chat_id in list(self._timers):
            self.cancel(chat_id)

    def _fire(self, chat_id: int) -> None:
        self._timers.pop(chat_id, None)
        CODE_EXPIRIES.inc()
        self._deliver(ChatTick(chat_id))
