"""More of the real dialog through the real Application (respx fake Bot API, telegram_harness):
several appointments at once, the optional reason, /stop, "Send a new code", a phone that is not
on the record, no appointments, and the cancellation deadline.

Texts are matched against the English catalog (dialogs/catalogs) by key, so rewording a message
does not break these tests; what is asserted is the structure: Bot API calls, buttons, state, and
what reached the clinic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from dialogs.catalogs import en
from dialogs.clinic import CancelOutcome
from dialogs.machine import AWAITING_CODE, CHOOSE, IDENTIFY_NUMBER, IDLE
from tests.fake_bot_api import FakeBotApi
from tests.support.fake_clinic import CODE, PERSONAL_NUMBER, PHONE, FakeClinic, appointment
from tests.support.telegram_harness import Dialog, Harness, dialog, running

SANDBOX = 111
LIVE = 222


def says(text: str | None, key: str) -> bool:
    """`text` holds the catalog message `key`, whatever its placeholders were filled with."""
    parts = re.split(r"\{[^}]*\}", en.MESSAGES[key])
    return re.search(".*?".join(re.escape(part) for part in parts), text or "", re.S) is not None


def label(key: str) -> str:
    """A button label's fixed part, e.g. "Continue (" for "Continue ({count} selected)"."""
    return en.MESSAGES[key].split("{")[0]


def appointment_buttons(api: FakeBotApi, chat: int) -> list[str]:
    menus = api.with_buttons(chat)
    if not menus:
        return []
    return [data for text, data in menus[-1].buttons() if re.search(r"\d+\. ", text)]


def record_comments(clinic: FakeClinic) -> list[str | None]:
    """Make the fake clinic note the comment sent with each cancellation."""
    comments: list[str | None] = []
    cancel = clinic.cancel

    async def noting(appointment_ids: Sequence[str], comment: str | None) -> list[CancelOutcome]:
        comments.append(comment)
        return await cancel(appointment_ids, comment)

    clinic.cancel = noting  # type: ignore[method-assign]
    return comments


async def pick_all(h: Harness, chat: int) -> None:
    """ "Cancel several", then tick every appointment that has a button."""
    await h.send(h.api.press(chat, label("btn_several")))
    for index in range(len(appointment_buttons(h.api, chat))):
        menu = h.api.with_buttons(chat)[-1]  # each tick redraws it with fresh button data
        data = appointment_buttons(h.api, chat)[index]
        await h.send(h.api.user_press(chat, menu.message_id, data))


async def identify(h: Harness, *, phone: str = PHONE) -> None:
    await h.send(h.api.user_text(LIVE, "/start"))
    await h.send(h.api.user_contact(LIVE, phone, contact_user_id=LIVE))
    await h.send(h.api.user_text(LIVE, PERSONAL_NUMBER))


async def sandbox_list(h: Harness) -> None:
    await h.send(h.api.user_text(SANDBOX, "/start"))
    await h.send(h.api.press(SANDBOX, "Test Testsson"))
    assert says(h.api.last(SANDBOX).text, "list_choose")


def on_telegram(d: Dialog) -> AbstractAsyncContextManager[Harness]:
    return running(d.engine, agent=d.agent)


async def test_several_appointments_with_a_reason_in_one_bulk_cancel() -> None:
    d = dialog(frozenset(), two_step=False)
    comments = record_comments(d.live_clinic)
    async with on_telegram(d) as h:
        api = h.api
        await identify(h)
        assert len(appointment_buttons(api, LIVE)) == 2  # the third is inside the deadline
        menu = api.with_buttons(LIVE)[-1]
        await pick_all(h, LIVE)
        assert api.with_buttons(LIVE) == [menu]  # ticked in place
        go = [t for t, _ in menu.buttons() if t.startswith(label("btn_continue_other"))]
        assert len(go) == 1 and "2" in go[0]
        await h.send(api.press(LIVE, label("btn_continue_other")))
        assert says(menu.text, "confirm_many")  # the list became the question, in place
        await h.send(api.press(LIVE, label("btn_reason")))
        assert says(api.last(LIVE).text, "ask_reason")
        await h.send(api.user_text(LIVE, "Feeling better"))
        confirm = api.with_buttons(LIVE)[-1]
        assert says(confirm.text, "confirm_reason") and "Feeling better" in (confirm.text or "")
        await h.send(api.press(LIVE, label("btn_yes")))
        outcome = api.last(LIVE).text
        assert outcome is not None and outcome.count(label("outcome_cancelled")) == 2
        assert d.engine.state(LIVE) not in (CHOOSE, AWAITING_CODE)
    assert [c for c in d.live_clinic.calls if c.startswith("cancel")] == ["cancel:a-1,a-2"]
    assert comments == ["Feeling better"]
    assert [outcome for _, outcome in d.engine.audits].count("cancelled") == 2
    assert [m.message_id for m in api.with_buttons(LIVE)] == [api.last(LIVE).message_id]


async def test_several_awaiting_codes_are_asked_one_after_another() -> None:
    d = dialog(frozenset({SANDBOX}))
    async with on_telegram(d) as h:
        api = h.api
        await sandbox_list(h)
        await pick_all(h, SANDBOX)
        await h.send(api.press(SANDBOX, label("btn_continue_other")))
        await h.send(api.press(SANDBOX, label("btn_yes")))
        assert len([t for t in api.texts(SANDBOX) if CODE in t]) == 2  # two SMS shown
        await h.send(api.user_text(SANDBOX, CODE))
        assert any(says(m.text, "ask_code_next") for m in api.bot_messages(SANDBOX))
        assert d.engine.state(SANDBOX) == AWAITING_CODE
        await h.send(api.user_text(SANDBOX, CODE))
        assert d.engine.state(SANDBOX) != AWAITING_CODE
    assert [c for c in d.sandbox_clinic.calls if c.startswith("cancel")] == ["cancel:a-1,a-2"]
    assert [c for c in d.sandbox_clinic.calls if c.startswith("confirm")] == [
        "confirm:n-1",
        "confirm:n-2",
    ]


async def test_skip_the_reason_sends_no_comment() -> None:
    d = dialog(frozenset(), two_step=False)
    comments = record_comments(d.live_clinic)
    async with on_telegram(d) as h:
        await identify(h)
        await h.send(h.api.press(LIVE, "2. "))
        await h.send(h.api.press(LIVE, label("btn_reason")))
        await h.send(h.api.press(LIVE, label("btn_skip")))
        assert says(h.api.last(LIVE).text, "confirm_one")
        await h.send(h.api.press(LIVE, label("btn_yes")))
    assert comments == [None]


async def test_stop_while_a_code_is_awaited_cancels_nothing_more() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        api = h.api
        await identify(h)
        await h.send(api.press(LIVE, "2. "))
        await h.send(api.press(LIVE, label("btn_yes")))
        assert d.engine.state(LIVE) == AWAITING_CODE
        asking = api.with_buttons(LIVE)[-1]
        await h.send(api.user_text(LIVE, "/stop"))
        assert d.engine.state(LIVE) == IDLE
        assert asking.inline_keyboard is None  # its buttons retired
        assert api.with_buttons(LIVE) == []
        scheduler = h.adapter.scheduler
        assert scheduler is not None and len(scheduler) == 0  # no expiry left to announce
        await h.send(api.user_text(LIVE, CODE))  # too late: the step is gone
    assert not any(c.startswith("confirm") for c in d.live_clinic.calls)


async def test_stop_when_idle_and_while_choosing() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        await h.send(h.api.user_text(LIVE, "/stop"))
        assert says(h.api.last(LIVE).text, "stopped_idle")
        await identify(h)
        await h.send(h.api.user_text(LIVE, "/stop"))
        assert says(h.api.last(LIVE).text, "stopped_nothing")
        assert h.api.with_buttons(LIVE) == []
        assert d.engine.state(LIVE) == IDLE
    assert not any(c.startswith("cancel") for c in d.live_clinic.calls)


async def test_send_a_new_code_repeats_the_cancel_then_the_new_code_works() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        api = h.api
        await identify(h)
        await h.send(api.press(LIVE, "2. "))
        await h.send(api.press(LIVE, label("btn_yes")))
        asking = api.with_buttons(LIVE)[-1]
        assert {t for t, _ in asking.buttons()} >= {label("btn_resend"), label("btn_keep_pending")}
        sent = len(api.sent("sendMessage"))
        await h.send(api.press(LIVE, label("btn_resend")))
        assert d.engine.state(LIVE) == AWAITING_CODE
        assert len(api.sent("sendMessage")) == sent  # the question is edited in place
        assert [m.message_id for m in api.with_buttons(LIVE)] == [asking.message_id]
        await h.send(api.user_text(LIVE, CODE))
        assert says(api.last(LIVE).text, "outcome_cancelled")
    cancels = [c for c in d.live_clinic.calls if c.startswith("cancel")]
    assert cancels == ["cancel:a-1", "cancel:a-1"]  # the same appointment, a new code
    assert [c for c in d.live_clinic.calls if c.startswith("confirm")] == ["confirm:n-2"]


async def test_new_codes_are_capped_per_appointment() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        await identify(h)
        await h.send(h.api.press(LIVE, "2. "))
        await h.send(h.api.press(LIVE, label("btn_yes")))
        for _ in range(5):  # code_resends_per_day is 3
            await h.send(h.api.press(LIVE, label("btn_resend")))
            if says(h.api.last(LIVE).text, "resend_limit"):
                break
        assert says(h.api.last(LIVE).text, "resend_limit")
        cancels = [c for c in d.live_clinic.calls if c.startswith("cancel")]
        assert 2 <= len(cancels) <= 4  # the first code and at most three new ones
        await h.send(h.api.press(LIVE, label("btn_resend")))
        assert says(h.api.last(LIVE).text, "resend_limit")
    assert [c for c in d.live_clinic.calls if c.startswith("cancel")] == cancels


async def test_a_phone_not_on_the_record_links_nothing() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        await h.send(h.api.user_text(LIVE, "/start"))
        await h.send(h.api.user_contact(LIVE, "+46709999999", contact_user_id=LIVE))
        number = h.api.user_text(LIVE, PERSONAL_NUMBER)
        await h.send(number)
        assert says(h.api.last(LIVE).text, "identity_failed")
        assert h.api.chats[LIVE].messages[number["message"]["message_id"]].deleted
        assert d.engine.state(LIVE) == IDENTIFY_NUMBER
        assert h.api.with_buttons(LIVE) == []
    assert d.engine.links == {}
    assert d.live_clinic.calls == ["find_patient"]  # no appointments were read


async def test_no_appointments_says_so() -> None:
    d = dialog(frozenset())
    d.live_clinic.appointments = []
    async with on_telegram(d) as h:
        await identify(h)
        assert says(h.api.last(LIVE).text, "no_appointments")
        assert appointment_buttons(h.api, LIVE) == []
        assert d.engine.state(LIVE) != CHOOSE
    assert d.engine.links == {LIVE: "p-1"}
    assert not any(c.startswith("cancel") for c in d.live_clinic.calls)


async def test_inside_the_deadline_shown_without_a_button_and_never_cancelled() -> None:
    d = dialog(frozenset())
    async with on_telegram(d) as h:
        await identify(h)
        menu = h.api.with_buttons(LIVE)[-1]
        assert says(menu.text, "list_deadline_note")
        assert "1. " in (menu.text or "")  # listed
        assert [t for t in [t for t, _ in menu.buttons()] if t.startswith("1. ")] == []
        await h.send(h.api.user_text(LIVE, "1"))  # typed instead of tapped
        assert d.engine.state(LIVE) == CHOOSE
        assert says(h.api.last(LIVE).text, "use_buttons")
    assert not any(c.startswith("cancel") for c in d.live_clinic.calls)


async def test_only_appointments_inside_the_deadline_refer_to_the_phone() -> None:
    d = dialog(frozenset())
    d.live_clinic.appointments = [appointment(3, 0.5)]
    async with on_telegram(d) as h:
        await identify(h)
        shown = h.api.last(LIVE).text
        assert says(shown, "list_deadline_note") and says(shown, "none_cancellable")
        assert appointment_buttons(h.api, LIVE) == []
    assert not any(c.startswith("cancel") for c in d.live_clinic.calls)
