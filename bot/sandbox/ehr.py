"""The emulated EHR behind the sandbox: one EHR's data, profile and Leyr's documented rules.

Each EHR code has its own copy of the data and a profile read from the EHR table of Leyr's docs
(which patient id types it looks up, whether it lists and cancels, one-step or two-step, the bulk
limit, whether its patient records carry phones). This is the emulator's own reading, written
apart from the bot's (`bot.leyr`), so the two can disagree and the tests show it. Failures are
raised as `ApiError`, which the app turns into Leyr's error envelope.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.sandbox.seed import (
    PATIENTS,
    ZONE,
    Directory,
    Record,
    TestPatient,
    directory,
    patient_json,
    test_patients,
)
from bot.settings import SANDBOX_EMR, SANDBOX_EMRS

CODE_LIFETIME = timedelta(minutes=10)
MAX_BULK = 10
MAX_COMMENT = 500
ID_TYPES = {"emr_id", "se_personal_number", "no_personal_number", "nhs_number"}
E164 = re.compile(r"\+[1-9]\d{6,14}")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SE_LOOKUP = frozenset({"emr_id", "se_personal_number"})
NO_LOOKUP = frozenset({"emr_id", "no_personal_number"})
EMR_ID_ONLY = frozenset({"emr_id"})
Cancellation = Literal["one_step", "two_step"]


class ApiError(Exception):
    def __init__(
        self, error_code: str, details: str, *, code: str = "BAD_REQUEST", status: int = 400
    ) -> None:
        self.error_code = error_code
        self.details = details
        self.code = code
        self.status = status
        super().__init__(error_code)


@dataclass
class Profile:
    """What one EHR does. `max_bulk` None: no bulk PATCH (NOT_SUPPORTED); `phones` False: its
    patient records carry no phones."""

    cancellation: Cancellation = "one_step"
    listing: bool = True
    lookup_types: frozenset[str] = SE_LOOKUP
    cancel: bool = True
    max_bulk: int | None = MAX_BULK
    phones: bool = True


# From the docs' EHR table. Where the docs say "unknown" (two-step, bulk, phones are documented
# for none) the emulator picks one answer so that each variation is met by some EHR code.
PROFILES: dict[str, Profile] = {
    SANDBOX_EMR: Profile("two_step"),
    "webdoc": Profile("one_step"),
    "takecare": Profile("one_step", max_bulk=None),
    "prorenata": Profile("two_step", max_bulk=2),
    "kaddio": Profile("two_step", cancel=False),  # "appointment updates ... not yet supported"
    "konfidens": Profile("two_step", lookup_types=NO_LOOKUP),
    "pasientsky": Profile("one_step", lookup_types=EMR_ID_ONLY),
    "anitasystems": Profile(
        "two_step", listing=False, cancel=False, lookup_types=EMR_ID_ONLY
    ),  # "retrieving existing patients or appointments not supported"
    "cliniko": Profile("one_step", lookup_types=EMR_ID_ONLY, phones=False),
    "dips": Profile("one_step", lookup_types=NO_LOOKUP),
    # one sandbox EHR per country; Leyr has no id type for Danish or Finnish numbers
    SANDBOX_EMRS["NO"]: Profile("two_step", lookup_types=NO_LOOKUP),
    SANDBOX_EMRS["DK"]: Profile("two_step", lookup_types=EMR_ID_ONLY),
    SANDBOX_EMRS["FI"]: Profile("two_step", lookup_types=EMR_ID_ONLY),
}


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
class Ehr:
    """One EHR's data and rules."""

    profile: Profile
    now: Callable[[], datetime]
    rng: random.Random
    outbox: list[Sms]
    appointments: dict[str, Record] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    expired: dict[str, str] = field(default_factory=dict)  # pending id -> original id
    cancel_calls: dict[str, int] = field(default_factory=dict)
    patients: Directory = field(default_factory=directory)
    own_patients: bool = False  # False: `patients` is shared with the other EHRs, copy first

    def patient(self, typed_id: str) -> dict[str, Any]:
        id_type, _, value = typed_id.partition(":") if ":" in typed_id else ("", "", typed_id)
        id_type = id_type or "emr_id"
        if id_type not in ID_TYPES:
            raise ApiError("INVALID_PATIENT_ID_TYPE", "unknown patient id type")
        if id_type not in self.profile.lookup_types:
            raise ApiError("PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "lookup type not supported")
        if id_type == "emr_id":
            found = self.patients.by_emr_id.get(value)
        else:  # a seeded personal number only under its country's type; a created one under any
            found = self.patients.by_personal_number.get(value)
            found = found if found and found.get("id_type", id_type) == id_type else None
        if found is None:
            raise ApiError("INVALID_PATIENT_ID", "no such patient")
        return patient_json(found, phones=self.profile.phones)

    def create_patient(
        self,
        first_name: str,
        last_name: str,
        external_id: str,
        phones: list[str],
        emails: list[str],
    ) -> dict[str, Any]:
        """Idempotent by `external_id` (the national id): an existing patient comes back as is."""
        found = self.patients.by_personal_number.get(external_id)
        if found is not None:
            return patient_json(found)
        if not self.own_patients:
            self.patients = Directory(
                dict(self.patients.by_emr_id), dict(self.patients.by_personal_number)
            )
            self.own_patients = True
        number = len(self.patients.by_emr_id) + 1
        while f"p-n{number}" in self.patients.by_emr_id:
            number += 1
        person: dict[str, Any] = {
            "emr_id": f"p-n{number}",
            "pn": external_id,
            "first": first_name,
            "last": last_name,
            "phones": list(phones),
            "emails": list(emails),
            "label": f"Created patient {number}",
        }
        self.patients.by_emr_id[person["emr_id"]] = person
        self.patients.by_personal_number[external_id] = person
        return patient_json(person)

    def search(self, first_name: str | None, last_name: str | None) -> list[dict[str, Any]]:
        return [
            patient_json(p)
            for p in self.patients.everyone()
            if (not first_name or p["first"].lower() == first_name.lower())
            and (not last_name or p["last"].lower() == last_name.lower())
        ]

    def listing(
        self,
        patient: str,
        start: datetime | None,
        end: datetime | None,
        care_unit: str | None = None,
        *,
        everyone: bool = False,
    ) -> list[dict[str, Any]]:
        """The patient's appointments in [start, end); `everyone`: the filter ignored, as an EHR
        that drops it would answer."""
        if not self.profile.listing:
            raise ApiError("NOT_SUPPORTED", "this EHR does not list appointments")
        self._expire()
        emr_id = self.patient(patient)["emr_id"]
        listed = [
            r
            for r in self.appointments.values()
            if (everyone or r.patient_id == emr_id)
            and (care_unit is None or r.care_unit_id == care_unit)
            and (start is None or r.start >= start)
            and (end is None or r.start < end)
        ]
        return [r.json() for r in sorted(listed, key=lambda r: (r.start, r.id))]

    def _cancellable(self, record: Record) -> bool:
        return record.status == "booked" and record.start > self.now()

    def _in_unit(self, appointment_id: str, care_unit: str | None) -> Record | None:
        """The appointment, if it is one of this care unit's (of any, without one)."""
        record = self.appointments.get(appointment_id)
        if record is None or care_unit not in (None, record.care_unit_id):
            return None
        return record

    def cancel(
        self, ids: list[str], comment: str | None, care_unit: str | None = None
    ) -> list[dict[str, Any]]:
        """Bulk semantics: all ids must exist (in the care unit); non-cancellable ones come back
        unchanged."""
        if not self.profile.cancel:
            raise ApiError("NOT_SUPPORTED", "this EHR does not cancel through the API")
        self._expire()
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ApiError("INVALID_COMMENT_LENGTH", f"comment longer than {MAX_COMMENT}")
        for appointment_id in ids:
            if self._in_unit(appointment_id, care_unit) is None:
                raise ApiError("INVALID_APPOINTMENT_ID", "no such appointment")
        answers = []
        for appointment_id in ids:
            record = self.appointments[appointment_id]
            self.cancel_calls[appointment_id] = self.cancel_calls.get(appointment_id, 0) + 1
            if not self._cancellable(record):
                answers.append(record.json())
                continue
            if self.profile.cancellation == "one_step":
                if comment is not None:
                    record.comment = comment
                record.status = "cancelled"
                answers.append(record.json())
            else:
                answers.append(self._start_two_step(record, comment))
        return answers

    def cancel_one(
        self, appointment_id: str, comment: str | None, care_unit: str | None = None
    ) -> dict[str, Any]:
        if not self.profile.cancel:
            raise ApiError("NOT_SUPPORTED", "this EHR does not cancel through the API")
        self._expire()
        record = self._in_unit(appointment_id, care_unit)
        if record is None:
            raise ApiError("INVALID_APPOINTMENT_ID", "no such appointment")
        if not self._cancellable(record):
            raise ApiError("BAD_INPUT", "appointment is not booked in the future")
        return self.cancel([appointment_id], comment, care_unit)[0]

    def _start_two_step(self, record: Record, comment: str | None) -> dict[str, Any]:
        for old in [k for k, p in self.pending.items() if p.original_id == record.id]:
            del self.pending[old]
            self.appointments.pop(old, None)
        for old in [k for k, original in self.expired.items() if original == record.id]:
            del self.expired[old]  # replaced: from now on unknown, not merely expired
        new_id = f"c-{self.rng.randrange(16**8):08x}"
        while new_id in self.appointments:
            new_id = f"c-{self.rng.randrange(16**8):08x}"
        code = f"{self.rng.randrange(10**6):06d}"
        self.pending[new_id] = Pending(record.id, code, self.now() + CODE_LIFETIME)
        pending = replace(record, id=new_id, status="awaiting_confirmation", comment=comment)
        self.appointments[new_id] = pending
        phones = self.patients.by_emr_id[record.patient_id]["phones"]
        text = f"Your code to cancel your appointment on {_when(record.start)}: {code}"
        self.outbox.append(Sms(phones[0], record.id, new_id, code, text, self.now()))
        return pending.json()

    def confirm(self, pending_id: str, code: str, care_unit: str | None = None) -> dict[str, Any]:
        self._expire()
        pending = self.pending.get(pending_id) if self._in_unit(pending_id, care_unit) else None
        if pending is None and pending_id in self.expired:
            raise ApiError("BAD_INPUT", "the confirmation code has expired")
        if pending is None:
            raise ApiError("INVALID_APPOINTMENT_ID", "no pending cancellation with this id")
        if code.strip() != pending.code:
            raise ApiError("BAD_INPUT", "wrong confirmation code")
        del self.pending[pending_id]
        record = self.appointments.pop(pending_id)
        original = self.appointments[pending.original_id]
        original.status = "cancelled"
        if record.comment is not None:
            original.comment = record.comment
        return {**record.json(), "status": "cancelled"}

    def _expire(self) -> None:
        now = self.now()
        for pending_id in [k for k, p in self.pending.items() if p.expires_at <= now]:
            self.expired[pending_id] = self.pending.pop(pending_id).original_id
            self.appointments.pop(pending_id, None)


def _when(start: datetime) -> str:
    """'28 Nov at 09:00' in Stockholm time, the same in every locale."""
    local = start.astimezone(ZONE)
    return f"{local.day} {MONTHS[local.month - 1]} at {local:%H:%M}"


__all__ = [
    "CODE_LIFETIME",
    "E164",
    "MAX_BULK",
    "MAX_COMMENT",
    "PATIENTS",
    "PROFILES",
    "ZONE",
    "ApiError",
    "Ehr",
    "Pending",
    "Profile",
    "Record",
    "Sms",
    "TestPatient",
    "test_patients",
]
