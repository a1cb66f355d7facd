"""The emulated EHR behind the sandbox: deterministic test data and Leyr's documented rules.

Each EHR code has its own copy of the data and a profile (one-step or two-step cancellation,
listing supported or not). Failures are raised as `ApiError`, which the app turns into Leyr's
error envelope.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_EMR

ZONE = ZoneInfo("Europe/Stockholm")
CODE_LIFETIME = timedelta(minutes=10)
MAX_BULK = 10
MAX_COMMENT = 500
ID_TYPES = {"emr_id", "se_personal_number", "no_personal_number", "nhs_number"}
LOOKUP_TYPES = {"emr_id", "se_personal_number"}


class ApiError(Exception):
    def __init__(
        self, error_code: str, details: str, *, code: str = "BAD_REQUEST", status: int = 400
    ):
        self.error_code = error_code
        self.details = details
        self.code = code
        self.status = status
        super().__init__(error_code)


@dataclass
class Profile:
    cancellation: str = "one_step"  # or "two_step"
    listing: bool = True


PROFILES = {
    SANDBOX_EMR: Profile("two_step"),
    "webdoc": Profile("one_step"),
    "kaddio": Profile("two_step"),
    "pasientsky": Profile("one_step", listing=False),
}


@dataclass(frozen=True)
class TestPatient:
    personal_number: str
    label: str


@dataclass
class Sms:
    phone: str
    appointment_id: str  # the original appointment
    pending_id: str
    code: str
    text: str
    sent_at: datetime


@dataclass
class Pending:
    original_id: str
    code: str
    expires_at: datetime


@dataclass
class Record:
    id: str
    start: datetime
    end: datetime
    status: str
    patient_id: str
    resource_id: str
    comment: str | None = None
    healthcare_service_id: str = "hs-general"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "comment": self.comment,
            "care_unit_id": SANDBOX_CARE_UNIT,
            "patient_id": self.patient_id,
            "resource_id": self.resource_id,
            "healthcare_service_id": self.healthcare_service_id,
        }


RESOURCES = {"r-1": "Dr Ingrid Berg", "r-2": "Dr Lars Holm", "r-3": "Nurse Sara Ek"}
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
]
# (patient, days ahead, hour, resource, status); negative days are in the past.
SCHEDULE = [
    ("p-1001", 0, 0, "r-1", "booked"),  # placed a few hours ahead: inside the deadline
    ("p-1001", 3, 9, "r-1", "booked"),
    ("p-1001", 8, 14, "r-2", "booked"),
    ("p-1001", 15, 10, "r-3", "booked"),
    ("p-1001", 30, 13, "r-2", "booked"),
    ("p-1001", 21, 11, "r-1", "cancelled"),
    ("p-1001", -7, 10, "r-2", "completed"),
    ("p-1002", 5, 15, "r-3", "booked"),
]


def seed(now: datetime) -> dict[str, Record]:
    local = now.astimezone(ZONE)
    records = {}
    for index, (patient, days, hour, resource, status) in enumerate(SCHEDULE, start=1):
        if days == 0:
            start = (local + timedelta(hours=3)).replace(second=0, microsecond=0)
            start = start.replace(minute=start.minute // 15 * 15)
        else:
            start = datetime.combine((local + timedelta(days=days)).date(), time(hour), ZONE)
        records[f"a-{index:03d}"] = Record(
            f"a-{index:03d}", start, start + timedelta(minutes=30), status, patient, resource
        )
    return records


@dataclass
class Ehr:
    """One EHR's data and rules."""

    profile: Profile
    now: Callable[[], datetime]
    rng: random.Random
    outbox: list[Sms]
    appointments: dict[str, Record] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    cancel_calls: dict[str, int] = field(default_factory=dict)

    def patient(self, typed_id: str) -> dict[str, Any]:
        id_type, _, value = typed_id.rpartition(":")
        id_type = id_type or "emr_id"
        if id_type not in ID_TYPES:
            raise ApiError("INVALID_PATIENT_ID_TYPE", "unknown patient id type")
        if id_type not in LOOKUP_TYPES:
            raise ApiError("PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "lookup type not supported")
        key = "emr_id" if id_type == "emr_id" else "pn"
        found = next((p for p in PATIENTS if p[key] == value), None)
        if found is None:
            raise ApiError("INVALID_PATIENT_ID", "no such patient")
        return _patient_json(found)

    def search(self, first_name: str | None, last_name: str | None) -> list[dict[str, Any]]:
        return [
            _patient_json(p)
            for p in PATIENTS
            if (not first_name or p["first"].lower() == first_name.lower())
            and (not last_name or p["last"].lower() == last_name.lower())
        ]

    def listing(
        self, patient: str, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        if not self.profile.listing:
            raise ApiError("NOT_SUPPORTED", "this EHR does not list appointments")
        self._expire()
        emr_id = self.patient(patient)["emr_id"]
        return [
            r.json()
            for r in sorted(self.appointments.values(), key=lambda r: r.start)
            if r.patient_id == emr_id
            and (start is None or r.start >= start)
            and (end is None or r.start < end)
        ]

    def cancel(self, ids: list[str], comment: str | None) -> list[dict[str, Any]]:
        self._expire()
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ApiError("INVALID_COMMENT_LENGTH", f"comment longer than {MAX_COMMENT}")
        for appointment_id in ids:
            if appointment_id not in self.appointments:
                raise ApiError("INVALID_APPOINTMENT_ID", "no such appointment")
        answers = []
        for appointment_id in ids:
            record = self.appointments[appointment_id]
            self.cancel_calls[appointment_id] = self.cancel_calls.get(appointment_id, 0) + 1
            if record.status != "booked" or record.start <= self.now():
                answers.append(record.json())
                continue
            if comment is not None:
                record.comment = comment
            if self.profile.cancellation == "one_step":
                record.status = "cancelled"
                answers.append(record.json())
            else:
                answers.append(self._start_two_step(record))
        return answers

    def cancel_one(self, appointment_id: str, comment: str | None) -> dict[str, Any]:
        record = self.appointments.get(appointment_id)
        if record is not None and (record.status != "booked" or record.start <= self.now()):
            raise ApiError("BAD_INPUT", "appointment is not booked in the future")
        return self.cancel([appointment_id], comment)[0]

    def _start_two_step(self, record: Record) -> dict[str, Any]:
        for old in [k for k, p in self.pending.items() if p.original_id == record.id]:
            del self.pending[old]
            del self.appointments[old]
        new_id = f"c-{self.rng.randrange(16**8):08x}"
        code = f"{self.rng.randrange(10**6):06d}"
        self.pending[new_id] = Pending(record.id, code, self.now() + CODE_LIFETIME)
        self.appointments[new_id] = replace(record, id=new_id, status="awaiting_confirmation")
        phones = next(p["phones"] for p in PATIENTS if p["emr_id"] == record.patient_id)
        when = record.start.astimezone(ZONE).strftime("%d/%m %H:%M")
        text = f"Your code to cancel your appointment {when}: {code}"
        self.outbox.append(Sms(phones[0], record.id, new_id, code, text, self.now()))
        return self.appointments[new_id].json()

    def confirm(self, pending_id: str, code: str) -> dict[str, Any]:
        self._expire()
        pending = self.pending.get(pending_id)
        if pending is None:
            raise ApiError("INVALID_APPOINTMENT_ID", "no pending cancellation with this id")
        if code.strip() != pending.code:
            raise ApiError("BAD_INPUT", "wrong confirmation code")
        del self.pending[pending_id]
        record = self.appointments.pop(pending_id)
        self.appointments[pending.original_id].status = "cancelled"
        return {**record.json(), "status": "cancelled"}

    def _expire(self) -> None:
        now = self.now()
        for pending_id in [k for k, p in self.pending.items() if p.expires_at <= now]:
            del self.pending[pending_id]
            del self.appointments[pending_id]


def _patient_json(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["emr_id"],
        "emr_id": p["emr_id"],
        "first_name": p["first"],
        "last_name": p["last"],
        "care_unit_id": SANDBOX_CARE_UNIT,
        "phones": list(p["phones"]),
        "emails": [],
    }


def test_patients() -> list[TestPatient]:
    return [TestPatient(p["pn"], p["label"]) for p in PATIENTS]
