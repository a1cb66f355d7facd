"""Feeding updates into the real application: each payload becomes a PTB `Update` (as the poller
would make it from getUpdates) and goes onto `Application.update_queue`, where PTB's fetcher
hands it to the `ChatOrderedProcessor` and the handlers. The processor's `on_done` tells the
driver that an update's handling has finished (state saved, replies sent).

Per update the driver records its step, the Bot API calls made for its chat, and, when asked,
its CPU time: the process's CPU (every thread: SQLite works in aiosqlite's threads) from
parsing the update to `on_done`, minus what the fake Bot API spent answering. That is exact only
when nothing else runs at the same time, so it is asked for in sequential passes only.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.bench.fake_bot_api import Chat, FakeBotApi, FakeBotRequest
from bot.bench.patients import PatientFailed
from bot.telegram.handlers import AnyApplication


@dataclass
class Tally:
    """What the updates sent through a driver cost, by step."""

    updates: Counter[str] = field(default_factory=Counter)
    telegram_calls: Counter[str] = field(default_factory=Counter)
    most_telegram_calls: Counter[str] = field(default_factory=Counter)
    cpu: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def total_updates(self) -> int:
        return sum(self.updates.values())

    def cpu_samples(self) -> list[float]:
        return [sample for samples in self.cpu.values() for sample in samples]


def _chat_of(payload: dict[str, Any]) -> int:
    if "callback_query" in payload:
        return int(payload["callback_query"]["message"]["chat"]["id"])
    return int(payload["message"]["chat"]["id"])


class Driver:
    def __init__(self, api: FakeBotApi, request: FakeBotRequest) -> None:
        self._api = api
        self._fake = request
        self._application: AnyApplication | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self.tally = Tally()
        self.measure_cpu = False

    def attach(self, application: AnyApplication) -> None:
        self._application = application

    @property
    def in_flight(self) -> int:
        return len(self._waiting)

    def done(self, update: object) -> None:
        """The processor's `on_done`."""
        if isinstance(update, Update):
            waiting = self._waiting.pop(update.update_id, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)

    async def send(
        self, payload: dict[str, Any], step: str, expect: Callable[[Chat], bool] = lambda _: True
    ) -> None:
        """Put the update (made by the fake, with its id) on the application's queue; return
        once it was handled, or raise PatientFailed when the chat does not show `expect`."""
        assert self._application is not None, "attach the application first"
        update_id = int(payload["update_id"])
        chat = self._api.chats.get(_chat_of(payload))
        before = chat.calls if chat is not None else 0
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = waiting
        started, answering = time.process_time(), self._fake.cpu_seconds
        update = Update.de_json(payload, self._application.bot)
        self._application.update_queue.put_nowait(update)
        await waiting
        if self.measure_cpu:
            spent = time.process_time() - started - (self._fake.cpu_seconds - answering)
            self.tally.cpu[step].append(spent)
        self.tally.updates[step] += 1
        if chat is not None:
            calls = chat.calls - before
            self.tally.telegram_calls[step] += calls
            self.tally.most_telegram_calls[step] = max(self.tally.most_telegram_calls[step], calls)
            if not expect(chat):
                raise PatientFailed(step, "not the expected answer")

    def new_tally(self) -> Tally:
        """Start counting afresh; the finished tally is returned."""
        finished, self.tally = self.tally, Tally()
        return finished
