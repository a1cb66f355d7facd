"""Deterministic sandbox test data, placed relative to a given `now` (fictional people only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.leyr.models import Appointment, CareUnit, Patient, Resource
from bot.settings import SANDBOX_CARE_UNIT

ZONE = ZoneInfo("Europe/Stockholm")
CARE_UNIT_NAME = "Sandbox Clinic Södermalm"
HEALTHCARE_SERVICE = "hs-general"
APPOINTMENT_MINUTES = 30

RESOURCES: dict[str, str] = {
    "r-1": "Dr Ingrid Berg",
    "r-2": "Dr Lars Holm",
    "r-3": "Nurse Sara Ek",
}

# Valid Swedish personal numbers (Luhn-checked) and E.164 phones, all fictional.
PATIENTS: list[dict[str, Any]] = [
    {
        "emr_id": "p-1001",
        "pn": "191212121212",
        "first": "Astrid",
        "last": "Testsson",
        "phones": ["+46701234567"],
        "label": "Astrid Testsson (many appointments)",
    },
    {
        "emr_id": "p-1002",
        "pn": "198112189876",
        "first": "Bengt",
        "last": "Provsson",
        "phones": ["+46702345678"],
        "label": "Bengt Provsson (one appointment)",
    },
    {
        "emr_id": "p-1003",
        "pn": "194910179854",
        "first": "Cecilia",
        "last": "Exempel",
        "phones": ["+46703456789"],
        "label": "Cecilia Exempel (no appointments)",
    },
    {
        "emr_id": "p-1004",
        "pn": "200001012384",
        "first": "Dagny",
        "last": "Fiktiv",
        "phones": ["+46704567890"],
        "label": "Dagny Fiktiv (only a past visit)",
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
]


@dataclass(frozen=True)
class TestPatient:
    personal_number: str
    label: str


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
        """Leyr's appointment shape (`bot.leyr.models.Appointment`)."""
        return Appointment(
            id=self.id,
            start=self.start,
            end=self.end,
            status=self.status,
            comment=self.comment,
            care_unit_id=self.care_unit_id,
            patient_id=self.patient_id,
            resource_id=self.resource_id,
            healthcare_service_id=self.healthcare_service_id,
        ).model_dump(mode="json")


def _quarter(moment: datetime) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    return moment.replace(minute=moment.minute // 15 * 15)


def appointments(now: datetime) -> dict[str, Record]:
    """A fresh copy of the seeded appointments, starting on whole quarter hours (Stockholm)."""
    local = now.astimezone(ZONE)
    records: dict[str, Record] = {}
    for index, (patient, days, hour, resource, status) in enumerate(SCHEDULE, start=1):
        if days == 0:
            start = _quarter(local + timedelta(hours=3))
        else:
            start = datetime.combine((local + timedelta(days=days)).date(), time(hour), ZONE)
        key = f"a-{index:03d}"
        records[key] = Record(
            key, start, start + timedelta(minutes=APPOINTMENT_MINUTES), status, patient, resource
        )
    return records


def patient_json(p: dict[str, Any]) -> dict[str, Any]:
    return Patient(
        id=p["emr_id"],
        emr_id=p["emr_id"],
        first_name=p["first"],
        last_name=p["last"],
        care_unit_id=SANDBOX_CARE_UNIT,
        phones=list(p["phones"]),
        emails=[],
    ).model_dump(mode="json")


def test_patients() -> list[TestPatient]:
    return [TestPatient(p["pn"], p["label"]) for p in PATIENTS]


def care_units() -> list[dict[str, Any]]:
    return [CareUnit(id=SANDBOX_CARE_UNIT, name=CARE_UNIT_NAME).model_dump(mode="json")]


def resources() -> list[dict[str, Any]]:
    return [Resource(id=key, name=name).model_dump(mode="json") for key, name in RESOURCES.items()]
