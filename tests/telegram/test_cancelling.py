"""A patient cancels on Telegram: the real dialog, engine and storage behind the real
Application (respx fake Bot API), the clinic's Leyr played by the emulator (see
`tests/support/telegram_harness.py`). Identity by contact and personal number, one or several
appointments, the optional reason, the SMS code (wrong, new, expired), /stop, no appointments, the
cancellation deadline, the language.

Texts are matched against the English catalog (dialogs/locale) by key, so rewording a message
does not break these tests; what is asserted is the structure: Bot API calls, buttons, state, and
what reached the clinic's EHR.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bench.fake_bot_api import FakeBotApi
from bot.sandbox.emulator import Emulator
from bot.telegram.ordering import ChatTick
from dialogs.i18n import translations
from dialogs.machine import AWAITING_CODE, CHOOSE, IDENTIFY_CONTACT, IDENTIFY_NUMBER, IDLE
from tests.support.telegram_harness import (
    BENGT,
    CECILIA,
    PERSONAL_NUMBER,
    PHONE,
    Harness,
    patches,
    real_bot,
)

LIVE = 222
SANDBOX = 111
EHR = "sandbox"  # the EHR the emulator playing the clinic's Leyr serves


def says(text: str | None, key: str) -> bool:
    """`text` holds the catalog message `key`, whatever its placeholders were filled with."""
    parts = re.split(r"\{[^}]*\}", translations("en").gettext(key))
    return re.search(".*?".join(re.escape(part) for part in parts), text or "", re.S) is not None


def label(key: str, count: int | None = None) -> str:
    """A button label's fixed part, e.g. "Continue (" for "Continue ({count} selected)"; `count`
    picks a plural message's form."""
    catalog = translations("en")
    text = catalog.gettext(key) if count is None else catalog.ngettext(key, key, count)
    return text.split("{")[0]


def appointment_buttons(api: FakeBotApi, chat: int) -> list[str]:
    menus = api.with_buttons(chat)
    if not menus:
        return []
    return [data for text, data in menus[-1].buttons() if re.search(r"\d+\. ", text)]


def cancels(leyr: Emulator) -> list[str]:
    """The cancel PATCHes Leyr was sent: an appointment id, or "appointments" for a bulk."""
    pending = {sms.pending_id for sms in leyr.outbox()}
    return [target for target in patches(leyr) if target not in pending]


def confirms(leyr: Emulator) -> list[str]:
    """The PATCHes that confirmed a pending cancellation with its code."""
    pending = {sms.pending_id for sms in leyr.outbox()}
    return [target for target in patches(leyr) if target in pending]


async def pick_all(h: Harness, chat: int) -> int:
    """ "Cancel several", then tick every appointment that has a button; how many were ticked."""
    await h.send(h.api.press(chat, label("btn_several")))
    count = len(appointment_buttons(h.api, chat))
    for index in range(count):
        menu = h.api.with_buttons(chat)[-1]  # each tick redraws it with fresh button data
        data = appointment_buttons(h.api, chat)[index]
        await h.send(h.api.user_press(chat, menu.message_id, data))
    return count


async def identify(h: Harness, *, phone: str = PHONE, number: str = PERSONAL_NUMBER) -> None:
    await h.send(h.api.user_text(LIVE, "/start"))
    await h.send(h.api.user_contact(LIVE, phone, contact_user_id=LIVE))
    await h.send(h.api.user_text(LIVE, number))


async def test_identify_with_contact_then_two_step_cancellation(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        api = h.api
        await h.send(api.user_text(LIVE, "/start"))
        keyboard = api.chats[LIVE].reply_keyboard
        assert keyboard is not None and keyboard["keyboard"][0][0]["request_contact"] is True
        assert await d.state(LIVE) == IDENTIFY_CONTACT

        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE + 1))  # someone else's
        assert "someone else's contact" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].reply_keyboard is not None
        assert await d.state(LIVE) == IDENTIFY_CONTACT

        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE))  # their own
        assert "personal identity number" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].reply_keyboard is None  # the contact keyboard was removed
        assert await d.state(LIVE) == IDENTIFY_NUMBER

        typed = api.user_text(LIVE, f"{PERSONAL_NUMBER[:8]}-{PERSONAL_NUMBER[8:]}")
        await h.send(typed)
        assert api.chats[LIVE].messages[typed["message"]["message_id"]].deleted
        assert await d.state(LIVE) == CHOOSE
        assert await d.linked(LIVE) == "p-1001"

        await h.send(api.press(LIVE, "2. "))
        assert "Do you want to cancel this appointment?" in (api.last(LIVE).text or "")
        await h.send(api.press(LIVE, "Yes"))
        assert "We have sent an SMS" in (api.last(LIVE).text or "")
        [sms] = d.leyr.outbox(PHONE)
        wrong = api.user_text(LIVE, "000000" if sms.code != "000000" else "111111")
        await h.send(wrong)
        assert "4 tries left" in (api.last(LIVE).text or "")
        assert api.chats[LIVE].messages[wrong["message"]["message_id"]].deleted
        right = api.user_text(LIVE, sms.code)
        await h.send(right)
        assert api.chats[LIVE].messages[right["message"]["message_id"]].deleted
        assert "✅ Cancelled" in (api.last(LIVE).text or "")
    assert confirms(d.leyr) == [sms.pending_id, sms.pending_id]  # the wrong code, the right one
    assert d.agent is not None and d.agent.chats == [] and d.sandbox.calls == []
    assert "cancelled" in await d.outcomes(LIVE)


async def test_several_appointments_with_a_reason_in_one_bulk_cancel(tmp_path: Path) -> None:
    async with real_bot(tmp_path, two_step=False) as (d, h):
        api = h.api
        await identify(h)
        bookable = len(appointment_buttons(api, LIVE))
        assert bookable >= 2  # and the first, inside the deadline, has no button
        menu = api.with_buttons(LIVE)[-1]
        assert await pick_all(h, LIVE) == bookable
        assert api.with_buttons(LIVE) == [menu]  # ticked in place
        go = [t for t, _ in menu.buttons() if t.startswith(label("btn_continue", 2))]
        assert len(go) == 1 and str(bookable) in go[0]
        await h.send(api.press(LIVE, label("btn_continue", 2)))
        assert says(menu.text, "confirm_many")  # the list became the question, in place
        await h.send(api.press(LIVE, label("btn_reason")))
        assert says(api.last(LIVE).text, "ask_reason")
        await h.send(api.user_text(LIVE, "Feeling better"))
        confirm = api.with_buttons(LIVE)[-1]
        assert says(confirm.text, "confirm_reason") and "Feeling better" in (confirm.text or "")
        await h.send(api.press(LIVE, label("btn_yes")))
        outcome = api.last(LIVE).text
        assert outcome is not None and outcome.count(label("outcome_cancelled")) == bookable
        assert await d.state(LIVE) not in (CHOOSE, AWAITING_CODE)
    assert cancels(d.leyr) == ["appointments"]  # one bulk PATCH
    ehr = d.leyr.ehrs[EHR]
    cancelled = [r for r in ehr.appointments.values() if r.status == "cancelled" and r.comment]
    assert len(cancelled) == bookable
    assert {r.comment for r in cancelled} == {"Feeling better"}
    assert (await d.outcomes(LIVE)).count("cancelled") == bookable
    assert [m.message_id for m in api.with_buttons(LIVE)] == [api.last(LIVE).message_id]


async def test_several_awaiting_codes_are_asked_one_after_another(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        api = h.api
        await identify(h)
        count = await pick_all(h, LIVE)
        assert count >= 2
        await h.send(api.press(LIVE, label("btn_continue", 2)))
        await h.send(api.press(LIVE, label("btn_yes")))
        texts = d.leyr.outbox(PHONE)
        assert len(texts) == count  # one SMS per appointment
        for number, sms in enumerate(texts, start=1):
            await h.send(api.user_text(LIVE, sms.code))
            if number < count:
                assert any(says(m.text, "ask_code_next") for m in api.bot_messages(LIVE))
                assert await d.state(LIVE) == AWAITING_CODE
        assert await d.state(LIVE) != AWAITING_CODE
    assert cancels(d.leyr) == ["appointments"]
    assert confirms(d.leyr) == [sms.pending_id for sms in texts]


async def test_skip_the_reason_sends_no_comment(tmp_path: Path) -> None:
    async with real_bot(tmp_path, two_step=False) as (d, h):
        await identify(h)
        await h.send(h.api.press(LIVE, "2. "))
        await h.send(h.api.press(LIVE, label("btn_reason")))
        await h.send(h.api.press(LIVE, label("btn_skip")))
        assert says(h.api.last(LIVE).text, "confirm_one")
        await h.send(h.api.press(LIVE, label("btn_yes")))
    [cancelled] = cancels(d.leyr)
    record = d.leyr.appointment(EHR, cancelled)
    assert record is not None and record.status == "cancelled" and record.comment is None


async def test_stop_while_a_code_is_awaited_cancels_nothing_more(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        api = h.api
        await identify(h)
        await h.send(api.press(LIVE, "2. "))
        await h.send(api.press(LIVE, label("btn_yes")))
        assert await d.state(LIVE) == AWAITING_CODE
        asking = api.with_buttons(LIVE)[-1]
        await h.send(api.user_text(LIVE, "/stop"))
        assert await d.state(LIVE) == IDLE
        assert asking.inline_keyboard is None  # its buttons retired
        assert api.with_buttons(LIVE) == []
        scheduler = h.adapter.scheduler
        assert scheduler is not None and len(scheduler) == 0  # no expiry left to announce
        [sms] = d.leyr.outbox(PHONE)
        await h.send(api.user_text(LIVE, sms.code))  # too late: the step is gone
    assert confirms(d.leyr) == []


async def test_stop_when_idle_and_while_choosing(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        await h.send(h.api.user_text(LIVE, "/stop"))
        assert says(h.api.last(LIVE).text, "stopped_idle")
        await identify(h)
        await h.send(h.api.user_text(LIVE, "/stop"))
        assert says(h.api.last(LIVE).text, "stopped_nothing")
        assert h.api.with_buttons(LIVE) == []
        assert await d.state(LIVE) == IDLE
    assert patches(d.leyr) == []


async def test_send_a_new_code_repeats_the_cancel_then_the_new_code_works(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        api = h.api
        await identify(h)
        await h.send(api.press(LIVE, "2. "))
        await h.send(api.press(LIVE, label("btn_yes")))
        asking = api.with_buttons(LIVE)[-1]
        assert {t for t, _ in asking.buttons()} >= {label("btn_resend"), label("btn_keep_pending")}
        sent = len(api.sent("sendMessage"))
        await h.send(api.press(LIVE, label("btn_resend")))
        assert await d.state(LIVE) == AWAITING_CODE
        assert len(api.sent("sendMessage")) == sent  # the question is edited in place
        assert [m.message_id for m in api.with_buttons(LIVE)] == [asking.message_id]
        first, second = d.leyr.outbox(PHONE)
        await h.send(api.user_text(LIVE, second.code))
        assert says(api.last(LIVE).text, "outcome_cancelled")
    assert first.appointment_id == second.appointment_id
    assert cancels(d.leyr) == [first.appointment_id] * 2  # the same appointment, a new code
    assert confirms(d.leyr) == [second.pending_id]


async def test_new_codes_are_capped_per_appointment(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        await identify(h)
        await h.send(h.api.press(LIVE, "2. "))
        await h.send(h.api.press(LIVE, label("btn_yes")))

        def offered() -> list[str]:
            return [shown for shown, _ in h.api.with_buttons(LIVE)[-1].buttons()]

        for _ in range(5):  # code_resends_per_day is 3
            if label("btn_resend") not in offered():
                break
            await h.send(h.api.press(LIVE, label("btn_resend")))
        assert offered() == [label("btn_keep_pending")]  # no new code offered once none is left
        assert not says(h.api.last(LIVE).text, "resend_limit")  # the code just sent still works
        sent = cancels(d.leyr)
        assert len(sent) == 3  # the first code and two new ones: three SMS a day
    assert cancels(d.leyr) == sent


@pytest.mark.parametrize("with_lookup", [True, False])
async def test_a_phone_not_on_the_record_links_nothing(tmp_path: Path, with_lookup: bool) -> None:
    async with real_bot(tmp_path, leyr_list_with_lookup=with_lookup) as (d, h):
        await h.send(h.api.user_text(LIVE, "/start"))
        await h.send(h.api.user_contact(LIVE, "+46709999999", contact_user_id=LIVE))
        number = h.api.user_text(LIVE, PERSONAL_NUMBER)
        await h.send(number)
        assert says(h.api.last(LIVE).text, "identity_failed")
        assert h.api.chats[LIVE].messages[number["message"]["message_id"]].deleted
        assert await d.state(LIVE) == IDENTIFY_NUMBER
        assert h.api.with_buttons(LIVE) == []
        shown = [m.text or "" for m in h.api.chats[LIVE].messages.values()]
        assert not any("Dr " in text or "Nurse " in text for text in shown)
    assert await d.linked(LIVE) is None
    paths = [path for method, path in d.leyr.calls if method == "GET"]
    assert len(paths) == len(d.leyr.calls) and "/patients/" in paths[0]
    listed = [path for path in paths if path.endswith("/appointments")]
    assert len(listed) == (1 if with_lookup else 0)  # read beside the lookup, never shown


async def test_no_appointments_says_so(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        number, phone = CECILIA  # a test patient with no appointments
        await identify(h, phone=phone, number=number)
        assert says(h.api.last(LIVE).text, "no_appointments")
        assert appointment_buttons(h.api, LIVE) == []
        assert await d.state(LIVE) != CHOOSE
    assert await d.linked(LIVE) == "p-1003"
    assert patches(d.leyr) == []


async def test_inside_the_deadline_shown_without_a_button_and_never_cancelled(
    tmp_path: Path,
) -> None:
    async with real_bot(tmp_path) as (d, h):
        await identify(h)
        menu = h.api.with_buttons(LIVE)[-1]
        assert says(menu.text, "list_deadline_note")
        assert "1. " in (menu.text or "")  # listed
        assert [t for t in [t for t, _ in menu.buttons()] if t.startswith("1. ")] == []
        await h.send(h.api.user_text(LIVE, "1"))  # typed instead of tapped
        assert await d.state(LIVE) == CHOOSE
        assert says(h.api.last(LIVE).text, "chosen_deadline")  # why it cannot be chosen
    assert patches(d.leyr) == []


async def test_only_appointments_inside_the_deadline_refer_to_the_phone(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        number, phone = BENGT  # one appointment, some days ahead: the clock goes to its eve
        [only] = [r for r in d.leyr.ehrs[EHR].appointments.values() if r.patient_id == "p-1002"]
        d.clock.now = only.start - timedelta(hours=12)
        await identify(h, phone=phone, number=number)
        shown = h.api.last(LIVE).text
        assert says(shown, "list_deadline_note") and says(shown, "none_cancellable")
        assert appointment_buttons(h.api, LIVE) == []
    assert patches(d.leyr) == []


async def test_code_expiry_tick_reaches_the_chat(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (d, h):
        await identify(h)
        await h.send(h.api.press(LIVE, "2. "))
        await h.send(h.api.press(LIVE, "Yes"))
        scheduler = h.adapter.scheduler
        assert scheduler is not None and len(scheduler) == 1  # woken when the code expires
        d.clock.advance(hours=1)
        await h.app.update_queue.put(ChatTick(LIVE))
        await h.drained()
        last = h.api.last(LIVE).text or ""
        assert "The code has expired." in last
        assert re.search(r"Send a new code", " ".join(b for b, _ in h.api.last(LIVE).buttons()))


async def test_language_follows_telegram_then_choice(tmp_path: Path) -> None:
    async with real_bot(tmp_path) as (_d, h):
        await h.send(h.api.user_text(LIVE, "/help", language="sv"))
        assert "/start" in (h.api.texts(LIVE)[0])
        await h.send(h.api.user_text(LIVE, "/language", language="sv"))
        await h.send(h.api.press(LIVE, "English"))
        assert "I will speak English from now on." in (h.api.last(LIVE).text or "")
