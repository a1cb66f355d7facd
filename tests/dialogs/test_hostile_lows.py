"""Issue 15's low findings, each where its cause was: odd digits, numbers left in the chat,
padding that hid a reason's end, and code guesses past the daily cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dialogs import machine as m
from dialogs import next_wake
from dialogs.events import Button, Command, Contact, Text, Tick
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import PATIENT_ID, PERSONAL_NUMBER, PHONE, FakeClinic, appointment

ETHIOPIC_ONE = "\u1369"  # isdigit() is true, int() refuses it


async def test_an_ethiopic_digit_is_not_a_list_number_typed_or_forged() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Text(ETHIOPIC_ONE))
    assert driver.state == m.CHOOSE and "choose one of the options" in driver.text()
    await driver.send(Button(f"{driver.ctx.generation}:a{ETHIOPIC_ONE}"))
    assert driver.state == m.CHOOSE
    await driver.send(Button(f"{driver.ctx.generation}:p{ETHIOPIC_ONE}"))
    assert driver.state == m.CHOOSE


async def test_a_personal_number_typed_at_any_identity_moment_is_deleted() -> None:
    driver = Driver()
    assert (await driver.send(Text(PERSONAL_NUMBER))).delete_user_message  # before /start
    assert driver.state == m.IDENTIFY_CONTACT
    assert (await driver.send(Text(PERSONAL_NUMBER))).delete_user_message  # before the phone
    assert not (await driver.send(Text("hello"))).delete_user_message
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    assert (await driver.send(Text("19121212-1213"))).delete_user_message  # a typo
    for _ in range(6):
        await driver.send(Text("198112189876"))  # valid, someone else's: locks
    locked = await driver.send(Text(PERSONAL_NUMBER))
    assert locked.delete_user_message and driver.state == m.IDENTIFY_NUMBER


async def test_control_characters_cannot_hide_the_end_of_a_reason() -> None:
    driver = await to_state(m.REASON)
    reason = "I am feeling much better now. " * 10
    await driver.send(Text("\x00" * 700 + reason))
    assert driver.state == m.CONFIRM
    assert driver.ctx.comment == reason.strip()


async def test_an_older_pending_id_the_ehr_still_lists_gets_no_fresh_tries() -> None:
    clinic = FakeClinic(two_step=True)
    driver = Driver(clinic=clinic)
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    await driver.press("2.")
    await driver.press("Yes, cancel")
    for _ in range(3):
        await driver.send(Text("000000"))
    assert driver.ctx.pending[0].attempts_left == 2
    await driver.press("Don't cancel")
    newest = next(a for a in clinic.appointments if a.status == "awaiting_confirmation")
    older = replace(newest, id="n-old")
    clinic.pending["n-old"] = clinic.pending[newest.id]
    clinic.appointments = [a for a in clinic.appointments if a.id != newest.id]
    clinic.appointments += [newest, older]  # the older one, still valid, listed last
    await driver.send(Command("start"))
    await driver.press("2.")
    assert driver.state == m.AWAITING_CODE
    assert driver.ctx.pending[0].attempts_left == 2


async def test_a_hundred_and_twenty_appointments_go_by_pages_within_telegrams_limits() -> None:
    clinic = FakeClinic(appointments=[appointment(i, 2 + i / 10) for i in range(1, 121)])
    driver = Driver(clinic=clinic)
    driver.ctx.patient_id, driver.ctx.linked_at = PATIENT_ID, driver.now
    await driver.send(Command("start"))
    assert driver.state == m.CHOOSE
    reply = driver.last.replies[-1]
    assert len(reply.text) < 4096 and sum(len(row) for row in reply.options) <= 20
    assert "1–10 of 120" in reply.text and "11." not in reply.text
    await driver.press("Later ›")
    assert "11–20 of 120" in driver.text() and "11." in driver.text()
    await driver.press("‹ Earlier")
    assert "1–10 of 120" in driver.text()
    await driver.send(Text("25"))  # a number from another page is still that appointment
    assert driver.state == m.CONFIRM and driver.ctx.selected == ["a-25"]


async def test_a_reason_left_at_the_confirmation_is_forgotten_and_the_patient_told() -> None:
    driver = await to_state(m.REASON)
    result = await driver.send(Text("I feel better"))
    assert driver.ctx.comment == "I feel better"
    assert result.wake_at == driver.now + timedelta(minutes=30)
    driver.later(minutes=31)
    ticked = await driver.send(Tick())
    assert driver.ctx.comment is None and driver.ctx.comment_until is None
    assert "reason you typed was removed" in driver.text() and ticked.wake_at is None
    assert driver.state == m.CONFIRM
    assert next_wake(driver.state, driver.ctx) is None
