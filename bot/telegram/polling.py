"""Long polling through a durable inbox: each update is fetched once and parsed once.

`InboxPoller` long-polls getUpdates from the newest offset. Each batch is read as raw JSON;
button presses are answered at once (`on_fetch`, before anything else waits); the batch is
stored in the database's inbox (`bot.store.inbox`) in one transaction, and only then confirmed
to Telegram, by the next getUpdates whose offset is one past it. A crash before the batch is
stored loses nothing: Telegram delivers it again. Each stored update is parsed into a PTB
`Update` and queued; its `update_id` is the inbox's own sequence number, which only grows: it is
Telegram's id, except where that would not be above the one before.

Once an update was handled (`finished`) and Telegram has confirmed it (a getUpdates with an
offset above it returned), it is dropped from the inbox, in the transaction that stores the next
batch (one write per poll, and none of its own between two polls). Until then it stays: after a
crash the inbox's updates are queued again first, in the order received (the engine, which
stores each chat's last handled sequence number with its state, does not apply one twice; it
reads the EHR before writing for them, see `replayed`), and an update Telegram delivers again is
recognised by its id and not stored twice.

Telegram's ids can go backwards: after a week without updates it numbers them from a random
point. A batch below the offset asked for is taken as such a new epoch and handled like any
other (the sequence numbers keep growing, so no chat takes it for a duplicate). An update that
cannot be parsed (e.g. a field PTB requires and an older Bot API server leaves out) is logged by
id and type only, confirmed and skipped; so is an update its chat's admission turns away
(`bot.telegram.admission`: a flooding chat is slowed on its own). Every poll is at least
`MIN_POLL_INTERVAL` after the one before, whatever it returned.

Errors from the Bot API (network, 5xx, 429, 409 Conflict, an answer that cannot be read) and
from the database are logged by type only and retried with exponential backoff; an invalid
token ends the poller with `InvalidToken`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot.store import Inbox, Received
from bot.telegram.admission import Admission

log = logging.getLogger(__name__)
T = TypeVar("T")

LIMIT = 100
"""Updates per getUpdates call (the Bot API's maximum)."""
MIN_POLL_INTERVAL = 0.02
"""Seconds between the starts of two getUpdates calls, at least: the poller never spins."""
READ_SLACK_SECONDS = 10.0
"""How much longer than the long poll's own timeout an answer may take to arrive."""
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0


def update_kind(raw: dict[str, Any]) -> str:
    """The update's type (message, callback_query, ...): the first field besides its id."""
    return next((key for key in raw if key != "update_id"), "empty")


class InboxPoller:
    """Fetch updates into the inbox and onto `queue`; drop each from the inbox once
    `finished(update)` was called and Telegram confirmed it."""

    def __init__(
        self,
        allowed_updates: Sequence[str],
        *,
        timeout: int = 30,
        backoff: float = BACKOFF_FIRST,
        on_fetch: Callable[[Update], None] | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._allowed = list(allowed_updates)
        self._timeout = timeout
        self._backoff = backoff
        self._on_fetch = on_fetch
        self._admission = admission
        self._offset: int | None = None
        self._next_seq = 0
        self._first_fetched = 0
        """Updates below this sequence number were in the inbox at start: fetched before a
        crash (or a stop), maybe half processed."""
        self._unconfirmed: dict[int, int] = {}
        """seq -> Telegram id of stored updates Telegram may still deliver again."""
        self._done: set[int] = set()
        """seqs handled and not yet dropped from the inbox."""
        self._in_flight = 0
        self._polled = 0.0
        self._replayed = False
        self._stopping = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """The next getUpdates' offset: one past the newest stored update; None at first."""
        return self._offset

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def replayed(self, seq: int) -> bool:
        """Whether the update was queued again from the inbox at start (the engine then reads
        the EHR before it writes: the write may have gone out before the crash)."""
        return seq < self._first_fetched

    def finished(self, update: object) -> None:
        """The update processor's `on_done`: this update's effects are stored."""
        if isinstance(update, Update):
            self._done.add(update.update_id)
            self._in_flight -= 1
            if self._admission is not None:
                self._admission.finished(update)

    def stop(self) -> None:
        """Make `run` return soon (an open long poll is abandoned; it confirms nothing)."""
        self._stopping.set()

    async def run(self, bot: Bot, queue: asyncio.Queue[object], inbox: Inbox) -> None:
        """Queue what the inbox holds, then poll into it until `stop()`; raises InvalidToken
        when the token is refused."""
        delay = self._backoff
        while not self._stopping.is_set():
            try:
                if not self._replayed:
                    await self._replay(bot, queue, inbox)
                    self._replayed = True
                asked = self._offset
                raw = await self._until_stopped(self._fetch(bot))
                if raw is None:
                    return
                self._confirmed(asked)
                await self._take(bot, queue, inbox, raw, asked)
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
            except Exception as error:  # TelegramError (network, 5xx), database, unreadable
                await self._pause(delay, type(error).__name__)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = self._backoff

    async def confirm(self, bot: Bot, inbox: Inbox) -> None:
        """Confirm everything stored so far and drop what was handled (at stop, once the
        application has drained)."""
        if self._offset is None:
            return
        try:
            await bot.get_updates(
                offset=self._offset, limit=1, timeout=0, allowed_updates=self._allowed
            )
            self._confirmed(self._offset)
            await self._drop_done(inbox)
        except TelegramError as error:
            log.warning("could not confirm stored updates at stop: %s", type(error).__name__)
        except Exception as error:  # the database: dropped next time instead
            log.warning("could not drop handled updates at stop: %s", type(error).__name__)

    async def _replay(self, bot: Bot, queue: asyncio.Queue[object], inbox: Inbox) -> None:
        """What the inbox held at start: stored, maybe handled, maybe not confirmed."""
        pending = await inbox.pending()
        self._next_seq = self._first_fetched = await inbox.next_seq()
        if pending:
            log.info("queueing %s update(s) from the inbox", len(pending))
        for received in pending:
            self._unconfirmed[received.seq] = received.update_id
            self._dispatch(queue, received, self._admit(self._parse(bot, received)))

    async def _fetch(self, bot: Bot) -> list[Any]:
        wait = self._polled + MIN_POLL_INTERVAL - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._polled = time.monotonic()
        data: dict[str, Any] = {
            "offset": self._offset,
            "limit": LIMIT,
            "timeout": self._timeout,
            "allowed_updates": self._allowed,
        }
        # PTB's own get_updates parses every update at once and gives up on the whole batch
        # (logging it whole) when one cannot be parsed; _post is what it calls for the JSON.
        result = await bot._post(
            "getUpdates", data, read_timeout=self._timeout + READ_SLACK_SECONDS
        )
        return result if isinstance(result, list) else []

    def _confirmed(self, asked: int | None) -> None:
        """A getUpdates with offset `asked` returned: Telegram forgot every update below it."""
        if asked is None:
            return
        for seq in [s for s, update_id in self._unconfirmed.items() if update_id < asked]:
            del self._unconfirmed[seq]

    async def _take(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        inbox: Inbox,
        raw: list[Any],
        asked: int | None,
    ) -> None:
        fetched: list[Received] = []
        known = set(self._unconfirmed.values())
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                log.warning("skipped an update without an id from getUpdates")
                continue
            if update_id in known:  # stored before and not confirmed yet: delivered again
                self._offset = max(self._offset or 0, update_id + 1)
                continue
            seq = max(self._next_seq, update_id)  # Telegram's id, unless it went backwards
            fetched.append(Received(seq, update_id, item))
            self._next_seq = seq + 1
        if not fetched:
            await self._drop_done(inbox)
            return
        droppable = self._droppable()
        ids = [r.update_id for r in fetched]
        if asked is not None and min(ids) < asked:
            log.warning(
                "update ids went backwards (%s below offset %s): Telegram began a new sequence "
                "after a quiet week; taking them as new",
                min(ids),
                asked,
            )
            self._unconfirmed.clear()  # all before it were confirmed long ago
        admitted = [self._admit(self._parse(bot, received)) for received in fetched]
        if self._on_fetch is not None:
            for update in admitted:
                if update is not None:
                    self._on_fetch(update)  # e.g. a button press answered before anything waits
        try:
            stored = await inbox.add(fetched, drop=droppable)  # the handled dropped with it
        except Exception:
            self._forget(admitted)  # fetched again, and admitted again, after the backoff
            raise
        self._done.difference_update(droppable)
        self._offset = max(ids) + 1
        for received, update in zip(fetched, admitted, strict=True):
            if received.update_id in stored:
                self._unconfirmed[received.seq] = received.update_id
                self._dispatch(queue, received, update)
            else:
                self._forget([update])

    def _parse(self, bot: Bot, received: Received) -> Update | None:
        try:
            return Update.de_json({**received.raw, "update_id": received.seq}, bot)
        except Exception as error:
            log.warning(
                "skipped an update that cannot be parsed: update=%s type=%s (%s)",
                received.update_id,
                update_kind(received.raw),
                type(error).__name__,
            )
            return None

    def _admit(self, update: Update | None) -> Update | None:
        """The update, unless it could not be parsed or its chat's admission turned it away."""
        if update is None or (self._admission is not None and not self._admission.admit(update)):
            return None
        return update

    def _forget(self, admitted: list[Update | None]) -> None:
        """Admitted updates that will not be handled (not stored, or stored before)."""
        if self._admission is not None:
            for update in admitted:
                if update is not None:
                    self._admission.finished(update)

    def _dispatch(
        self, queue: asyncio.Queue[object], received: Received, update: Update | None
    ) -> None:
        if update is None:
            self._done.add(received.seq)  # never handled: dropped once confirmed
            return
        self._in_flight += 1
        queue.put_nowait(update)

    def _droppable(self) -> list[int]:
        """Handled updates Telegram has confirmed: they may leave the inbox."""
        return [seq for seq in self._done if seq not in self._unconfirmed]

    async def _drop_done(self, inbox: Inbox) -> None:
        """Drop what may leave the inbox when there is no batch to store it with."""
        droppable = self._droppable()
        if droppable:
            await inbox.add([], drop=droppable)
            self._done.difference_update(droppable)

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
