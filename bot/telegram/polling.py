"""Long polling that confirms an update to the Bot API only after it was handled.

Telegram forgets an update once `getUpdates` is called with an `offset` above its id, and PTB's
own `Updater` sends that offset as soon as it has fetched a batch: a crash then loses what was
fetched but not yet handled. `AckingPoller` instead keeps the offset at the lowest update still
being handled, so after a crash Telegram delivers it again (and the engine, which stores each
chat's last update id with its state, does not apply it twice).

While updates are in flight, the next `getUpdates` returns them again (they are not confirmed):
the poller skips every id it has already queued and, instead of long polling, asks again once an
update finished or after `BUSY_POLL_SECONDS`, whichever comes first (never more often than every
`MIN_POLL_INTERVAL`). New updates of other chats therefore wait at most that long behind a slow
one. One update that takes very long (Leyr's timeouts and retries) holds the offset; the window
of `LIMIT` updates after it keeps flowing until it is full.

Errors from the Bot API (network, 5xx, 429, 409 Conflict, an answer that cannot be read) are
logged by type only and retried with exponential backoff; an invalid token ends the poller with
`InvalidToken`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

log = logging.getLogger(__name__)
T = TypeVar("T")

LIMIT = 100
"""Updates per getUpdates call (the Bot API's maximum)."""
BUSY_POLL_SECONDS = 0.5
MIN_POLL_INTERVAL = 0.05
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0


class AckingPoller:
    """Fetch updates into `queue`; confirm each only once `finished(update)` was called."""

    def __init__(
        self, allowed_updates: Sequence[str], *, timeout: int = 30, backoff: float = BACKOFF_FIRST
    ) -> None:
        self._allowed = list(allowed_updates)
        self._timeout = timeout
        self._backoff = backoff
        self._in_flight: set[int] = set()
        self._highest: int | None = None
        self._progress = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """What the next getUpdates confirms up to (exclusive): the lowest unfinished update,
        or one past the highest fetched when all are finished; None before the first."""
        if self._in_flight:
            return min(self._in_flight)
        return None if self._highest is None else self._highest + 1

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def finished(self, update: object) -> None:
        """The update processor's `on_done`: this update's effects are stored."""
        if isinstance(update, Update) and update.update_id in self._in_flight:
            self._in_flight.discard(update.update_id)
            self._progress.set()

    def stop(self) -> None:
        """Make `run` return soon (an open long poll is abandoned; it confirms nothing)."""
        self._stopping.set()

    async def run(self, bot: Bot, queue: asyncio.Queue[object]) -> None:
        """Poll into `queue` until `stop()`; raises InvalidToken when the token is refused."""
        delay = self._backoff
        while not self._stopping.is_set():
            try:
                updates = await self._until_stopped(self._fetch(bot))
            except InvalidToken:
                raise
            except RetryAfter as error:
                wait = error.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                await self._pause(seconds, "flood control")
                continue
            except Conflict:
                log.error(
                    "another process is polling with this bot token (only one poller per token "
                    "may run): retrying in %.1f s",
                    delay,
                )
                await self._until_stopped(asyncio.sleep(delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except Exception as error:  # TelegramError (network, 5xx), or an unreadable answer
                await self._pause(delay, type(error).__name__)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = self._backoff
            if updates is None:
                return
            fresh = self._take(updates)
            for update in fresh:
                await queue.put(update)
            if self._in_flight and not fresh:
                await self._await_progress()

    async def confirm(self, bot: Bot) -> None:
        """Confirm everything handled so far (at stop, once the application has drained)."""
        offset = self.offset
        if offset is None:
            return
        try:
            await bot.get_updates(offset=offset, limit=1, timeout=0, allowed_updates=self._allowed)
        except TelegramError as error:
            log.warning("could not confirm handled updates at stop: %s", type(error).__name__)

    async def _fetch(self, bot: Bot) -> tuple[Update, ...]:
        busy = bool(self._in_flight)
        self._progress.clear()
        return await bot.get_updates(
            offset=self.offset,
            limit=LIMIT,
            timeout=0 if busy else self._timeout,
            allowed_updates=self._allowed,
        )

    def _take(self, updates: Sequence[Update]) -> list[Update]:
        """The updates not queued before, in id order; each becomes in flight."""
        fresh = []
        for update in sorted(updates, key=lambda u: u.update_id):
            if self._highest is not None and update.update_id <= self._highest:
                continue  # queued before: in flight, or finished and waiting to be confirmed
            self._highest = update.update_id
            self._in_flight.add(update.update_id)
            fresh.append(update)
        return fresh

    async def _await_progress(self) -> None:
        await self._until_stopped(asyncio.sleep(MIN_POLL_INTERVAL))
        with contextlib.suppress(TimeoutError):
            await self._until_stopped(
                asyncio.wait_for(self._progress.wait(), BUSY_POLL_SECONDS - MIN_POLL_INTERVAL)
            )

    async def _pause(self, seconds: float, why: str) -> None:
        log.warning("getUpdates failed (%s): retrying in %.1f s", why, seconds)
        await self._until_stopped(asyncio.sleep(seconds))

    async def _until_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when `stop()` came first (then `work` is cancelled)."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            stopping.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
