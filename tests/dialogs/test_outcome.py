"""The gaps an audit found: the daily SMS cap, refusals, /stop and /start with a waiting code,
endings and wording. Whole conversations against the fake clinic."""

from __future__ import annotations

from datetime import UTC

from dialogs import machine as m
from dialogs.clinic import ClinicRefused, ClinicUnavailable
from dialogs.events import Button, Command, Contact, Text
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import CODE, PERSONAL_NUMBER, PHONE, FakeClinic, services

CLINIC_PHONE = "+46 8 123 456 00"


def patches(driver: Driver) -> list[str]:
    return [c for c in driver.clinic.calls if c.startswith("cancel:")]


def code_expires_at_the_ehr(clinic: FakeClinic) -> None:
    """The EHR drops a pending cancellation whose code expired: the original is plainly booked."""
    clinic.appointments = [a for a in clinic.appointments if a.id not in clinic.pending]
    clinic.pending = {}


async def cancel_the_second_again(driver: Driver) -> None:
    await driver.send(Command("start"))
    await driver.press("2.")
    if driver.state == m.CONFIRM:
        await driver.press("Yes, cancel")


async def test_restarting_and_cancelling_again_cannot_bypass_the_daily_sms_cap() -> None:
    driver = await to_state(m.AWAITING_CODE)  # one PATCH, one SMS
    await driver.press("Send a new code")  # two
    for _ in range(4):
        code_expires_at_the_ehr(driver.clinic)
        await cancel_the_second_again(driver)
    assert len(patches(driver)) == 3  # the cap, counted over both ways of asking for a code
    assert driver.state == m.OUTCOME
    assert "❌ Not cancelled" in driver.text() and "can't send more SMS codes" in driver.text()
    assert CLINIC_PHONE in driver.text()
    driver.later(days=1)
    await cancel_the_second_again(driver)
    assert len(patches(driver)) == 4 and driver.state == m.AWAITING_CODE


async def test_a_waiting_appointment_is_taken_up_again_not_cancelled_again() -> None:
    driver = await to_state(m.AWAITING_CODE)
    waiting = driver.ctx.pending[0].new_id
    await driver.send(Command("start"))
    assert "⏳" in driver.text() and "choose it to type the code" in driver.text()
    await driver.press("2.")
    assert driver.state == m.AWAITING_CODE and "earlier" in driver.text()
    assert len(patches(driver)) == 1  # no second SMS
    await driver.send(Text(CODE))
    assert driver.clinic.calls[-1] == f"confirm:{waiting}"
    assert "✅ Cancelled" in driver.text()


async def test_several_at_once_never_includes_one_waiting_for_its_code() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("start"))
    await driver.press("Cancel several")
    assert not any("⏳" in o.label for o in driver.options())
    await driver.send(Button(f"{driver.ctx.generation}:a1"))  # forged: the waiting one
    assert driver.ctx.selected == []


async def test_stop_while_a_code_is_awaited_drops_it() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("stop"))
    assert driver.ctx.pending == []
    assert [a.outcome for a in driver.last.audits] == ["abandoned"]
    assert "You stopped before entering the code, so it stays booked." in driver.text()
    assert CLINIC_PHONE in driver.text()
    await driver.send(Text(CODE))
    assert not any(c.startswith("confirm") for c in driver.clinic.calls)


async def test_a_code_taken_up_again_keeps_its_tries() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Text("999999"))
    await driver.send(Text("999999"))
    await driver.send(Command("stop"))
    await driver.send(Command("start"))
    await driver.press("2.")
    await driver.send(Text("999999"))
    assert "2 tries left" in driver.text()


async def test_a_refusal_shows_leyrs_reference_and_offers_to_try_again() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Add a reason")
    await driver.send(Text("moving away"))
    driver.clinic.fail_next.append(ClinicRefused("ref-77", "EMR_ERROR"))
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME
    assert "Reference: ref-77" in driver.text() and "answered with an error" in driver.text()
    assert "can't reach" not in driver.text() and CLINIC_PHONE in driver.text()
    labels = [o.label for o in driver.options()]
    assert "Try again" in labels and "Cancel another appointment" in labels
    assert driver.ctx.comment == "moving away"  # the retry carries the reason
    await driver.press("Try again")
    assert patches(driver) == ["cancel:a-1", "cancel:a-1"]
    assert "✅ Cancelled" in driver.text()


async def test_a_refusal_that_a_retry_cannot_fix_offers_no_retry() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_next.append(ClinicRefused("ref-78", "INVALID_APPOINTMENT_ID"))
    await driver.press("Yes, cancel")
    assert "Reference: ref-78" in driver.text() and "refused to cancel it" in driver.text()
    assert "Try again" not in [o.label for o in driver.options()]


async def test_clinic_down_and_clinic_error_endings_differ_and_give_the_phone() -> None:
    down = await to_state(m.CHOOSE)
    down.clinic.fail_next.append(ClinicUnavailable("ref-5"))
    await down.send(Command("start"))
    assert down.state == m.OUTCOME and "can't reach the clinic's system" in down.text()
    assert CLINIC_PHONE in down.text()
    error = await to_state(m.CHOOSE)
    error.clinic.fail_next.append(ClinicRefused("ref-6", "UNKNOWN_ERROR"))
    await error.send(Command("start"))
    assert "answered with an error" in error.text() and "ref-6" in error.text()
    assert CLINIC_PHONE in error.text()


async def test_stop_after_a_cancellation_says_what_is_true() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Yes, cancel")
    await driver.send(Command("stop"))
    assert driver.text() == "There is nothing to stop. Send /start whenever you like."
    halfway = await to_state(m.CONFIRM)
    await halfway.send(Command("stop"))
    assert halfway.text().startswith("Stopped: nothing was cancelled.")


async def test_the_reason_is_not_called_sent_before_it_is() -> None:
    driver = await to_state(m.REASON)
    await driver.send(Text("feeling better"))
    assert "sent to the clinic with the cancellation: feeling better" in driver.text()
    assert patches(driver) == []


async def test_swedish_counts_use_proper_plural_forms() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Button("L:sv"))
    await driver.press("Avboka flera")
    await driver.press("2.")
    assert "Fortsätt (1 vald)" in [o.label for o in driver.options()]
    await driver.press("3.")
    assert "Fortsätt (2 valda)" in [o.label for o in driver.options()]


async def test_the_personal_number_prompt_follows_the_configured_kind() -> None:
    for kind, digits, other in (
        ("no_personal_number", "11 digits", "12 digits"),
        ("se_personal_number", "12 digits", "11 digits"),
    ):
        clinic = FakeClinic()
        driver = Driver(clinic=clinic, services=services(clinic, id_kind=kind))
        await driver.send(Command("start"))
        await driver.send(Contact(PHONE.lstrip("+"), own=True))
        assert digits in driver.text() and other not in driver.text()
        await driver.send(Text("not a number"))
        assert digits in driver.text()


async def test_each_code_prompt_in_a_bulk_names_its_appointment() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.press("Cancel several")
    await driver.press("2.")
    await driver.press("3.")
    await driver.press("Continue")
    await driver.press("Yes, cancel")
    first, second = (driver.ctx.shown(p.original_id) for p in driver.ctx.pending)
    assert first is not None and second is not None
    zone = driver.services.config.zone if driver.services else UTC
    assert first.start.astimezone(zone).strftime("%-d March, %H:%M") in driver.text()
    await driver.send(Text(CODE))
    assert "Next, type the SMS code for:" in driver.text()
    assert second.start.astimezone(zone).strftime("%-d March, %H:%M") in driver.text()


async def test_no_appointments_ends_with_the_phone_and_no_pointless_retry() -> None:
    driver = Driver(clinic=FakeClinic(appointments=[]))
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert "nothing to cancel" in driver.text() and CLINIC_PHONE in driver.text()
    assert driver.options() == []
