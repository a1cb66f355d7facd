"""A restart never loses a patient half way: in every state, the context goes through JSON and a
fresh process (new Services) carries the dialog on from storage."""

from __future__ import annotations

import pytest

from dialogs import machine as m
from dialogs.events import Command, Text
from tests.support.dialog_driver import to_state
from tests.support.fake_clinic import CODE


@pytest.mark.parametrize("state", m.STATES)
async def test_the_dialog_carries_on_after_a_restart_in_every_state(state: str) -> None:
    before = await to_state(state)
    after = before.restarted()
    assert after.state == state and after.ctx == before.ctx
    assert after.services is not before.services
    await after.send(Command("help"))
    assert after.state == state
    if state == m.AWAITING_CODE:
        pending = after.ctx.pending[0]
        await after.send(Text(f"the code is {CODE}"))
        assert after.state == m.OUTCOME
        assert after.clinic.calls[-1] == f"confirm:{pending.new_id}"
        assert "Cancelled" in after.text()
    elif state == m.CONFIRM:
        await after.press("Yes, cancel")
        assert after.state == m.AWAITING_CODE
    elif state == m.CHOOSE:
        await after.press("2.")
        assert after.state == m.CONFIRM
    elif state == m.IDENTIFY_NUMBER:
        await after.send(Text("19121212-1212"))
        assert after.state == m.CHOOSE


async def test_the_context_holds_no_personal_number_phone_or_code() -> None:
    driver = await to_state(m.AWAITING_CODE)
    stored = str(driver.ctx.dump())
    for private in ("191212121212", "46701234567", CODE):
        assert private not in stored
