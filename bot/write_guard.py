"""The write guard: a clinic that notes when a step starts a write to the EHR. The engine wraps
it around the chat's clinic, so the dialog never calls back into the engine mid-step: a step that
fails after a write (the write may have landed, the step was not saved) makes the chat's next
step read the EHR before writing, and never cancel or confirm twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    Clinic,
    PatientRecord,
    Window,
)


class GuardedClinic:
    """`clinic`; `wrote` once a cancel or confirm was sent to it."""

    def __init__(self, clinic: Clinic) -> None:
        self._clinic = clinic
        self.wrote = False

    def capabilities(self) -> Capabilities:
        return self._clinic.capabilities()

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        return await self._clinic.find_patient(personal_number, appointments_in)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        return await self._clinic.list_appointments(patient_id, start, end)

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        self.wrote = True
        return await self._clinic.cancel(appointment_ids, comment)

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        self.wrote = True
        return await self._clinic.confirm(pending_id, code)
