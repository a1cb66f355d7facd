"""Proving who the patient is, or (sandbox chats) picking a test patient: the contact, the
personal number, refusals and caps. Whole conversations against the fake clinic."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.clinic import ClinicUnavailable, NotSupported
from dialogs.events import Button, Command, Contact, Text
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE, FakeClinic, services


async def test_the_personal_number_prompt_follows_the_configured_kind() -> None:
    for kind, digits, other in (
        ("no_personal_number", "11 digits", "12 digits"),
        ("se_personal_number", "12 digits", "11 digits"),
        ("dk_cpr", "10 digits, DDMMYY-NNNN", "12 digits"),
        ("fi_hetu", "11 characters, DDMMYY-NNNC", "digits"),
    ):
        clinic = FakeClinic()
        driver = Driver(clinic=clinic, services=services(clinic, id_kind=kind))
        await driver.send(Command("start"))
        await driver.send(Contact(PHONE.lstrip("+"), own=True))
        assert digits in driver.text() and other not in driver.text()
        await driver.send(Text("not a number"))
        assert digits in driver.text()


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


async def _identify(clinic: FakeClinic) -> Driver:
    driver = Driver(clinic=clinic)
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    return driver


async def test_appointments_read_beside_the_lookup_are_shown_without_reading_them_again() -> None:
    apart = await _identify(FakeClinic())
    beside = await _identify(FakeClinic(lists_by_number=True))
    assert apart.clinic.calls == ["find_patient", "list"]
    assert beside.clinic.calls == ["find_patient", "list_by_number"]
    assert beside.state == m.CHOOSE and beside.ctx.patient_id == "p-1"
    assert beside.ctx.appointments == apart.ctx.appointments != []
    assert beside.text() == apart.text()


async def test_appointments_read_beside_a_failed_identity_check_are_never_shown() -> None:
    driver = await _identify(FakeClinic(lists_by_number=True, phones=("+46700000000",)))
    assert driver.clinic.calls == ["find_patient", "list_by_number"]
    assert driver.state == m.IDENTIFY_NUMBER and driver.ctx.patient_id is None
    assert driver.ctx.appointments == [] and "Practitioner" not in driver.text()
    assert "+46 8 123 456 00" in driver.text()


async def test_a_failed_reading_beside_the_lookup_ends_as_a_failed_list_does() -> None:
    driver = await _identify(
        FakeClinic(lists_by_number=True, listing_fails=ClinicUnavailable("r-9"))
    )
    assert driver.state == m.OUTCOME and driver.ctx.patient_id == "p-1"
    assert "can't reach the clinic's system" in driver.text() and "r-9" in driver.text()
    driver.clinic.listing_fails = None
    await driver.press("Try again")  # read again by the patient's id: the lookup is done
    assert driver.state == m.CHOOSE and driver.clinic.calls[-1] == "list"
    refused = await _identify(FakeClinic(lists_by_number=True, listing_fails=NotSupported("r-8")))
    assert refused.state == m.OUTCOME and "does not allow showing appointments" in refused.text()


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


async def test_sandbox_picks_a_test_patient_instead_of_identity() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    await driver.press("Test Testsson")
    assert driver.state == m.CHOOSE and driver.last.linked_patient == "p-1"


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
