"""The SMS code of a two-step cancellation: typed, wrong, expired, sent again, several in a row,
taken up again later, and the daily cap on SMS. Whole conversations against the fake clinic."""

from __future__ import annotations

from datetime import UTC, timedelta

from dialogs import machine as m
from dialogs.events import Button, Command, Text, Tick
from tests.support.dialog_driver import Driver, cancels, to_state
from tests.support.fake_clinic import CLINIC_PHONE, CODE, FakeClinic


def code_expires_at_the_ehr(clinic: FakeClinic) -> None:
    """The EHR drops a pending cancellation whose code expired: the original is plainly booked."""
    clinic.appointments = [a for a in clinic.appointments if a.id not in clinic.pending]
    clinic.pending = {}


async def cancel_the_second_again(driver: Driver) -> None:
    await driver.send(Command("start"))
    await driver.press("2.")
    if driver.state == m.CONFIRM:
        await driver.press("Yes, cancel")


async def test_several_pending_codes_are_taken_one_after_another() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.press("Cancel several")
    await driver.press("2.")
    await driver.press("3.")
    await driver.press("Continue")
    await driver.press("Yes, cancel")
    first = driver.ctx.pending[0].new_id
    await driver.send(Text(CODE))
    assert driver.state == m.AWAITING_CODE and "Next" in driver.text()
    assert driver.clinic.calls[-1] == f"confirm:{first}"
    await driver.send(Text(CODE))
    assert driver.state == m.OUTCOME and driver.text().count("✅ Cancelled:") == 2


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


async def test_wrong_codes_are_counted_and_capped() -> None:
    driver = await to_state(m.AWAITING_CODE)
    for left in ("4 tries", "3 tries", "2 tries", "1 try"):
        await driver.send(Text("999999"))
        assert f"{left} left" in driver.text()
    await driver.send(Text("999999"))
    assert "Too many wrong codes" in driver.text()
    await driver.press("Don't cancel")
    assert driver.state == m.OUTCOME and "❌ Not cancelled" in driver.text()
    assert "You chose to keep it, so it stays booked." in driver.text()
    assert "You stopped" not in driver.text()
    assert "+46 8 123 456 00" in driver.text()


async def test_codes_expire_lazily_and_on_a_tick() -> None:
    driver = await to_state(m.AWAITING_CODE)
    wake = driver.ctx.pending[0].expires_at
    driver.now = wake + timedelta(seconds=1)
    await driver.send(Tick())
    assert "expired" in driver.text()
    late = await to_state(m.AWAITING_CODE)
    late.later(minutes=11)
    await late.send(Text(CODE))
    assert "expired" in late.text() and not any(c.startswith("confirm") for c in late.clinic.calls)


async def test_a_new_code_goes_to_the_new_id_and_is_capped_per_day() -> None:
    driver = await to_state(m.AWAITING_CODE)
    old = driver.ctx.pending[0].new_id
    await driver.press("Send a new code")
    new = driver.ctx.pending[0].new_id
    assert new != old and driver.text().count("SMS") == 1  # one message says it, not two
    await driver.press("Send a new code")
    latest = driver.ctx.pending[0].new_id
    assert not any("Send a new code" in o.label for o in driver.options())  # 3 a day: no more
    await driver.send(Button(f"{driver.ctx.generation}:s"))  # a replayed tap is refused
    assert "No more new codes today" in driver.text() and "+46 8 123 456 00" in driver.text()
    assert len(cancels(driver)) == 3  # the first cancel and two re-sends: 3 SMS a day
    await driver.send(Text(CODE))
    assert driver.clinic.calls[-1] == f"confirm:{latest}"
    assert driver.state == m.OUTCOME and "✅ Cancelled" in driver.text()


async def test_restarting_and_cancelling_again_cannot_bypass_the_daily_sms_cap() -> None:
    driver = await to_state(m.AWAITING_CODE)  # one PATCH, one SMS
    await driver.press("Send a new code")  # two
    for _ in range(4):
        code_expires_at_the_ehr(driver.clinic)
        await cancel_the_second_again(driver)
    assert len(cancels(driver)) == 3  # the cap, counted over both ways of asking for a code
    assert driver.state == m.OUTCOME
    assert "❌ Not cancelled" in driver.text() and "can't send more SMS codes" in driver.text()
    assert CLINIC_PHONE in driver.text()
    driver.later(days=1)
    await cancel_the_second_again(driver)
    assert len(cancels(driver)) == 4 and driver.state == m.AWAITING_CODE


async def test_the_message_holding_a_code_is_deleted() -> None:
    driver = await to_state(m.AWAITING_CODE)
    result = await driver.send(Text(f"code {CODE[:3]}-{CODE[3:]}"))
    assert result.delete_user_message and driver.state == m.OUTCOME


async def test_a_waiting_appointment_is_taken_up_again_not_cancelled_again() -> None:
    driver = await to_state(m.AWAITING_CODE)
    waiting = driver.ctx.pending[0].new_id
    await driver.send(Command("start"))
    assert "⏳" in driver.text() and "choose it to type the code" in driver.text()
    await driver.press("2.")
    assert driver.state == m.AWAITING_CODE and "earlier" in driver.text()
    assert len(cancels(driver)) == 1  # no second SMS
    await driver.send(Text(CODE))
    assert driver.clinic.calls[-1] == f"confirm:{waiting}"
    assert "✅ Cancelled" in driver.text()


async def test_a_code_taken_up_again_keeps_its_tries() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Text("999999"))
    await driver.send(Text("999999"))
    await driver.send(Command("stop"))
    await driver.send(Command("start"))
    await driver.press("2.")
    await driver.send(Text("999999"))
    assert "2 tries left" in driver.text()


async def test_stop_while_a_code_is_awaited_drops_it() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("stop"))
    assert driver.ctx.pending == []
    assert [a.outcome for a in driver.last.audits] == ["abandoned"]
    assert "You stopped before entering the code, so it stays booked." in driver.text()
    assert CLINIC_PHONE in driver.text()
    await driver.send(Text(CODE))
    assert not any(c.startswith("confirm") for c in driver.clinic.calls)
