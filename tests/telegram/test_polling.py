"""`InboxPoller` against the fake Bot API over loopback HTTP and a real database: each update is
fetched once and parsed once, stored in the inbox before Telegram is told it arrived, queued
again from the inbox after a crash and never stored twice; ids that go backwards are new
updates; an unparseable update is skipped; Bot API failures are ridden out; stop abandons the
long poll and confirms what was stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Bot, Update

from bot.bench.fake_bot_api import TOKEN, ApiError, fake_bot_api_server
from bot.store import Inbox, Store, open_store
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.polling import InboxPoller

WITHIN = 10.0


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="k")
    try:
        yield opened
    finally:
        await opened.close()


@asynccontextmanager
async def polling(
    url: str, poller: InboxPoller, store: Store
) -> AsyncIterator[asyncio.Queue[object]]:
    """The poller running into a fresh queue; on exit it is stopped WITHOUT a final confirm
    (as a crash would leave it)."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    async with Bot(TOKEN, base_url=f"{url}/bot") as bot:
        task = asyncio.create_task(poller.run(bot, queue, Inbox(store)))
        try:
            yield queue
        finally:
            poller.stop()
            await asyncio.wait_for(task, WITHIN)


async def take(queue: asyncio.Queue[object], count: int) -> list[Update]:
    taken = []
    for _ in range(count):
        update = await asyncio.wait_for(queue.get(), WITHIN)
        assert isinstance(update, Update)
        taken.append(update)
    return taken


def ids(updates: list[dict[str, Any]]) -> list[int]:
    return [u["update_id"] for u in updates]


async def stored(store: Store) -> list[int]:
    return [r.update_id for r in await Inbox(store).pending()]


async def test_each_update_is_fetched_once_stored_then_confirmed(store: Store) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        sent = ids([api.user_text(chat, "/start") for chat in (1, 2, 3)])
        poller = InboxPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(url, poller, store) as queue:
            updates = await take(queue, 3)
            assert [u.effective_chat.id for u in updates if u.effective_chat] == [1, 2, 3]
            seqs = [u.update_id for u in updates]
            assert seqs == sorted(seqs) and len(set(seqs)) == 3  # the inbox's own numbers
            assert not any(poller.replayed(seq) for seq in seqs)
            assert await stored(store) == sent  # stored before Telegram was told
            # none is finished, yet the next poll confirms them all and waits for new ones
            await server.wait_for(lambda: api.confirmed_offset == sent[-1] + 1, WITHIN)
            late = api.user_text(4, "/help")["update_id"]
            [fourth] = await take(queue, 1)
            assert fourth.update_id > seqs[-1]
            assert set(api.returned.values()) == {1}  # fetched exactly once each
            for update in [*updates, fourth]:
                poller.finished(update)
            await server.wait_for(lambda: api.confirmed_offset == late + 1, WITHIN)
            api.user_text(5, "/help")  # one more poll returns: the handled ones leave the inbox
            await take(queue, 1)
            assert late not in await stored(store) and sent[0] not in await stored(store)
            assert queue.empty()


async def test_after_a_crash_the_inbox_is_queued_again_and_nothing_twice(store: Store) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        first, second = ids([api.user_text(1, "/start"), api.user_text(2, "/start")])
        crashed = InboxPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(url, crashed, store) as queue:
            interrupted, finished = await take(queue, 2)
            crashed.finished(finished)  # the second finished, the first did not
        assert await stored(store) == [first, second]  # not confirmed: Telegram has them too
        restarted = InboxPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(url, restarted, store) as queue:
            again = await take(queue, 2)
            # the same updates, by the same numbers, from the inbox; Telegram's redelivery of
            # them is recognised and not queued again
            assert [u.update_id for u in again] == [interrupted.update_id, finished.update_id]
            # both may have been half processed: their steps read the EHR before writing
            assert all(restarted.replayed(u.update_id) for u in again)
            await server.wait_for(lambda: api.pending_updates() == 0, WITHIN)
            third = api.user_text(3, "/start")["update_id"]
            [new] = await take(queue, 1)
            assert new.update_id > finished.update_id
            assert not restarted.replayed(new.update_id)  # fetched fresh: no doubt to clear
            assert restarted.offset == third + 1
            assert queue.empty()


async def test_ids_that_go_backwards_are_new_updates_and_the_poller_does_not_spin(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        before = api.user_text(1, "/start")["update_id"]
        poller = InboxPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(url, poller, store) as queue:
            [old] = await take(queue, 1)
            poller.finished(old)
            await server.wait_for(lambda: api.confirmed_offset == before + 1, WITHIN)
            api.next_update_ids(17)  # a quiet week: Telegram starts from a lower id
            after = ids([api.user_text(1, "/help"), api.user_text(2, "/start")])
            assert after[0] < before
            news = await take(queue, 2)
            assert [u.update_id for u in news] == sorted(u.update_id for u in news)
            assert news[0].update_id > old.update_id  # our numbers keep growing
            await server.wait_for(lambda: api.confirmed_offset == after[-1] + 1, WITHIN)
            polls = len(api.sent("getUpdates"))
            api.user_text(3, "/start")
            await take(queue, 1)
            assert len(api.sent("getUpdates")) <= polls + 2  # long polls, not a spin
        assert "update ids went backwards" in caplog.text


async def test_an_unparseable_update_is_skipped_and_the_others_flow(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        broken = api.user_text(1, "19121212-1212")
        broken["message"]["chat"] = "19121212-1212"  # PTB cannot parse this one
        good = api.user_text(2, "/start")["update_id"]
        poller = InboxPoller(ALLOWED_UPDATES, timeout=5, backoff=0.01)
        with caplog.at_level(logging.WARNING):
            async with polling(url, poller, store) as queue:
                [update] = await take(queue, 1)
                assert update.effective_chat is not None and update.effective_chat.id == 2
                await server.wait_for(lambda: api.confirmed_offset == good + 1, WITHIN)
                assert api.returned[broken["update_id"]] == 1  # never fetched again
        assert f"update={broken['update_id']} type=message" in caplog.text
        assert "19121212" not in caplog.text


async def test_bot_api_failures_are_retried_and_updates_still_arrive(store: Store) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        api.fail_next("getUpdates", ApiError(502, "Bad Gateway"))
        api.fail_next("getUpdates", ApiError(409, "Conflict: terminated by other getUpdates"))
        api.fail_next("getUpdates", ApiError(429, "Too Many Requests", {"retry_after": 0}))
        api.fail_next("getUpdates", ApiError(500, "Internal Server Error"))
        api.user_text(1, "/start")
        poller = InboxPoller(ALLOWED_UPDATES, timeout=5, backoff=0.01)
        async with polling(url, poller, store) as queue:
            [update] = await take(queue, 1)
            assert update.effective_chat is not None and update.effective_chat.id == 1
            assert len(api.sent("getUpdates")) >= 5


async def test_stop_abandons_the_long_poll_and_confirm_acknowledges_what_was_stored(
    store: Store,
) -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        sent = api.user_text(1, "/start")["update_id"]
        poller = InboxPoller(ALLOWED_UPDATES, timeout=30)
        queue: asyncio.Queue[object] = asyncio.Queue()
        inbox = Inbox(store)
        async with Bot(TOKEN, base_url=f"{url}/bot") as bot:
            task = asyncio.create_task(poller.run(bot, queue, inbox))
            [update] = await take(queue, 1)
            poller.finished(update)
            polls = len(api.sent("getUpdates"))
            await server.wait_for(lambda: len(api.sent("getUpdates")) > polls, WITHIN)
            # now in a 30 s long poll with nothing to fetch
            poller.stop()
            await asyncio.wait_for(task, 2.0)
            await poller.confirm(bot, inbox)
        assert api.confirmed_offset == sent + 1
        assert api.pending_updates() == 0
        assert await stored(store) == []


async def test_each_update_is_shown_to_on_fetch_before_it_is_queued(store: Store) -> None:
    """The service answers a button press there, before anything else waits on it."""
    async with fake_bot_api_server() as (server, url):
        api = server.api
        api.user_text(1, "/start")
        queue: asyncio.Queue[object] = asyncio.Queue()
        seen: list[tuple[int, int]] = []
        poller = InboxPoller(
            ALLOWED_UPDATES,
            timeout=5,
            on_fetch=lambda update: seen.append((update.update_id, queue.qsize())),
        )
        async with Bot(TOKEN, base_url=f"{url}/bot") as bot:
            task = asyncio.create_task(poller.run(bot, queue, Inbox(store)))
            [update] = await take(queue, 1)
            poller.stop()
            await asyncio.wait_for(task, WITHIN)
        assert seen == [(update.update_id, 0)]
