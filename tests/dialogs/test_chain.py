"""A clinic chain in the dialog: appointments of several care units in one list, labelled with
their care unit; a deadline and a phone per care unit; a care unit that cannot be read is named
as unavailable while the others show; two at different units cancelled in one go."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dialogs import machine as m
from dialogs.clinic import Appointment, PartlyUnavailable
from dialogs.config import CareUnitRules
from dialogs.events import Command, Contact, Text
from tests.support.dialog_driver import Driver
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE, FakeClinic, appointment, services

UNITS = {"cu-1": "Södermalm", "cu-2": "Kungsholmen", "cu-3": "Solna"}


def at(unit: str, number: int, days: float) -> Appointment:
    return replace(appointment(number, days), care_unit=UNITS[unit], care_unit_id=unit)


@dataclass
class PartlyDown(FakeClinic):
    """A chain whose listing comes back without one care unit's appointments."""

    down: tuple[str, ...] = ()

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        listed = await super().list_appointments(patient_id, start, end)
        if self.down:
            shown = [a for a in listed if a.care_unit not in self.down]
            raise PartlyUnavailable(shown, self.down, "ref-unit", "TIMEOUT")
        return listed


async def listed(clinic: FakeClinic, rules: dict[str, CareUnitRules] | None = None) -> Driver:
    driver = Driver(clinic=clinic, services=services(clinic, care_units=rules or {}))
    await driver.send(Command("start"))
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    await driver.send(Text(PERSONAL_NUMBER))
    return driver


async def test_the_list_spans_the_chain_each_labelled_with_its_care_unit() -> None:
    clinic = FakeClinic(appointments=[at("cu-1", 1, 3), at("cu-2", 2, 5), at("cu-3", 3, 7)])
    driver = await listed(clinic)
    assert driver.state == m.CHOOSE
    lines = driver.text().splitlines()
    for number, unit in ((1, "Södermalm"), (2, "Kungsholmen"), (3, "Solna")):
        assert any(line.startswith(f"{number}. ") and unit in line for line in lines)


async def test_each_care_unit_keeps_its_own_deadline_and_phone() -> None:
    clinic = FakeClinic(appointments=[at("cu-1", 1, 1.5), at("cu-2", 2, 1.5), at("cu-3", 3, 0.5)])
    rules = {"cu-2": CareUnitRules(phone="+46 8 555 000 22", cancellation_deadline=timedelta(2))}
    driver = await listed(clinic, rules)
    text = driver.text()
    locked = {a.care_unit: a.blocked == "deadline" for a in driver.ctx.appointments}
    assert locked == {"Solna": True, "Södermalm": False, "Kungsholmen": True}  # 36 h < 48 h
    assert "🔒 Kungsholmen: starts within 48 hours" in text and "+46 8 555 000 22" in text
    assert "🔒 Solna: starts within 24 hours" in text and "+46 8 123 456 00" in text
    buttons = " ".join(o.label for o in driver.options())
    assert buttons.count(". ") == 1  # only Södermalm's can be picked


async def test_one_deadline_for_the_whole_chain_is_one_note() -> None:
    clinic = FakeClinic(appointments=[at("cu-1", 1, 0.5), at("cu-2", 2, 0.5), at("cu-3", 3, 5)])
    text = (await listed(clinic)).text()
    assert text.count("🔒 Starts within 24 hours") == 1 and "Södermalm:" not in text


async def test_a_care_unit_that_cannot_be_read_is_named_while_the_others_show() -> None:
    clinic = PartlyDown(
        appointments=[at("cu-1", 1, 3), at("cu-2", 2, 5), at("cu-3", 3, 7)], down=("Kungsholmen",)
    )
    driver = await listed(clinic)
    assert driver.state == m.CHOOSE
    text = driver.text()
    assert "Södermalm" in text and "Solna" in text
    assert "⚠️ Kungsholmen can't be reached right now" in text
    assert len(driver.ctx.appointments) == 2


async def test_when_the_only_care_units_with_appointments_are_down_it_says_so() -> None:
    clinic = PartlyDown(appointments=[at("cu-2", 2, 5)], down=("Kungsholmen",))
    driver = await listed(clinic)
    assert driver.state == m.OUTCOME
    assert "We can't reach the clinic's system right now" in driver.text()


async def test_two_at_different_care_units_are_cancelled_in_one_go() -> None:
    clinic = FakeClinic(appointments=[at("cu-1", 1, 3), at("cu-2", 2, 5), at("cu-3", 3, 7)])
    driver = await listed(clinic)
    await driver.press("Cancel several")
    await driver.press("1.")
    await driver.press("2.")
    await driver.press("Continue")
    await driver.press("Yes, cancel")
    assert clinic.calls.count("cancel:a-1,a-2") == 1
    assert driver.state == m.OUTCOME
    assert driver.text().count("✅ Cancelled") == 2
