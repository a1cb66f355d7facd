"""English and Swedish: dates in the clinic's zone, proper plural forms (the catalogs' agreement:
test_catalogs.py)."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.events import Button, Command, Contact, Text
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE, FakeClinic, appointment


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


async def test_swedish_counts_use_proper_plural_forms() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Button("L:sv"))
    await driver.press("Avboka flera")
    await driver.press("2.")
    assert "Fortsätt (1 vald)" in [o.label for o in driver.options()]
    await driver.press("3.")
    assert "Fortsätt (2 valda)" in [o.label for o in driver.options()]
