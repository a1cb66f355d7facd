""" "typing…" while a step is slow (waiting on Leyr): one sendChatAction per step at most, sent
before the step's replies; none for a step that answers at once."""

from __future__ import annotations

import asyncio

from bot.bench.fake_bot_api import ApiError
from tests.support.telegram_harness import ScriptedEngine, running

CHAT = 3131


async def test_a_slow_step_shows_typing_once_before_its_replies() -> None:
    engine = ScriptedEngine()
    slow = engine.gate("slow")
    async with running(engine, typing_after=0.0) as h:
        await h.feed(h.api.user_text(CHAT, "slow"))
        await h.until(lambda: "sendChatAction" in h.api.method_calls())
        await asyncio.sleep(0)  # the step keeps waiting: no second indicator
        slow.set()
        await h.drained()
    methods = h.api.method_calls()
    assert methods.count("sendChatAction") == 1
    assert methods.index("sendChatAction") < methods.index("sendMessage")
    [action] = [c for c in h.api.calls if c.method == "sendChatAction"]
    assert (int(action.params["chat_id"]), action.params["action"]) == (CHAT, "typing")


async def test_a_quick_step_sends_no_typing() -> None:
    engine = ScriptedEngine()
    async with running(engine, typing_after=60.0) as h:
        await h.feed(h.api.user_text(CHAT, "quick"))
        await h.drained()
    assert "sendChatAction" not in h.api.method_calls()
    assert "sendMessage" in h.api.method_calls()


async def test_a_failed_typing_indicator_does_not_stop_the_step() -> None:
    engine = ScriptedEngine()
    slow = engine.gate("slow")
    async with running(engine, typing_after=0.0) as h:
        h.api.fail_next("sendChatAction", ApiError(403, "Forbidden: bot was blocked by the user"))
        await h.feed(h.api.user_text(CHAT, "slow"))
        await h.until(lambda: "sendChatAction" in h.api.method_calls())
        slow.set()
        await h.drained()
    assert "sendMessage" in h.api.method_calls()
