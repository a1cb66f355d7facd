"""A Bot API failure after the step was stored (a cancel may have gone out) is not "your last
message was not handled": the patient is told the truth, and the wake-up is still set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.bench.fake_bot_api import ApiError
from bot.engine import Handled, Sender
from dialogs.events import Event
from dialogs.replies import Reply
from tests.support.telegram_harness import ScriptedEngine, running

A = 1001


async def test_an_answer_the_bot_api_refused_is_followed_by_the_truth() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        h.api.fail_next("sendMessage", ApiError(400, "Bad Request: something odd"))
        await h.send(h.api.user_text(A, "yes"))
    shown = h.api.last(A).text or ""
    assert "was handled" in shown and "not handled" not in shown
    assert engine.finished == ["yes"]


async def test_a_wake_up_is_set_even_when_the_answer_could_not_be_shown() -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)

    def step(sender: Sender, event: Event) -> Handled:
        return Handled(replies=[Reply("type the code")], wake_at=later, awaits_code=True)

    async with running(ScriptedEngine(script=step)) as h:
        h.api.fail_next("sendMessage", ApiError(400, "Bad Request: something odd"))
        await h.send(h.api.user_text(A, "yes"))
        assert h.adapter.scheduler is not None and len(h.adapter.scheduler) == 1


async def test_a_blocked_bot_says_nothing_more() -> None:
    async with running(ScriptedEngine()) as h:
        h.api.fail_next("sendMessage", ApiError(403, "Forbidden: bot was blocked by the user"))
        await h.send(h.api.user_text(A, "hello"))
    assert h.api.bot_messages(A) == []
