"""The real dialog through the real `telegram.ext.Application`, on the respx fake Bot API.

Storage and clinic are in memory (tests/support/telegram_harness.py: `MemoryEngine` keeps
`bot.engine.Engine`'s contract; `FakeClinic` is the dialog tests' clinic). What is checked is what
the patient sees: messages, edits, buttons, deletions, and what reaches the clinic.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.telegram.ordering import ChatTick
from bot.telegram.texts import SANDBOX_MARK
from dialogs.machine import AWAITING_CODE, CHOOSE, IDENTIFY_CONTACT, IDENTIFY_NUMBER
from tests.fake_bot_api import FakeBotApi
from tests.support.fake_clinic import CODE, PERSONAL_NUMBER, PHONE
from tests.support.telegram_harness import Harness, dialog, running

SANDBOX = 111
LIVE = 222


def _marked(api: FakeBotApi, chat: int) -> bool:
    return all((m.text or "").startswith(f"{SANDBOX_MARK}\n") for m in api.bot_messages(chat))


async def _to_confirm(h: Harness, chat: int) -> None:
    """From the appointment list: pick the first one that can be cancelled (number 1 starts
    within the cancellation deadline: shown, without a button)."""
    menu = h.api.with_buttons(chat)[-1]
    first = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
    await h.send(h.api.user_press(chat, menu.message_id, first))
    assert "Do you want to cancel this appointment?" in (h.api.last(chat).text or "")


async def _sandbox_list(h: Harness) -> None:
    await h.send(h.api.user_text(SANDBOX, "/start"))
    assert "pick a test patient" in (h.api.last(SANDBOX).text or "")
    await h.send(h.api.press(SANDBOX, "Test Testsson"))
    assert "Which appointment" in (h.api.last(SANDBOX).text or "")


async def test_sandbox_two_step_cancellation() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await _sandbox_list(h)
        # the patient picker was edited into the list: one message so far
        assert len(h.api.bot_messages(SANDBOX)) == 1
        await _to_confirm(h, SANDBOX)
        await h.send(h.api.press(SANDBOX, "Yes"))
        texts = h.api.texts(SANDBOX)
        assert "We have sent an SMS with a code" in texts[0]
        assert texts[1].startswith(f"{SANDBOX_MARK}\n📨 SMS to the test patient's phone")
        assert CODE in texts[1]
        assert d.engine.state(SANDBOX) == AWAITING_CODE

        typed = h.api.user_text(SANDBOX, f"code: {CODE[:3]} {CODE[3:]}")
        await h.send(typed)
        assert h.api.chats[SANDBOX].messages[typed["message"]["message_id"]].deleted
        assert "✅ Cancelled" in (h.api.last(SANDBOX).text or "")
    assert _marked(h.api, SANDBOX)
    assert ("confirm:n-1") in d.sandbox_clinic.calls
    # every press answered; only the newest message keeps buttons
    assert len(h.api.answered) == len(h.api.sent("answerCallbackQuery")) == 3
    assert [m.message_id for m in h.api.with_buttons(SANDBOX)] == [h.api.last(SANDBOX).message_id]


async def test_sandbox_agent_commands_one_step_and_faults() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await h.send(h.api.user_text(SANDBOX, "/sandbox_onestep"))
        assert (
            h.api.last(SANDBOX).text == f"{SANDBOX_MARK}\nThe sandbox EHR now cancels in onestep."
        )
        await _sandbox_list(h)
        await _to_confirm(h, SANDBOX)
        await h.send(h.api.press(SANDBOX, "Yes"))
        assert "✅ Cancelled" in (h.api.last(SANDBOX).text or "")
        assert not any("SMS to the test patient" in t for t in h.api.texts(SANDBOX))

        await h.send(h.api.user_text(SANDBOX, "/sandbox_fail timeout"))
        outcome = h.api.with_buttons(SANDBOX)[-1]
        await h.send(h.api.press(SANDBOX, "Cancel another"))
        assert "can't reach the clinic's system" in (outcome.text or "")
        await h.send(h.api.user_text(SANDBOX, "/sandbox_reset"))
        assert h.api.last(SANDBOX).text == f"{SANDBOX_MARK}\nSandbox data reset."
        # an unknown slash command is not the agent's: it goes to the dialog
        await h.send(h.api.user_text(SANDBOX, "/nonsense"))
        assert "I don't know that command" in (h.api.last(SANDBOX).text or "")
    assert [name for _, name, _ in d.agent.calls] == [
        "sandbox_onestep",
        "start",  # asked first; not an agent command, so it went on to the dialog
        "sandbox_fail",
        "sandbox_reset",
        "nonsense",
    ]
    assert d.agent.calls[2][2] == ["timeout"]
    assert _marked(h.api, SANDBOX)


async def test_non_sandbox_chats_never_reach_the_agent_or_the_emulator() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        for command in ("/sandbox_reset", "/sandbox_fail timeout", "/sandbox_onestep", "/sandbox"):
            await h.send(h.api.user_text(LIVE, command))
            assert "I don't know that command" in (h.api.last(LIVE).text or "")
        await h.send(h.api.user_text(LIVE, "/start"))
        assert h.api.chats[LIVE].reply_keyboard is not None  # identify: share your phone
    assert d.agent.calls == []
    assert d.sandbox_clinic.calls == [] and d.sandbox_clinic.fail_next == []
    assert d.sandbox_clinic.two_step  # not switched by the live chat
    assert not any(SANDBOX_MARK in t for t in h.api.texts(LIVE))
    assert d.agent.inbox.get(LIVE) is None


async def test_identify_with_contact_then_two_step_cancellation() -> None:
    d = dialog(frozenset())
    async with running(d.engine, agent=d.agent) as h:
        api = h.api
        await h.send(api.user_text(LIVE, "/start"))
        keyboard = api.chats[LIVE].reply_keyboard
        assert keyboard is not None and keyboard["keyboard"][0][0]["request_contact"] is True
        assert d.engine.state(LIVE) == IDENTIFY_CONTACT

        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE + 1))  # someone else's
        assert "someone else's contact" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].reply_keyboard is not None
        assert d.engine.state(LIVE) == IDENTIFY_CONTACT

        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE))  # their own
        assert "personal identity number" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].reply_keyboard is None  # the contact keyboard was removed
        assert d.engine.state(LIVE) == IDENTIFY_NUMBER

        typed = api.user_text(LIVE, f"{PERSONAL_NUMBER[:8]}-{PERSONAL_NUMBER[8:]}")
        await h.send(typed)
        assert api.chats[LIVE].messages[typed["message"]["message_id"]].deleted
        assert d.engine.state(LIVE) == CHOOSE
        assert d.engine.links == {LIVE: "p-1"}

        await _to_confirm(h, LIVE)
        await h.send(api.press(LIVE, "Yes"))
        assert "We have sent an SMS" in (api.last(LIVE).text or "")
        wrong = api.user_text(LIVE, "000000")
        await h.send(wrong)
        assert "4 tries left" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].messages[wrong["message"]["message_id"]].deleted
        right = api.user_text(LIVE, CODE)
        await h.send(right)
        assert api.chats[LIVE].messages[right["message"]["message_id"]].deleted
        assert "✅ Cancelled" in (api.last(LIVE).text or "")
    assert ("confirm:n-1") in d.live_clinic.calls
    assert d.agent.calls == [] and d.agent.inbox == {}
    assert (LIVE, "cancelled") in d.engine.audits


async def test_stale_button_never_acts() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await _sandbox_list(h)
        menu = h.api.with_buttons(SANDBOX)[-1]
        stale = next(data for label, data in menu.buttons() if label.startswith("2."))
        await h.send(h.api.user_text(SANDBOX, "/start"))  # a fresh list, new buttons
        assert menu.inline_keyboard is None  # the old list's buttons were retired
        await h.send(h.api.user_press(SANDBOX, menu.message_id, stale))
        assert (menu.text or "").startswith(
            f"{SANDBOX_MARK}\nThat button is from an earlier message"
        )
        assert d.engine.state(SANDBOX) == CHOOSE
        assert len(h.api.with_buttons(SANDBOX)) == 1
    assert not any(call.startswith("cancel") for call in d.sandbox_clinic.calls)


async def test_double_tap_cancels_and_texts_once() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await _sandbox_list(h)
        await _to_confirm(h, SANDBOX)
        confirm = h.api.with_buttons(SANDBOX)[-1]
        yes = next(data for label, data in confirm.buttons() if label.startswith("Yes"))
        first = h.api.user_press(SANDBOX, confirm.message_id, yes)
        second = h.api.user_press(SANDBOX, confirm.message_id, yes)
        await h.feed(first)  # through the update processor, as polling delivers them
        await h.feed(second)
        await h.drained()
        sms = [t for t in h.api.texts(SANDBOX) if "SMS to the test patient" in t]
        assert len(sms) == 1
        assert "That button is from an earlier message" in (confirm.text or "")
    assert [c for c in d.sandbox_clinic.calls if c.startswith("cancel")] == ["cancel:a-1"]
    answered = {first["callback_query"]["id"], second["callback_query"]["id"]}
    assert h.api.answered == answered | (h.api.answered - answered)
    assert answered <= h.api.answered


async def test_redelivered_update_is_not_handled_twice() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await _sandbox_list(h)
        await _to_confirm(h, SANDBOX)
        press = h.api.press(SANDBOX, "Yes")
        await h.send(press)
        sent = len(h.api.sent("sendMessage"))
        await h.send(press)  # Telegram delivers it again (e.g. after a crash before confirming)
        assert len(h.api.sent("sendMessage")) == sent
    assert [c for c in d.sandbox_clinic.calls if c.startswith("cancel")] == ["cancel:a-1"]


async def test_code_expiry_tick_reaches_the_chat() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await _sandbox_list(h)
        await _to_confirm(h, SANDBOX)
        await h.send(h.api.press(SANDBOX, "Yes"))
        scheduler = h.adapter.scheduler
        assert scheduler is not None and len(scheduler) == 1  # woken when the code expires
        later = d.engine.clock() + timedelta(hours=1)
        d.engine.clock = lambda: later
        await h.app.update_queue.put(ChatTick(SANDBOX))
        await h.drained()
        last = h.api.last(SANDBOX).text or ""
        assert "The code has expired." in last
        assert re.search(r"Send a new code", " ".join(b for b, _ in h.api.last(SANDBOX).buttons()))


async def test_language_follows_telegram_then_choice() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with running(d.engine, agent=d.agent) as h:
        await h.send(h.api.user_text(SANDBOX, "/help", language="sv"))
        assert "/start" in (h.api.texts(SANDBOX)[0])
        await h.send(h.api.user_text(SANDBOX, "/language", language="sv"))
        await h.send(h.api.press(SANDBOX, "English"))
        assert "I will speak English from now on." in (h.api.last(SANDBOX).text or "")
