"""Identity ages: a chat's link to its patient is proved again once it is older than
IDENTITY_VALID_DAYS, or when the patient comes back after IDENTITY_IDLE_DAYS away (the EHR's
phone may have changed, a shared phone may have changed hands). Sandbox chats never age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialogs import machine as m
from dialogs.events import Command, Contact, Text, Tick
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE


async def _linked() -> Driver:
    driver = await to_state(m.CHOOSE)
    await driver.send(Command("stop"))
    return driver


@pytest.mark.parametrize(
    ("visits", "back_after", "ages"),
    [
        ([], 3, False),
        ([], 8, True),  # back after a long pause
        ([5, 10, 15, 20, 25], 29, False),
        ([5, 10, 15, 20, 25], 31, True),  # the link itself is too old, however active
    ],
)
async def test_a_link_is_proved_again_when_old_or_after_a_pause(
    visits: list[int], back_after: int, ages: bool
) -> None:
    driver = await _linked()
    linked = driver.now
    for day in visits:
        driver.now = linked + timedelta(days=day)
        await driver.send(Command("help"))
    driver.now = linked + timedelta(days=back_after)
    result = await driver.send(Command("start"))
    if ages:
        assert result.unlinked and driver.ctx.patient_id is None
        assert driver.state == m.IDENTIFY_CONTACT
        assert "confirm who you are again" in driver.text()
        assert driver.clinic.calls.count("list") == 1  # nothing read for the old link
    else:
        assert not result.unlinked and driver.ctx.patient_id is not None
        assert driver.clinic.calls.count("list") == 2


async def test_an_aged_link_is_proved_again_whatever_the_patient_sent() -> None:
    driver = await to_state(m.CONFIRM)
    driver.later(days=8)
    result = await driver.press("Yes, cancel")
    assert result.unlinked and driver.state == m.IDENTIFY_CONTACT
    assert not [c for c in driver.clinic.calls if c.startswith("cancel")]
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.CHOOSE and driver.ctx.linked_at == driver.now


async def test_time_alone_does_not_unlink() -> None:
    driver = await _linked()
    driver.later(days=40)
    result = await driver.send(Tick())
    assert not result.unlinked and driver.ctx.patient_id is not None


async def test_sandbox_chats_never_age() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    await driver.press("Test Testsson")
    driver.later(days=60)
    result = await driver.send(Command("start"))
    assert not result.unlinked and driver.ctx.patient_id is not None


async def test_an_aged_link_can_still_be_stopped_and_forgotten() -> None:
    driver = await _linked()
    driver.later(days=8)
    stopped = await driver.send(Command("stop"))
    assert not stopped.unlinked and driver.state == m.IDLE
    await driver.send(Command("forget"))
    assert driver.state == m.FORGET
    erased = await driver.press("Yes, erase it")
    assert erased.forget and driver.state == m.IDLE  # the engine erases the chat's data
    assert "erased" in driver.text()
