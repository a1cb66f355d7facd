"""The Telegram adapter's ordering, with a scripted engine: one chat's updates in order while other
chats run, a global bound, button presses answered at once, and a stop that waits for the work in
flight. The real `telegram.ext.Application` runs against the respx fake Bot API; no wall-time
sleeps: steps are held and released with asyncio.Event gates.
"""

from __future__ import annotations

import asyncio

import pytest
from telegram import CallbackQuery

from bot.engine import Handled
from bot.telegram.ordering import ChatOrderedProcessor
from dialogs.replies import Reply
from tests.support.telegram_harness import ScriptedEngine, running

A, B, C = 101, 202, 303


async def test_one_chat_in_order_while_other_chats_run() -> None:
    engine = ScriptedEngine()
    first = engine.gate("a1")
    async with running(engine) as h:
        await h.feed(h.api.user_text(A, "a1"))
        await h.feed(h.api.user_text(A, "a2"))
        await h.feed(h.api.user_text(B, "b1"))
        await asyncio.wait_for(engine.reached("a1").wait(), 5)
        await asyncio.wait_for(engine.reached("b1").wait(), 5)
        # chat B was handled while chat A's first update is still held; A's second waits
        await asyncio.wait_for(engine.done("b1").wait(), 5)
        assert "a2" not in engine.started
        assert h.processor.chats_in_flight == 1
        first.set()
        await h.drained()
    assert engine.started.index("a1") < engine.started.index("a2")
    assert engine.finished.index("a1") < engine.finished.index("a2")
    assert h.processor.chats_in_flight == 0  # per-chat bookkeeping dropped when idle


async def test_many_updates_of_one_chat_keep_their_order() -> None:
    engine = ScriptedEngine()
    hold = engine.gate("m0")
    async with running(engine) as h:
        for i in range(12):
            await h.feed(h.api.user_text(A, f"m{i}"))
            await h.feed(h.api.user_text(B, f"n{i}"))
        await asyncio.wait_for(engine.reached("m0").wait(), 5)
        hold.set()
        await h.drained()
    assert [n for n in engine.finished if n.startswith("m")] == [f"m{i}" for i in range(12)]
    assert [n for n in engine.finished if n.startswith("n")] == [f"n{i}" for i in range(12)]


async def test_global_bound_on_concurrent_updates() -> None:
    engine = ScriptedEngine()
    gates = [engine.gate(f"x{chat}") for chat in (A, B, C)]
    async with running(engine, concurrency=2) as h:
        for chat in (A, B, C):
            await h.feed(h.api.user_text(chat, f"x{chat}"))
        await asyncio.wait_for(engine.reached(f"x{A}").wait(), 5)
        await asyncio.wait_for(engine.reached(f"x{B}").wait(), 5)
        assert h.processor.working == 2
        assert f"x{C}" not in engine.started  # the third chat waits for a working slot
        gates[0].set()
        await asyncio.wait_for(engine.reached(f"x{C}").wait(), 5)
        for gate in gates:
            gate.set()
        await h.drained()
    assert h.processor.working == 0


async def test_bookkeeping_does_not_grow_with_chats_seen() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        for chat in range(1000, 1040):  # (the rate limiter allows 30 messages a second)
            await h.feed(h.api.user_text(chat, "hi"))
        await h.drained()
        assert len(engine.finished) == 40
        assert h.processor.chats_in_flight == 0


def test_processor_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="max_concurrent_updates"):
        ChatOrderedProcessor(0)
    with pytest.raises(ValueError, match="max_concurrent_updates"):
        ChatOrderedProcessor(10, max_held_updates=5)


async def test_button_is_answered_at_once_while_the_chat_is_busy() -> None:
    engine = ScriptedEngine()
    slow = engine.gate("slow")
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        buttons = h.api.last(A)
        await h.feed(h.api.user_text(A, "slow"))
        await asyncio.wait_for(engine.reached("slow").wait(), 5)
        press = h.api.user_press(A, buttons.message_id, "1:ok")
        await h.feed(press)
        query_id = press["callback_query"]["id"]
        await h.until(lambda: query_id in h.api.answered)
        assert "button:1:ok" not in engine.started  # answered before its step could even start
        slow.set()
        await h.drained()
    assert engine.finished == ["/start", "slow", "button:1:ok"]
    assert h.api.sent("answerCallbackQuery") == [{"callback_query_id": query_id}]


async def test_a_button_step_does_not_wait_for_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer only stops the spinner: the step's reply goes out while it is on its way."""
    engine = ScriptedEngine()
    release = asyncio.Event()

    async def slow_answer(query: CallbackQuery) -> None:
        await release.wait()

    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        monkeypatch.setattr(h.adapter, "_answer", slow_answer)
        await h.feed(h.api.user_press(A, h.api.last(A).message_id, "1:ok"))
        try:
            await h.until(lambda: h.api.sent("editMessageText"))  # the answer still held
        finally:
            release.set()
        await h.drained()
    assert engine.finished == ["/start", "button:1:ok"]


async def test_stop_awaits_a_button_answer_still_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """The early answer is the application's task: `Application.stop()` waits for it."""
    engine = ScriptedEngine()
    release = asyncio.Event()
    answered: list[str] = []

    async def slow_answer(query: CallbackQuery) -> None:
        await release.wait()
        answered.append(query.id)

    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        press = h.update(h.api.user_press(A, h.api.last(A).message_id, "1:ok"))
        assert press.callback_query is not None
        monkeypatch.setattr(h.adapter, "_answer", slow_answer)
        h.adapter.arrival(press)  # as the update processor does when the press arrives
        stopping = asyncio.create_task(h.app.stop())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not stopping.done()  # held by the answer
        release.set()
        await asyncio.wait_for(stopping, 5)
    assert answered == [press.callback_query.id]


async def test_stop_drains_in_flight_and_queued_updates() -> None:
    """What SIGTERM does after polling stops: `Application.stop()` waits for every fetched update,
    the one at work and the ones queued behind it, to be handled."""
    engine = ScriptedEngine()
    held = engine.gate("held")
    async with running(engine) as h:
        await h.feed(h.api.user_text(A, "held"))
        await h.feed(h.api.user_text(A, "queued"))
        await h.feed(h.api.user_text(B, "other"))
        await asyncio.wait_for(engine.reached("held").wait(), 5)
        stopping = asyncio.create_task(h.app.stop())
        await asyncio.wait_for(engine.done("other").wait(), 5)
        assert not stopping.done()
        held.set()
        await asyncio.wait_for(stopping, 5)
        assert engine.finished.index("held") < engine.finished.index("queued")
        assert h.api.texts(A) == ["echo held", "echo queued"]


async def test_nothing_is_kept_per_chat_once_its_updates_are_handled() -> None:
    """PTB notes every chat and user id for its persistence even when there is none; the
    service's application does not, so memory does not grow with the chats it has served."""
    engine = ScriptedEngine(script=lambda sender, event: Handled(replies=[Reply("hi")]))
    async with running(engine) as h:
        for chat in range(1000, 1050):
            await h.send(h.api.user_text(chat, "hello"))
        assert len(h.api.calls) >= 50
        assert h.app._chat_ids_to_be_updated_in_persistence == set()
        assert h.app._user_ids_to_be_updated_in_persistence == set()
