"""How a dialog ends when the clinic refuses, is down, does not support the operation, or the
answer was lost; and what /stop says afterwards. Whole conversations against the fake clinic."""

from __future__ import annotations

import pytest

from dialogs import machine as m
from dialogs.clinic import ClinicRefused, ClinicUnavailable, NotSupported, OutcomeUnknown
from dialogs.events import Command, Text
from tests.support.dialog_driver import cancels, to_state
from tests.support.fake_clinic import CLINIC_PHONE, PERSONAL_NUMBER


async def test_clinic_down_changes_nothing_and_a_retry_works() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_next.append(ClinicUnavailable("ref-1"))
    await driver.press("Yes, cancel")
    assert driver.state == m.CONFIRM and "nothing was changed" in driver.text()
    assert "ref-1" in driver.text()
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME and "✅ Cancelled" in driver.text()


async def test_a_lost_answer_with_clinic_down_is_unknown_then_settled() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_after_write.append(OutcomeUnknown("ref-9"))
    calls = driver.clinic.calls

    async def down(*args: object) -> None:
        raise ClinicUnavailable("ref-10")

    listing = driver.clinic.list_appointments
    driver.clinic.list_appointments = down  # type: ignore[method-assign, assignment]
    await driver.press("Yes, cancel")
    assert "❓" in driver.text() and "Check again" in [o.label for o in driver.options()]
    driver.clinic.list_appointments = listing  # type: ignore[method-assign]
    await driver.press("Check again")
    assert "✅ Cancelled" in driver.text()
    assert len([c for c in calls if c.startswith("cancel:")]) == 1


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
    assert cancels(driver) == ["cancel:a-1", "cancel:a-1"]
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


@pytest.mark.parametrize("where", ["find_patient", "list", "cancel"])
async def test_not_supported_gets_the_clinic_phone(where: str) -> None:
    driver = await to_state(
        {"find_patient": m.IDENTIFY_NUMBER, "list": m.CHOOSE}.get(where, m.CONFIRM)
    )
    driver.clinic.fail_next.append(NotSupported("ref-2", "NOT_SUPPORTED"))
    if where == "cancel":
        await driver.press("Yes, cancel")
    elif where == "list":
        await driver.send(Command("start"))
    else:
        await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.OUTCOME
    assert "does not allow" in driver.text() and "+46 8 123 456 00" in driver.text()
    doing = {"find_patient": "looking up patients", "list": "showing", "cancel": "cancelling"}
    assert doing[where] in driver.text()
    await driver.send(Command("start"))  # re-entry works from there, linked or not
    assert driver.state in (m.CHOOSE, m.IDENTIFY_CONTACT)


async def test_stop_after_a_cancellation_says_what_is_true() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Yes, cancel")
    await driver.send(Command("stop"))
    assert driver.text() == "There is nothing to stop. Send /start whenever you like."
    halfway = await to_state(m.CONFIRM)
    await halfway.send(Command("stop"))
    assert halfway.text().startswith("Stopped: nothing was cancelled.")
