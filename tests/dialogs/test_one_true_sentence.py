"""Every limit and failure says one true thing: no SMS promised after one was refused, no reason
said twice, a locked appointment's number answered with why, an EHR error not called a timeout."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.clinic import OutcomeUnknown
from dialogs.events import Button, Text, Tick
from tests.support.dialog_driver import to_state


async def test_a_refused_new_code_promises_no_sms() -> None:
    driver = await to_state(m.AWAITING_CODE)  # the first SMS: one of the day's three
    await driver.press("Send a new code")
    await driver.press("Send a new code")
    assert "We have sent an SMS" in driver.text()
    assert not any("Send a new code" in o.label for o in driver.options())  # none left today
    await driver.send(Button(f"{driver.ctx.generation}:s"))  # a replayed or forged tap
    assert "No more new codes today" in driver.text()
    assert "We have sent" not in driver.text()
    assert "Type the code from the SMS we sent earlier" in driver.text()  # it still works
    assert [o.label for o in driver.options()] == ["Don't cancel it"]


async def test_too_many_wrong_codes_is_said_once() -> None:
    driver = await to_state(m.AWAITING_CODE)
    for _ in range(5):
        await driver.send(Text("999999"))
    assert driver.text().count("Too many wrong codes") == 1


async def test_an_expired_code_is_said_once() -> None:
    driver = await to_state(m.AWAITING_CODE)
    driver.later(minutes=11)
    await driver.send(Tick())
    assert driver.text().lower().count("expired") == 1


async def test_typing_a_locked_appointments_number_says_why() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Text("1"))  # starts within 24 hours
    assert driver.state == m.CHOOSE
    assert driver.text().startswith("Number 1 starts within 24 hours, so it can only be")
    assert "+46 8 123 456 00" in driver.text()
    assert "Please choose one of the options below." not in driver.text()
    await driver.send(Text("0"))
    assert "Please choose one of the options below." in driver.text()


async def test_an_ehr_error_on_a_cancel_is_not_called_a_timeout() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_next.append(OutcomeUnknown("ref-502", "EMR_ERROR"))  # a 502: not applied
    await driver.press("Yes, cancel")
    assert "❌ Not cancelled" in driver.text()
    assert "did not answer in time" not in driver.text()
    assert "answered with an error" in driver.text()
    assert any("Try again" in o.label for o in driver.options())


async def test_a_lost_answer_is_not_called_late() -> None:
    """A timeout, a 503 without a body and a cut connection look alike to the bot: it says
    what it knows, that no clear answer came."""
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_next.append(OutcomeUnknown("ref-lost", None))
    await driver.press("Yes, cancel")
    assert "We got no clear answer from Test Clinic's system" in driver.text()


async def test_a_lost_answer_to_a_code_promises_no_new_sms() -> None:
    """The confirm's answer was lost and the re-read finds the cancellation still waiting: the
    code sent before still counts, with the tries it had left."""
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Text("999999"))  # 4 tries left
    driver.clinic.fail_next.append(OutcomeUnknown("ref-503", None))  # not applied
    await driver.send(Text("123123"))
    assert driver.state == m.AWAITING_CODE
    assert "We have sent an SMS" not in driver.text()
    assert "We sent an SMS with a code for this appointment earlier" in driver.text()
    assert driver.ctx.pending[0].attempts_left == 4
