"""Confirming a cancellation, with or without a reason: one write, never two, even on a double tap
or a lost answer. Whole conversations against the fake clinic."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.clinic import OutcomeUnknown
from dialogs.events import Button, Text
from tests.support.dialog_driver import cancels, to_state
from tests.support.fake_clinic import CODE


async def test_one_step_cancellation_ends_in_one_clear_sentence() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME
    assert driver.text().startswith("✅ Cancelled:")
    assert [a.outcome for a in driver.last.audits] == ["cancelled"]


async def test_double_tap_never_cancels_twice() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    yes = driver.key("Yes, cancel")
    await driver.send(Button(yes))
    await driver.send(Button(yes))
    assert len(cancels(driver)) == 1 and "earlier message" in driver.text()


async def test_a_lost_answer_is_re_read_and_never_cancelled_twice() -> None:
    driver = await to_state(m.CONFIRM)
    driver.clinic.fail_after_write.append(OutcomeUnknown("ref-9"))
    await driver.press("Yes, cancel")
    assert driver.state == m.AWAITING_CODE  # the re-read found the pending cancellation
    assert len(cancels(driver)) == 1
    await driver.send(Text(CODE))
    assert "✅ Cancelled" in driver.text()


async def test_the_reason_is_not_called_sent_before_it_is() -> None:
    driver = await to_state(m.REASON)
    await driver.send(Text("feeling better"))
    assert "sent to the clinic with the cancellation: feeling better" in driver.text()
    assert cancels(driver) == []
