"""The emulator's data: valid, varied test patients, and synthetic patients for load tests."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from stdnum.se import personnummer

from bot.leyr.models import Appointment
from bot.sandbox.emulator import Emulator
from bot.sandbox.seed import (
    PATIENTS,
    luhn_digit,
    synthetic_patients,
    synthetic_personal_number,
)
from dialogs.parsing import personal_number
from tests.support.clock import Clock
from tests.support.emulator_http import (
    HEADERS,
    START,
    UNIT,
    cancel,
    confirm,
    listing,
)


async def test_test_patients_are_valid_and_varied(
    emulator: Emulator, client: httpx.AsyncClient
) -> None:
    patients = emulator.test_patients("SE")
    assert len(patients) == 6
    counts = []
    for p in patients:
        assert personal_number(p.personal_number, "se_personal_number") == p.personal_number
        assert p.label
        r = await client.get(
            f"{UNIT}/appointments", params={"patient_id": f"se_personal_number:{p.personal_number}"}
        )
        counts.append(sum(1 for a in r.json() if a["status"] == "booked"))
    assert 0 in counts
    assert 1 in counts
    r = await client.get("/_sandbox/test-patients")
    assert [x["personal_number"] for x in r.json()] == [
        p.personal_number for p in emulator.test_patients()
    ]


async def test_synthetic_patients_each_have_two_bookable_appointments(clock: Clock) -> None:
    emulator = Emulator(seed=5, now=clock, synthetic_patients=1000)
    people = synthetic_patients(1000)
    assert len({p["pn"] for p in people}) == len({p["phones"][0] for p in people}) == 1000
    assert all(personnummer.is_valid(p["pn"]) for p in people)
    seeded = {p["pn"] for p in PATIENTS} | {phone for p in PATIENTS for phone in p["phones"]}
    assert not seeded & ({p["pn"] for p in people} | {p["phones"][0] for p in people})
    assert [t.label for t in emulator.test_patients()] == [p["label"] for p in PATIENTS]
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
    ) as c:
        for person in (people[0], people[999]):
            r = await c.get(f"{UNIT}/patients/se_personal_number:{person['pn']}")
            assert r.json()["phones"] == person["phones"]
            listed = (
                await c.get(f"{UNIT}/appointments", params={"patient_id": person["emr_id"]})
            ).json()
            assert [a["status"] for a in listed] == ["booked", "booked"]
            assert all(
                Appointment.model_validate(a).start - START > timedelta(days=1) for a in listed
            )
            pending = (await cancel(c, listed[0]["id"])).json()
            [sms] = emulator.outbox(person["phones"][0])
            assert (await confirm(c, pending["id"], sms.code)).json()["status"] == "cancelled"
        assert len(await listing(c)) == 7  # the test patients' appointments are all still there


def test_synthetic_personal_numbers_carry_a_luhn_check_digit() -> None:
    assert luhn_digit("121212121") == 2  # 19121212-1212
    assert synthetic_personal_number(0) == "193001011000"
    with pytest.raises(ValueError, match="synthetic_patients"):
        Emulator(synthetic_patients=-1)
