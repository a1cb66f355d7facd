"""An in-memory `Clinic` for dialog tests: scripted appointments, one- or two-step, and faults.

A double on purpose: the dialog's tests run on dialogs/ alone (it may not import bot/, where the
emulator lives), and the engine's crash tests need a clinic that dies right after its write landed
(`fail_after_write`), which no EHR can be asked to do."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs import Services
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    ClinicError,
    CodeRejected,
    PatientNotFound,
    PatientRecord,
    PendingGone,
    TestPatient,
    Window,
)
from dialogs.config import DialogConfig

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSONAL_NUMBER = "191212121212"
PHONE = "+46701234567"
PATIENT_ID = "p-1"
CODE = "123456"
CLINIC_PHONE = "+46 8 123 456 00"


def digest(value: str) -> str:
    return hashlib.sha256(b"test-key:" + value.encode()).hexdigest()


def config(**overrides: object) -> DialogConfig:
    values: dict[str, object] = {
        "clinic_name": "Test Clinic",
        "clinic_phone": CLINIC_PHONE,
        "zone": ZoneInfo("Europe/Stockholm"),
    }
    values.update(overrides)
    return DialogConfig(**values)  # type: ignore[arg-type]


def appointment(i: int, days: float, status: str = "booked") -> Appointment:
    start = NOW + timedelta(days=days)
    return Appointment(
        id=f"a-{i}",
        start=start,
        end=start + timedelta(minutes=30),
        status=status,
        care_unit="Södermalm",
        practitioner=f"Dr Practitioner {i}",
        resource_id=f"r-{i}",
    )


@dataclass
class FakeClinic:
    appointments: list[Appointment] = field(
        default_factory=lambda: [appointment(1, 3), appointment(2, 10), appointment(3, 0.5)]
    )
    two_step: bool = False
    phones: tuple[str, ...] = (PHONE,)
    fail_next: list[ClinicError] = field(default_factory=list)  # raised by the next calls
    fail_after_write: list[ClinicError] = field(default_factory=list)  # write lands, then raised
    calls: list[str] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # new id -> original id
    counter: int = 0
    supports: Capabilities = field(default_factory=Capabilities)
    lists_by_number: bool = False  # find_patient reads the appointments beside the lookup
    listing_fails: ClinicError | None = None  # what that reading meets, if anything

    def capabilities(self) -> Capabilities:
        return self.supports

    def _fault(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        self.calls.append("find_patient")
        self._fault()
        if personal_number != PERSONAL_NUMBER:
            raise PatientNotFound("ref-1", "INVALID_PATIENT_ID")
        record = PatientRecord(patient_id=PATIENT_ID, phones=self.phones)
        if appointments_in is None or not self.lists_by_number:
            return record
        self.calls.append("list_by_number")
        start, end = appointments_in
        listing = self.listing_fails or [a for a in self.appointments if start <= a.start < end]
        return replace(record, listing=listing)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        self.calls.append("list")
        self._fault()
        return [a for a in self.appointments if start <= a.start < end]

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        self.calls.append(f"cancel:{','.join(appointment_ids)}")
        self._fault()
        outcomes = []
        for requested in appointment_ids:
            index = next(i for i, a in enumerate(self.appointments) if a.id == requested)
            original = self.appointments[index]
            if self.two_step:
                self.counter += 1
                new_id = f"n-{self.counter}"
                self.appointments = [
                    a for a in self.appointments if self.pending.get(a.id) != requested
                ]
                self.pending = {k: v for k, v in self.pending.items() if v != requested}
                self.pending[new_id] = requested
                self.appointments.append(
                    Appointment(
                        new_id,
                        original.start,
                        original.end,
                        "awaiting_confirmation",
                        original.care_unit,
                        original.practitioner,
                        original.resource_id,
                    )
                )
                outcomes.append(CancelOutcome(requested, new_id, "awaiting_confirmation"))
            else:
                self._set(requested, "cancelled")
                outcomes.append(CancelOutcome(requested, requested, "cancelled"))
        if self.fail_after_write:
            raise self.fail_after_write.pop(0)
        return outcomes

    def _set(self, appointment_id: str, status: str) -> None:
        self.appointments = [
            Appointment(a.id, a.start, a.end, status, a.care_unit, a.practitioner, a.resource_id)
            if a.id == appointment_id
            else a
            for a in self.appointments
        ]

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        self.calls.append(f"confirm:{pending_id}")
        self._fault()
        if pending_id not in self.pending:
            raise PendingGone("ref-2", "INVALID_APPOINTMENT_ID")
        if code != CODE:
            raise CodeRejected("ref-3", "BAD_INPUT")
        original = self.pending.pop(pending_id)
        self.appointments = [a for a in self.appointments if a.id != pending_id]
        self._set(original, "cancelled")
        result = CancelOutcome(pending_id, pending_id, "cancelled")
        if self.fail_after_write:
            raise self.fail_after_write.pop(0)
        return result


class Directory:
    async def test_patients(self, language: str = "en") -> list[TestPatient]:
        return [TestPatient(PERSONAL_NUMBER, "Test Testsson")]


def services(clinic: FakeClinic, *, sandbox: bool = False, **overrides: object) -> Services:
    return Services(
        clinic=clinic,
        config=config(**overrides),
        digest=digest,
        directory=Directory() if sandbox else None,
    )
