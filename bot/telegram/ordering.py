"""Per-chat ordering for python-telegram-bot: updates of different chats run concurrently,
updates of one chat strictly one after another, in the order they were fetched.

`ChatOrderedProcessor` is the application's `BaseUpdateProcessor`. PTB's fetcher starts one task
per update, in queue order; each task enters `process_update` (the base class's semaphore, which
here bounds how many updates may be held at once, waiting or running) and then
`do_process_update`, which synchronously, before its first `await`, joins its chat's FIFO lock.
`asyncio.Lock` and `asyncio.Semaphore` wake their waiters first in, first out, so a chat's updates
run in fetch order. Only then does an update take one of `max_concurrent_updates` working slots:
a chat with a backlog waits on its own lock without holding a slot other chats could use.

`on_arrival` is called for each update as it arrives, before it waits for its chat: the adapter
uses it to answer a button press at once even while the chat is busy with a slow call.
`on_done` is called once an update's handling has finished (its effects stored, its replies
sent, or its error handled), never for one cancelled half way: the poller confirms an update to
the Bot API only then.

A chat's bookkeeping (its lock and a counter) exists only while it has updates in flight and is
dropped when the last one finishes, so memory does not grow with the number of chats ever seen.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.ops.metrics import UPDATES_HANDLED, UPDATES_IN_FLIGHT

DEFAULT_CONCURRENCY = 128
"""Updates at work at once. Most of an update's time is spent waiting on Leyr, so the CPU stays
busy only while enough of them wait at once: about (CPU + Leyr wait) / CPU per update, some 30
at 200 ms per Leyr call and 6 ms of CPU. 128 leaves room for a slower Leyr; no database session
is held while Leyr is waited on, so the pool is not what bounds it."""
DEFAULT_MAX_HELD = 4096


@dataclass(frozen=True, slots=True)
class ChatTick:
    """An internal update: time passed for a chat (a dialog step asked to be woken). It goes
    through the application's update queue, so it is ordered with the chat's other updates."""

    chat_id: int


def chat_key(update: object) -> int | None:
    """The chat an update belongs to; None when it has none (then it is not ordered)."""
    if isinstance(update, ChatTick):
        return update.chat_id
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


@dataclass(slots=True)
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats (at most `max_concurrent_updates` at work), in order within one.

    `max_held_updates` bounds the updates held in memory at once, running or waiting: beyond it
    the fetcher's tasks wait for a free place (PTB's semaphore in `process_update`).
    """

    __slots__ = ("_busy", "_chats", "_concurrency", "_on_arrival", "_on_done", "_working")

    def __init__(
        self,
        max_concurrent_updates: int = DEFAULT_CONCURRENCY,
        max_held_updates: int = DEFAULT_MAX_HELD,
        on_arrival: Callable[[object], None] | None = None,
        on_done: Callable[[object], None] | None = None,
    ) -> None:
        if max_concurrent_updates < 1 or max_held_updates < max_concurrent_updates:
            raise ValueError("need 1 <= max_concurrent_updates <= max_held_updates")
        super().__init__(max_held_updates)
        self._concurrency = max_concurrent_updates
        self._working = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[int, _Chat] = {}
        self._busy = 0
        self._on_arrival = on_arrival
        self._on_done = on_done

    @property
    def concurrency(self) -> int:
        """How many updates may be at work at once (across chats)."""
        return self._concurrency

    @property
    def chats_in_flight(self) -> int:
        """How many chats have updates waiting or running (their bookkeeping is alive)."""
        return len(self._chats)

    @property
    def working(self) -> int:
        """How many updates are at work right now."""
        return self._busy

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._on_arrival is not None:
            self._on_arrival(update)  # synchronous: e.g. start answering a button press now
        UPDATES_IN_FLIGHT.inc()
        try:
            await self._in_order(update, coroutine)
        except Exception:
            UPDATES_HANDLED.labels("error").inc()
            self._finished(update)  # handled, if badly: fetching it forever would help nobody
            raise
        finally:
            UPDATES_IN_FLIGHT.dec()
        UPDATES_HANDLED.labels("ok").inc()
        self._finished(update)  # not reached when cancelled: such an update comes again

    def _finished(self, update: object) -> None:
        if self._on_done is not None:
            self._on_done(update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await self._work(coroutine)
            return
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = _Chat()
        chat.users += 1  # before any await: this fixes the update's place in its chat's line
        try:
            async with chat.lock:
                await self._work(coroutine)
        finally:
            chat.users -= 1
            if chat.users == 0:
                del self._chats[key]

    async def _work(self, coroutine: Awaitable[Any]) -> None:
        started = False
        try:
            async with self._working:
                started = True
                self._busy += 1
                try:
                    await coroutine
                finally:
                    self._busy -= 1
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: never awaited, so close it quietly

    async def initialize(self) -> None:
        """Nothing to allocate: locks are made per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB's `Application.stop` has waited for every update already."""
