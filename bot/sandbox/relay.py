"""A sandbox chat's clinic: the real Leyr clinic over the emulator, watched call by call so the
agent sees the SMS codes the emulator sent and the injected faults each call met."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import watching
from bot.sandbox.notes import FaultNote, Note, SmsNote, fault_note
from bot.settings import CHAIN_SEPARATOR
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    Clinic,
    ClinicError,
    PatientRecord,
    Window,
)

T = TypeVar("T")


class SandboxRelay:
    def __init__(self, inner: Clinic, emulator: Emulator, emr: str, notes: list[Note]) -> None:
        self._inner = inner
        self._emulator = emulator
        self._emr = emr
        self._notes = notes

    def capabilities(self) -> Capabilities:
        return self._inner.capabilities()

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        """Looked up alone (`appointments_in` is not passed on): the list is then read by its
        own call, so each injected fault is noted against the one call that met it."""
        return await self._watch("find_patient", self._inner.find_patient(personal_number))

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        unknown = self._awaiting_reread()
        try:
            listed = await self._watch(
                "list_appointments", self._inner.list_appointments(patient_id, start, end)
            )
        except ClinicError:
            if unknown is not None:
                unknown.reread = "did_reread_failed"
            raise
        if unknown is not None:
            unknown.reread = "did_reread"
        return listed

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        since = len(self._emulator.outbox())
        try:
            return await self._watch("cancel", self._inner.cancel(appointment_ids, comment))
        finally:  # a lost answer may still have sent the SMS
            self._note_sms(since, appointment_ids)

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        return await self._watch("confirm", self._inner.confirm(pending_id, code))

    async def _watch(self, operation: str, call: Awaitable[T]) -> T:
        """Run one clinic call, noting a fault it met and what came of it."""
        with watching() as attempts:
            try:
                result = await call
            except ClinicError as error:
                self._note(fault_note(operation, attempts, error))
                raise
        self._note(fault_note(operation, attempts, None))
        return result

    def _note(self, note: FaultNote | None) -> None:
        if note is not None:
            self._notes.append(note)

    def _awaiting_reread(self) -> FaultNote | None:
        """The note of a write whose outcome was unknown and not yet read again, if any."""
        for note in reversed(self._notes):
            if isinstance(note, FaultNote):
                waiting = note.action == "did_unknown" and note.reread is None
                return note if waiting else None
        return None

    def _note_sms(self, since: int, appointment_ids: Sequence[str]) -> None:
        # a chain's ids name their care unit first: the emulator's SMS names the Leyr id
        wanted = {i.partition(CHAIN_SEPARATOR)[2] or i for i in appointment_ids}
        for sms in self._emulator.outbox()[since:]:
            record = self._emulator.appointment(self._emr, sms.appointment_id)
            if sms.appointment_id in wanted and record is not None:
                self._notes.append(SmsNote(record.start, sms.code))
