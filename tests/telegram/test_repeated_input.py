"""Input that comes twice or too late, on Telegram with the real bot behind the Application
(`tests/support/telegram_harness.py`): a button from an old message, a double tap, an update
Telegram delivers again. None of them acts twice.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.telegram.texts import SANDBOX_MARK
from dialogs.machine import CHOOSE
from tests.support.telegram_harness import Harness, patches, real_bot

SANDBOX = 111


async def sandbox_list(h: Harness) -> None:
    await h.send(h.api.user_text(SANDBOX, "/start"))
    await h.send(h.api.press(SANDBOX, "Astrid Testsson"))
    assert "Which appointment" in (h.api.last(SANDBOX).text or "")


async def to_confirm(h: Harness) -> None:
    """Pick the first appointment that can be cancelled (number 1 is inside the deadline)."""
    menu = h.api.with_buttons(SANDBOX)[-1]
    first = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
    await h.send(h.api.user_press(SANDBOX, menu.message_id, first))
    assert "Do you want to cancel this appointment?" in (h.api.last(SANDBOX).text or "")


async def test_stale_button_never_acts(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        await sandbox_list(h)
        menu = h.api.with_buttons(SANDBOX)[-1]
        stale = next(data for label, data in menu.buttons() if label.startswith("2."))
        await h.send(h.api.user_text(SANDBOX, "/start"))  # a fresh list, new buttons
        assert menu.inline_keyboard is None  # the old list's buttons were retired
        await h.send(h.api.user_press(SANDBOX, menu.message_id, stale))
        assert (menu.text or "").startswith(
            f"{SANDBOX_MARK}\nThat button is from an earlier message"
        )
        assert await d.state(SANDBOX) == CHOOSE
        assert len(h.api.with_buttons(SANDBOX)) == 1
    assert patches(d.sandbox) == []


async def test_double_tap_cancels_and_texts_once(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        await sandbox_list(h)
        await to_confirm(h)
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
    [texted] = d.sandbox.outbox()
    assert patches(d.sandbox) == [texted.appointment_id]
    answered = {first["callback_query"]["id"], second["callback_query"]["id"]}
    assert h.api.answered == answered | (h.api.answered - answered)
    assert answered <= h.api.answered


async def test_redelivered_update_is_not_handled_twice(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        await sandbox_list(h)
        await to_confirm(h)
        press = h.api.press(SANDBOX, "Yes")
        await h.send(press)
        sent = len(h.api.sent("sendMessage"))
        await h.send(press)  # Telegram delivers it again (e.g. after a crash before confirming)
        assert len(h.api.sent("sendMessage")) == sent
    [texted] = d.sandbox.outbox()
    assert patches(d.sandbox) == [texted.appointment_id]
