"""The Bot API connection of the service: calls on lanes of one connection each (`bot.lanes`), so
httpcore's per-call bookkeeping stays small however many updates are at work; at most as many
calls at once as there are lanes, the others waiting for a free one."""

from __future__ import annotations

import asyncio

import httpx
import respx
from telegram import Bot

from bot.bench.fake_bot_api import TOKEN
from bot.telegram.app import API_CONNECTIONS, build_application
from bot.telegram.handlers import TelegramAdapter
from bot.telegram.request import BotApiContact, WatchedRequest
from tests.support.telegram_harness import ScriptedEngine

ME = {"id": 7000001, "is_bot": True, "first_name": "Cancel Bot", "username": "cancel_test_bot"}


async def test_calls_beyond_the_lanes_wait_for_a_free_one() -> None:
    request = WatchedRequest(BotApiContact(), lanes=3, pool_timeout=5)
    assert request.lanes is not None
    lanes = request.lanes
    release, three_in = asyncio.Event(), asyncio.Event()
    inside = 0

    async def held(_request: httpx.Request) -> httpx.Response:
        nonlocal inside
        inside += 1
        if inside == 3:
            three_in.set()
        await release.wait()
        return httpx.Response(200, json={"ok": True, "result": True})

    with respx.mock(assert_all_called=False) as router:
        router.route(path__regex=r"/getMe$").mock(
            return_value=httpx.Response(200, json={"ok": True, "result": ME})
        )
        router.route(path__regex=r"/deleteMessage$").mock(side_effect=held)
        async with Bot(TOKEN, request=request) as bot:
            calls = [asyncio.create_task(bot.delete_message(1, n)) for n in range(5)]
            await asyncio.wait_for(three_in.wait(), 5)
            for _ in range(20):  # the other two get no further than the lanes
                await asyncio.sleep(0)
            assert inside == 3 and lanes.free == 0
            release.set()
            assert await asyncio.gather(*calls) == [True] * 5
            assert inside == 5 and lanes.free == 3


def test_the_service_calls_the_bot_api_on_lanes() -> None:
    adapter = TelegramAdapter(ScriptedEngine(), None, clinic_name="C", clinic_phone="+4600")
    application = build_application(TOKEN, "https://api.telegram.org", adapter)
    request = application.bot.request
    assert isinstance(request, WatchedRequest) and request.lanes is not None
    assert len(request.lanes.lanes) == API_CONNECTIONS
