"""Turns at SQLite's one writer: one holder at a time, the waiters served first come, first
served, except that an urgent one (the poller storing a fetched batch, which every update still
waiting at Telegram waits for) goes before every step waiting. Like `asyncio.Lock`, a waiter
cancelled before its turn leaves the queue, and one cancelled as its turn came passes it on."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

URGENT, IN_TURN = 0, 1


class WriterTurns:
    def __init__(self) -> None:
        self._held = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @asynccontextmanager
    async def turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(URGENT if urgent else IN_TURN)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, rank: int) -> None:
        if not self._held:  # then nobody waits either: a release hands the turn to a waiter
            self._held = True
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (rank, next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # the turn came as it was cancelled
                self._release()
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():  # the next waiter takes the turn over; it stays held
                future.set_result(None)
                return
        self._held = False
