"""Defence in depth: a button press in a private chat whose presser is not that chat's user
(which real Telegram never sends) is answered, so the spinner stops, but never acted on."""

from __future__ import annotations

from tests.support.telegram_harness import ScriptedEngine, running

A = 1001


async def test_a_press_by_someone_else_is_answered_but_not_acted_on() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        menu = h.api.last(A).message_id
        await h.send(h.api.user_press(A, menu, "1:ok", user_id=666))
        await h.send(h.api.user_press(A, menu, "1:ok"))
    assert [name for _, name, _ in engine.seen] == ["/start", "button:1:ok"]
    assert len(h.api.sent("answerCallbackQuery")) == 2
