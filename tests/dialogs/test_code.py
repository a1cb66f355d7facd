"""The dialog's rules from design.md, as whole conversations against the fake clinic."""

from __future__ import annotations

import string
from datetime import timedelta

import pytest

from dialogs import machine as m
from dialogs.catalogs import en, sv
from dialogs.clinic import ClinicUnavailable, NotSupported, OutcomeUnknown
from dialogs.events import Button, Command, Contact, Text, Tick
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import CODE, PERSONAL_NUMBER, PHONE, FakeClinic, appointment


def cancels(driver: Driver) -> list[str]:
    return [c for c in driver.clinic.calls if c.startswith("cancel:")]


async def test_one_step_cancellation_ends_in_one_clear_sentence() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME
    assert driver.text().startswith("✅ Cancelled:")
    assert [a.outcome for a in driver.last.audits] == ["cancelled"]


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


async def test_deadline_appointments_are_shown_but_never_cancellable() -> None:
    driver = await to_state(m.CHOOSE)
    assert "🔒" in driver.text()
    assert not any(o.label.startswith("1.") for o in driver.options())
    await driver.send(Button(f"{driver.ctx.generation}:a0"))  # forged: the locked one
    await driver.send(Text("1"))
    assert driver.state == m.CHOOSE and cancels(driver) == []


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
    await driver.press("Send a new code")
    assert "No more new codes today" in driver.text() and "+46 8 123 456 00" in driver.text()
    assert len(cancels(driver)) == 3  # the first cancel and two re-sends: 3 SMS a day
    await driver.send(Text(CODE))
    assert driver.clinic.calls[-1] == f"confirm:{latest}"
    assert driver.state == m.OUTCOME and "✅ Cancelled" in driver.text()


async def test_the_message_holding_a_code_is_deleted() -> None:
    driver = await to_state(m.AWAITING_CODE)
    result = await driver.send(Text(f"code {CODE[:3]}-{CODE[3:]}"))
    assert result.delete_user_message and driver.state == m.OUTCOME


async def test_a_lost_answer_is_re_read_and_never_cancelled_twice() -> None:
    driver = await to_state(m.CONFIRM)
    driver.clinic.fail_after_write.append(OutcomeUnknown("ref-9"))
    await driver.press("Yes, cancel")
    assert driver.state == m.AWAITING_CODE  # the re-read found the pending cancellation
    assert len(cancels(driver)) == 1
    await driver.send(Text(CODE))
    assert "✅ Cancelled" in driver.text()


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


async def test_clinic_down_changes_nothing_and_a_retry_works() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    driver.clinic.fail_next.append(ClinicUnavailable("ref-1"))
    await driver.press("Yes, cancel")
    assert driver.state == m.CONFIRM and "nothing was changed" in driver.text()
    assert "ref-1" in driver.text()
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME and "✅ Cancelled" in driver.text()


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


async def test_no_appointments() -> None:
    driver = Driver(clinic=FakeClinic(appointments=[]))
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.OUTCOME and "no upcoming appointments" in driver.text()
    assert "+46 8 123 456 00" in driver.text()
    assert "Try again" not in [o.label for o in driver.options()]


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


async def test_identity_refusals() -> None:
    driver = await to_state(m.IDENTIFY_CONTACT)
    await driver.send(Contact("46709999999", own=False))
    assert driver.state == m.IDENTIFY_CONTACT and "someone else's" in driver.text()
    mismatch = Driver(clinic=FakeClinic(phones=("+46700000000",)))
    await mismatch.send(Command("start"))
    await mismatch.send(Contact(PHONE.lstrip("+"), own=True))
    await mismatch.send(Text(PERSONAL_NUMBER))
    assert mismatch.state == m.IDENTIFY_NUMBER and mismatch.ctx.patient_id is None
    assert "+46 8 123 456 00" in mismatch.text()


async def test_identity_attempts_are_capped_per_hour() -> None:
    driver = await to_state(m.IDENTIFY_NUMBER)
    for _ in range(5):
        await driver.send(Text("198112189876"))
    assert "Too many attempts" in driver.text()
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.IDENTIFY_NUMBER and driver.clinic.calls.count("find_patient") == 5
    driver.later(hours=1, minutes=1)
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.CHOOSE


async def test_double_tap_never_cancels_twice() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    yes = driver.key("Yes, cancel")
    await driver.send(Button(yes))
    await driver.send(Button(yes))
    assert len(cancels(driver)) == 1 and "earlier message" in driver.text()


async def test_sandbox_picks_a_test_patient_instead_of_identity() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    await driver.press("Test Testsson")
    assert driver.state == m.CHOOSE and driver.last.linked_patient == "p-1"


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert en.MESSAGES.keys() == sv.MESSAGES.keys()
    for key, text in en.MESSAGES.items():
        assert fields(text) == fields(sv.MESSAGES[key]), key


async def test_swedish_dates_in_the_clinic_zone_across_dst() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Button("L:sv"))
    await driver.send(Command("start"))
    assert "Torsdag 5 mars kl. 10:00" in driver.text()  # 09:00 UTC is 10:00 in Stockholm (CET)
    summer = FakeClinic(appointments=[appointment(1, 40)])  # 11 April: CEST, UTC+2
    later = Driver(clinic=summer)
    await later.send(Command("start"))
    await later.send(Contact(PHONE.lstrip("+"), own=True))
    await later.send(Text(PERSONAL_NUMBER))
    assert "11:00" in later.text()


async def test_try_again_after_a_failed_lookup_identifies_again() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    driver.clinic.fail_next.append(ClinicUnavailable("ref-5"))
    await driver.press("Test Testsson")
    assert driver.state == m.OUTCOME and driver.ctx.patient_id is None
    await driver.press("Try again")
    assert driver.state == m.PICK_TEST_PATIENT


async def test_an_agent_can_act_as_another_test_patient_but_a_patient_cannot() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    await driver.press("Test Testsson")
    await driver.press("Act as another test patient")
    assert driver.state == m.PICK_TEST_PATIENT and driver.ctx.patient_id is None
    patient = await to_state(m.CHOOSE)
    assert not any("test patient" in o.label for o in patient.options())
    await patient.send(Button(f"{patient.ctx.generation}:t"))
    assert patient.state == m.CHOOSE and patient.ctx.patient_id == "p-1"
