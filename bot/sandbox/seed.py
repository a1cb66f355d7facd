"""Deterministic sandbox test data, placed relative to a given `now` (fictional people only).

Test patients in each Nordic country, each with their national identity number (`pn`) and the
Leyr patient id type it is looked up by (`id_type`; None for Danish and Finnish numbers, for which
Leyr has none: those patients are found by EHR id only). Besides the test patients agents pick
from, the emulator can hold any number of synthetic patients (`synthetic_patients`) for load
tests: each with a valid Swedish personal number (Luhn check digit), a phone of their own and two
bookable appointments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CARE_UNITS

ZONE = ZoneInfo("Europe/Stockholm")
CARE_UNIT_NAME = "Sandbox Clinic Södermalm"
CARE_UNITS: dict[str, str] = dict(
    zip(
        SANDBOX_CARE_UNITS,
        (CARE_UNIT_NAME, "Sandbox Clinic Kungsholmen", "Sandbox Clinic Solna"),
        strict=True,
    )
)
"""The sandbox chain's care units: every test patient's appointments are at the first, but for
the chain patient's, spread over all three."""
HEALTHCARE_SERVICE = "hs-general"
APPOINTMENT_MINUTES = 30

RESOURCES: dict[str, str] = {
    "r-1": "Dr Ingrid Berg",
    "r-2": "Dr Lars Holm",
    "r-3": "Nurse Sara Ek",
}

SE, NO = "se_personal_number", "no_personal_number"

# Valid national identity numbers (python-stdnum checks them) and E.164 phones, all fictional.
PATIENTS: list[dict[str, Any]] = [
    {
        "emr_id": "p-1001",
        "country": "SE",
        "id_type": SE,
        "pn": "191212121212",
        "first": "Astrid",
        "last": "Testsson",
        "phones": ["+46701234567"],
        "label": "Astrid Testsson (many appointments)",
    },
    {
        "emr_id": "p-1002",
        "country": "SE",
        "id_type": SE,
        "pn": "198112189876",
        "first": "Bengt",
        "last": "Provsson",
        "phones": ["+46702345678"],
        "label": "Bengt Provsson (one appointment)",
    },
    {
        "emr_id": "p-1003",
        "country": "SE",
        "id_type": SE,
        "pn": "194910179854",
        "first": "Cecilia",
        "last": "Exempel",
        "phones": ["+46703456789"],
        "label": "Cecilia Exempel (no appointments)",
    },
    {
        "emr_id": "p-1004",
        "country": "SE",
        "id_type": SE,
        "pn": "200001012384",
        "first": "Dagny",
        "last": "Fiktiv",
        "phones": ["+46704567890"],
        "label": "Dagny Fiktiv (only a past visit)",
    },
    {
        "emr_id": "p-1005",
        "country": "SE",
        "id_type": SE,
        "pn": "198503752308",
        "first": "Erik",
        "last": "Samordning",
        "phones": ["+46705678901"],
        "label": "Erik Samordning (samordningsnummer)",
    },
    {
        "emr_id": "p-1006",
        "country": "SE",
        "id_type": SE,
        "pn": "197802142351",
        "first": "Greta",
        "last": "Kedjesson",
        "phones": ["+46706789012"],
        "label": "Greta Kedjesson (three care units)",
    },
    {
        "emr_id": "p-2001",
        "country": "NO",
        "id_type": NO,
        "pn": "15038520072",
        "first": "Kari",
        "last": "Nordtest",
        "phones": ["+4791234567"],
        "label": "Kari Nordtest (fødselsnummer)",
    },
    {
        "emr_id": "p-2002",
        "country": "NO",
        "id_type": NO,
        "pn": "41018510187",
        "first": "Ola",
        "last": "Dnummer",
        "phones": ["+4792345678"],
        "label": "Ola Dnummer (D-number)",
    },
    {
        "emr_id": "p-3001",
        "country": "DK",
        "id_type": None,
        "pn": "2110625629",
        "first": "Mette",
        "last": "Testsen",
        "phones": ["+4520123456"],
        "label": "Mette Testsen (CPR)",
    },
    {
        "emr_id": "p-4001",
        "country": "FI",
        "id_type": None,
        "pn": "131052-308T",
        "first": "Aino",
        "last": "Testinen",
        "phones": ["+358401234567"],
        "label": "Aino Testinen (henkilötunnus)",
    },
]

# (patient, days ahead, hour, resource, status); day 0 means "a few hours from now".
SCHEDULE: list[tuple[str, int, int, str, str]] = [
    ("p-1001", 0, 0, "r-1", "booked"),  # within 24 h: inside a typical cancellation deadline
    ("p-1001", 3, 9, "r-1", "booked"),
    ("p-1001", 8, 14, "r-2", "booked"),
    ("p-1001", 15, 10, "r-3", "booked"),
    ("p-1001", 30, 13, "r-2", "booked"),
    ("p-1001", 21, 11, "r-1", "cancelled"),
    ("p-1001", -7, 10, "r-2", "completed"),
    ("p-1002", 5, 15, "r-3", "booked"),
    ("p-1004", -14, 9, "r-3", "completed"),
    ("p-1005", 4, 10, "r-1", "booked"),
    ("p-1005", 12, 14, "r-2", "booked"),
    ("p-2001", 4, 11, "r-2", "booked"),
    ("p-2001", 10, 9, "r-3", "booked"),
    ("p-2002", 6, 13, "r-1", "booked"),
    ("p-2002", 13, 15, "r-2", "booked"),
    ("p-3001", 5, 10, "r-3", "booked"),
    ("p-3001", 11, 14, "r-1", "booked"),
    ("p-4001", 6, 9, "r-2", "booked"),
    ("p-4001", 14, 11, "r-3", "booked"),
]

# The chain patient's appointments: (patient, days ahead, hour, resource, care unit).
CHAIN_SCHEDULE: list[tuple[str, int, int, str, str]] = [
    ("p-1006", 3, 10, "r-1", SANDBOX_CARE_UNITS[0]),
    ("p-1006", 5, 13, "r-2", SANDBOX_CARE_UNITS[1]),
    ("p-1006", 9, 9, "r-3", SANDBOX_CARE_UNITS[2]),
]


SYNTHETIC_BIRTHS_FROM = date(1930, 1, 1)
SYNTHETIC_SERIALS = range(100, 1000)
"""Synthetic patients are born from 1930 on, 900 per day (birth numbers 100-999): far from the
Swedish test patients' dates."""
SYNTHETIC_PHONE_PREFIX = "+4673"
SYNTHETIC_APPOINTMENTS = 2


@dataclass(frozen=True)
class TestPatient:
    personal_number: str
    label: str
    emr_id: str


@dataclass
class Record:
    """One appointment as the emulated EHR holds it."""

    id: str
    start: datetime
    end: datetime
    status: str
    patient_id: str
    resource_id: str
    comment: str | None = None
    care_unit_id: str = SANDBOX_CARE_UNIT
    healthcare_service_id: str = HEALTHCARE_SERVICE

    def json(self) -> dict[str, Any]:
        """An appointment in the shape Leyr documents (docs.leyr.io), written out here."""
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "comment": self.comment,
            "care_unit_id": self.care_unit_id,
            "patient_id": self.patient_id,
            "resource_id": self.resource_id,
            "healthcare_service_id": self.healthcare_service_id,
        }


def _quarter(moment: datetime) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute // 15 * 15)


def luhn_digit(digits: str) -> int:
    """The Luhn check digit of a Swedish personal number's ten-digit form without it
    (YYMMDDNNN)."""
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def synthetic_personal_number(index: int) -> str:
    """The 12-digit personal number (YYYYMMDDNNNC) of synthetic patient `index` (from 0)."""
    born = SYNTHETIC_BIRTHS_FROM + timedelta(days=index // len(SYNTHETIC_SERIALS))
    serial = SYNTHETIC_SERIALS[index % len(SYNTHETIC_SERIALS)]
    check = luhn_digit(f"{born:%y%m%d}{serial:03d}")
    return f"{born:%Y%m%d}{serial:03d}{check}"


def synthetic_phone(index: int) -> str:
    """Synthetic patient `index`'s own mobile number, in E.164."""
    if not 0 <= index < 10**7:
        raise ValueError("at most 10,000,000 synthetic patients")
    return f"{SYNTHETIC_PHONE_PREFIX}{index:07d}"


def synthetic_patients(count: int) -> list[dict[str, Any]]:
    """`count` fictional patients, in the shape of `PATIENTS`."""
    return [
        {
            "emr_id": f"p-s{index + 1:07d}",
            "country": "SE",
            "id_type": SE,
            "pn": synthetic_personal_number(index),
            "first": "Synthetic",
            "last": f"Patient {index + 1}",
            "phones": [synthetic_phone(index)],
            "label": f"Synthetic patient {index + 1}",
        }
        for index in range(count)
    ]


def _synthetic_schedule(count: int) -> Iterable[tuple[str, str, int, int, str]]:
    """(appointment id, patient, days ahead, hour, resource): two bookable appointments per
    synthetic patient, on different days, beyond any usual cancellation deadline."""
    resources = sorted(RESOURCES)
    for index in range(count):
        for number in range(SYNTHETIC_APPOINTMENTS):
            days = 2 + (index + 11 * number) % 60
            yield (
                f"a-s{index + 1:07d}-{number + 1}",
                f"p-s{index + 1:07d}",
                days,
                8 + (index + number) % 9,
                resources[(index + number) % len(resources)],
            )


def appointments(now: datetime, synthetic: int = 0) -> dict[str, Record]:
    """A fresh copy of the seeded appointments (and those of `synthetic` synthetic patients),
    starting on whole quarter hours (Stockholm)."""
    local = now.astimezone(ZONE)

    def day_at(days: int, hour: int) -> datetime:
        return datetime.combine((local + timedelta(days=days)).date(), time(hour), ZONE)

    records: dict[str, Record] = {}
    for index, (patient, days, hour, resource, status) in enumerate(SCHEDULE, start=1):
        start = _quarter(local + timedelta(hours=3)) if days == 0 else day_at(days, hour)
        key = f"a-{index:03d}"
        records[key] = Record(
            key, start, start + timedelta(minutes=APPOINTMENT_MINUTES), status, patient, resource
        )
    for index, (patient, days, hour, resource, unit) in enumerate(CHAIN_SCHEDULE, start=1):
        start = day_at(days, hour)
        key = f"a-k{index:02d}"
        records[key] = Record(
            key, start, start + timedelta(minutes=APPOINTMENT_MINUTES), "booked", patient, resource
        )
        records[key].care_unit_id = unit
    for key, patient, days, hour, resource in _synthetic_schedule(synthetic):
        start = day_at(days, hour)
        records[key] = Record(
            key, start, start + timedelta(minutes=APPOINTMENT_MINUTES), "booked", patient, resource
        )
    return records


@dataclass(frozen=True)
class Directory:
    """The emulated EHR's patients, found by EHR id or by personal number."""

    by_emr_id: dict[str, dict[str, Any]]
    by_personal_number: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, people: Iterable[dict[str, Any]]) -> Directory:
        listed = list(people)
        return cls({p["emr_id"]: p for p in listed}, {p["pn"]: p for p in listed})

    def everyone(self) -> Iterable[dict[str, Any]]:
        return self.by_emr_id.values()


def directory(synthetic: int = 0) -> Directory:
    """The test patients, then `synthetic` synthetic ones."""
    return Directory.of([*PATIENTS, *synthetic_patients(synthetic)])


def patient_json(p: dict[str, Any], *, phones: bool = True) -> dict[str, Any]:
    """A patient as Leyr documents it; `phones=False` for an EHR whose records carry none."""
    answer: dict[str, Any] = {
        "id": p["emr_id"],
        "emr_id": p["emr_id"],
        "first_name": p["first"],
        "last_name": p["last"],
        "care_unit_id": SANDBOX_CARE_UNIT,
    }
    if phones:
        answer["phones"] = list(p["phones"])
        answer["emails"] = list(p.get("emails", []))
    return answer


def test_patients(country: str | None = None) -> list[TestPatient]:
    """The test patients, or those of one country (SE, NO, DK, FI)."""
    chosen = [p for p in PATIENTS if country in (None, p["country"])]
    return [TestPatient(p["pn"], p["label"], p["emr_id"]) for p in chosen]


def care_units() -> list[dict[str, Any]]:
    return [{"id": key, "name": name} for key, name in CARE_UNITS.items()]


def resources() -> list[dict[str, Any]]:
    return [{"id": key, "name": name} for key, name in RESOURCES.items()]
