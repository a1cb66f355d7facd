"""What the clinic's EHR cannot do is said at once with the clinic's phone; a record without
phones is no one's fault; the deadline is checked again at the confirmation; and after a bulk
error the appointments are read again before the outcome is told."""

from __future__ import annotations

import pytest

from dialogs import machine as m
from dialogs.clinic import Capabilities, ClinicRefused
from dialogs.events import Command, Contact, Text
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE, FakeClinic

CLINIC_PHONE = "+46 8 123 456 00"


@pytest.mark.parametrize(
    ("can", "says"),
    [
        (Capabilities(cancel=False), "does not let this chat cancel appointments"),
        (Capabilities(listing=False), "does not allow showing appointments"),
        (Capabilities(identify=False), "does not allow looking up patients"),
    ],
)
async def test_a_dead_end_is_told_at_start_before_identification(
    can: Capabilities, says: str
) -> None:
    driver = Driver(clinic=FakeClinic(supports=can))
    await driver.send(Command("start"))
    assert says in driver.text() and CLINIC_PHONE in driver.text()
    assert driver.state == m.OUTCOME and driver.clinic.calls == []
    assert not any(reply.request_contact for reply in driver.last.replies)


async def test_a_linked_patient_is_not_asked_to_identify_again() -> None:
    driver = await to_state(m.CHOOSE)
    driver.clinic.supports = Capabilities(identify=False)
    await driver.send(Command("start"))
    assert driver.state == m.CHOOSE  # identity is no longer needed for this chat


async def test_a_record_without_phones_cannot_be_verified_and_locks_no_one_out() -> None:
    driver = Driver(clinic=FakeClinic(phones=()))
    for _ in range(8):
        await driver.send(Command("start"))
        await driver.send(Contact(PHONE.lstrip("+"), own=True))
        await driver.send(Text(PERSONAL_NUMBER))
        assert "This chat cannot verify you" in driver.text()
        assert CLINIC_PHONE in driver.text()
    assert driver.ctx.identity_failures == []


async def test_the_deadline_is_checked_again_when_the_patient_confirms() -> None:
    driver = await to_state(m.CONFIRM)  # a-1, three days ahead
    driver.later(days=2, hours=12)  # the confirm screen left open: now inside the 24 h window
    await driver.press("Yes, cancel")
    assert "❌ Not cancelled" in driver.text() and "starts too soon" in driver.text()
    assert not any(call.startswith("cancel") for call in driver.clinic.calls)


async def test_after_a_bulk_error_the_list_is_read_before_the_outcome() -> None:
    driver = await to_state(m.CHOOSE, two_step=False)
    await driver.press("Cancel several")
    await driver.press("2.")
    await driver.press("3.")
    await driver.press("Continue")
    driver.clinic.fail_after_write.append(ClinicRefused("ref-9", "EMR_ERROR"))
    await driver.press("Yes, cancel")
    reads = [c for c in driver.clinic.calls if c.startswith("list")]
    assert len(reads) == 2
    assert driver.text().count("✅ Cancelled") == 2  # the write landed: the re-read says so
