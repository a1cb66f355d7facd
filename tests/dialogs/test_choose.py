"""Choosing what to cancel: which appointments are offered, the deadline, several at once, none at
all. Whole conversations against the fake clinic."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.events import Button, Command, Contact, Text
from tests.support.dialog_driver import Driver, cancels, to_state
from tests.support.fake_clinic import CLINIC_PHONE, PERSONAL_NUMBER, PHONE, FakeClinic, appointment


async def test_deadline_appointments_are_shown_but_never_cancellable() -> None:
    driver = await to_state(m.CHOOSE)
    assert "🔒" in driver.text()
    assert not any(o.label.startswith("1.") for o in driver.options())
    await driver.send(Button(f"{driver.ctx.generation}:a0"))  # forged: the locked one
    await driver.send(Text("1"))
    assert driver.state == m.CHOOSE and cancels(driver) == []


async def test_only_future_booked_ones_are_offered_and_other_statuses_shown_as_is() -> None:
    clinic = FakeClinic(
        appointments=[
            appointment(1, 3),
            appointment(2, 4, "arrived"),
            appointment(3, -2),
            appointment(4, 5, "cancelled"),
        ]
    )
    driver = Driver(clinic=clinic)
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert "(arrived)" in driver.text()
    assert [o.label[:2] for o in driver.options()] == ["1."]


async def test_several_at_once_never_includes_one_waiting_for_its_code() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("start"))
    await driver.press("Cancel several")
    assert not any("⏳" in o.label for o in driver.options())
    await driver.send(Button(f"{driver.ctx.generation}:a1"))  # forged: the waiting one
    assert driver.ctx.selected == []


async def test_bulk_is_one_call_with_every_selected_id_and_a_comment() -> None:
    driver = await to_state(m.CHOOSE, two_step=False)
    driver.clinic.appointments.append(appointment(4, 20))
    await driver.send(Command("start"))
    await driver.press("Cancel several")
    await driver.press("2.")
    await driver.press("3.")
    await driver.press("Continue (2 selected)")
    await driver.press("Add a reason")
    await driver.send(Text("moving away"))
    await driver.press("Yes, cancel")
    assert cancels(driver) == ["cancel:a-1,a-2"]
    assert driver.text().count("✅ Cancelled:") == 2


async def test_no_appointments() -> None:
    driver = Driver(clinic=FakeClinic(appointments=[]))
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.OUTCOME and "no upcoming appointments" in driver.text()
    assert "+46 8 123 456 00" in driver.text()
    assert "Try again" not in [o.label for o in driver.options()]


async def test_no_appointments_ends_with_the_phone_and_no_pointless_retry() -> None:
    driver = Driver(clinic=FakeClinic(appointments=[]))
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert "nothing to cancel" in driver.text() and CLINIC_PHONE in driver.text()
    assert driver.options() == []
