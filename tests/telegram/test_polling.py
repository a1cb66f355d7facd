"""`AckingPoller` against the fake Bot API over loopback HTTP: an update is confirmed to Telegram
only once it was handled, so what a crash interrupts is delivered again; nothing is queued twice;
Bot API failures are ridden out; stop abandons the long poll and confirms what was handled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot, Update

from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.polling import AckingPoller
from tests.fake_bot_api import TOKEN, ApiError, FakeBotServer, fake_bot_api_server

WITHIN = 10.0


@asynccontextmanager
async def polling(
    server: FakeBotServer, url: str, poller: AckingPoller
) -> AsyncIterator[asyncio.Queue[object]]:
    """The poller running into a fresh queue; on exit it is stopped WITHOUT a final confirm
    (as a crash would leave it)."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    async with Bot(TOKEN, base_url=f"{url}/bot") as bot:
        task = asyncio.create_task(poller.run(bot, queue))
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


async def test_an_update_is_confirmed_only_after_it_and_all_before_it_finished() -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        sent = [api.user_text(chat, "/start") for chat in (1, 2, 3)]
        first, second, third = ids(sent)
        poller = AckingPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(server, url, poller) as queue:
            updates = await take(queue, 3)
            assert [u.update_id for u in updates] == [first, second, third]
            poller.finished(updates[1])
            poller.finished(updates[2])
            polls = len(api.sent("getUpdates"))
            await server.wait_for(lambda: len(api.sent("getUpdates")) > polls + 1, WITHIN)
            assert api.confirmed_offset <= first  # the first is still being handled
            assert api.pending_updates() == 3
            assert queue.empty()  # fetched again, but never queued twice
            late = api.user_text(4, "/help")["update_id"]  # others keep flowing meanwhile
            [fourth] = await take(queue, 1)
            assert fourth.update_id == late
            poller.finished(updates[0])
            await server.wait_for(lambda: api.confirmed_offset == late, WITHIN)
            poller.finished(fourth)
            await server.wait_for(lambda: api.pending_updates() == 0, WITHIN)
            assert queue.empty()


async def test_what_a_crash_interrupted_is_delivered_again() -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        first, second = ids([api.user_text(1, "/start"), api.user_text(2, "/start")])
        crashed = AckingPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(server, url, crashed) as queue:
            _interrupted, finished = await take(queue, 2)
            crashed.finished(finished)  # the second finished, the first did not
        restarted = AckingPoller(ALLOWED_UPDATES, timeout=5)
        async with polling(server, url, restarted) as queue:
            again = await take(queue, 2)
            assert [u.update_id for u in again] == [first, second]
            for update in again:
                restarted.finished(update)
            await server.wait_for(lambda: api.pending_updates() == 0, WITHIN)
            assert restarted.offset == second + 1


async def test_bot_api_failures_are_retried_and_updates_still_arrive() -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        api.fail_next("getUpdates", ApiError(502, "Bad Gateway"))
        api.fail_next("getUpdates", ApiError(409, "Conflict: terminated by other getUpdates"))
        api.fail_next("getUpdates", ApiError(429, "Too Many Requests", {"retry_after": 0}))
        api.fail_next("getUpdates", ApiError(500, "Internal Server Error"))
        sent = api.user_text(1, "/start")["update_id"]
        poller = AckingPoller(ALLOWED_UPDATES, timeout=5, backoff=0.01)
        async with polling(server, url, poller) as queue:
            [update] = await take(queue, 1)
            assert update.update_id == sent
            assert len(api.sent("getUpdates")) >= 5


async def test_stop_abandons_the_long_poll_and_confirm_acknowledges_what_was_handled() -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        sent = api.user_text(1, "/start")["update_id"]
        poller = AckingPoller(ALLOWED_UPDATES, timeout=30)
        queue: asyncio.Queue[object] = asyncio.Queue()
        async with Bot(TOKEN, base_url=f"{url}/bot") as bot:
            task = asyncio.create_task(poller.run(bot, queue))
            [update] = await take(queue, 1)
            poller.finished(update)
            polls = len(api.sent("getUpdates"))
            await server.wait_for(lambda: len(api.sent("getUpdates")) > polls, WITHIN)
            # now in a 30 s long poll with nothing to fetch
            poller.stop()
            await asyncio.wait_for(task, 2.0)
            await poller.confirm(bot)
        assert api.confirmed_offset == sent + 1
        assert api.pending_updates() == 0


async def test_an_unreadable_answer_is_ridden_out_without_logging_its_data() -> None:
    async with fake_bot_api_server() as (server, url):
        api = server.api
        broken = api.user_text(1, "/start")
        broken["message"]["chat"] = "19121212-1212"  # PTB cannot parse this batch
        poller = AckingPoller(ALLOWED_UPDATES, timeout=5, backoff=0.01)
        async with polling(server, url, poller) as queue:
            polls = len(api.sent("getUpdates"))
            await server.wait_for(lambda: len(api.sent("getUpdates")) > polls + 2, WITHIN)
            assert queue.empty()
            broken["message"]["chat"] = {"id": 1, "type": "private"}  # repaired: it flows
            [update] = await take(queue, 1)
            assert update.update_id == broken["update_id"]
