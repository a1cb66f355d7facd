"""`LeyrClinic`: the dialog's `Clinic` interface implemented over the Leyr client.

It resolves care-unit and practitioner names (cached, so a dialog step costs one Leyr call),
normalises phones to E.164, and turns Leyr's failures into the dialog's `ClinicError` family.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

import phonenumbers

from bot.leyr.client import LeyrClient
from bot.leyr.errors import (
    LeyrError,
    LeyrMalformedResponse,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
)
from bot.leyr.models import Appointment as LeyrAppointment
from bot.leyr.models import PatientIdType
from bot.settings import Settings
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    ClinicError,
    ClinicRefused,
    ClinicUnavailable,
    CodeRejected,
    NotSupported,
    OutcomeUnknown,
    PatientNotFound,
    PatientRecord,
    PendingGone,
)

log = logging.getLogger("bot.leyr")

NAMES_TTL_SECONDS = 3600.0
# [assumed] error codes (../shared/leyr-api.md): a wrong code is BAD_INPUT, an expired or
# replaced pending id answers INVALID_APPOINTMENT_ID, an unknown patient INVALID_PATIENT_ID.
WRONG_CODE = "BAD_INPUT"
PENDING_GONE = "INVALID_APPOINTMENT_ID"
UNKNOWN_PATIENT = "INVALID_PATIENT_ID"
NOT_SUPPORTED = "NOT_SUPPORTED"


class LeyrClinic:
    def __init__(
        self,
        client: LeyrClient,
        *,
        id_type: PatientIdType = "se_personal_number",
        region: str = "SE",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._id_type = id_type
        self._region = region
        self._clock = clock
        self._names: tuple[float, dict[str, str], dict[str, str]] | None = None

    @classmethod
    def from_settings(cls, client: LeyrClient, settings: Settings) -> LeyrClinic:
        return cls(
            client,
            id_type=cast(PatientIdType, settings.leyr_patient_id_type),
            region=settings.clinic_region,
        )

    async def find_patient(self, personal_number: str) -> PatientRecord:
        try:
            patient = await self._client.get_patient(self._id_type, personal_number)
        except LeyrError as error:
            raise _translate(error, {UNKNOWN_PATIENT: PatientNotFound}) from None
        phones = tuple(p for p in (_e164(raw, self._region) for raw in patient.phones) if p)
        return PatientRecord(patient_id=patient.emr_id or patient.id, phones=phones)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        try:
            listed = await self._client.list_appointments(patient_id, start, end)
            units, people = await self._lookup_names()
        except LeyrError as error:
            raise _translate(error) from None
        return [_appointment(a, units, people) for a in listed]

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        ids = list(appointment_ids)
        try:
            if len(ids) == 1:
                answered = [await self._client.cancel_appointment(ids[0], comment)]
            else:
                answered = await self._client.cancel_appointments(ids, comment)
        except LeyrError as error:
            raise _translate(error) from None
        if len(answered) != len(ids):
            raise OutcomeUnknown(None, "BULK_ANSWER_MISMATCH")
        return [
            CancelOutcome(requested, a.id, a.status)
            for requested, a in zip(ids, answered, strict=True)
        ]

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        try:
            answered = await self._client.confirm_cancellation(pending_id, code)
        except LeyrError as error:
            raise _translate(error, {WRONG_CODE: CodeRejected, PENDING_GONE: PendingGone}) from None
        return CancelOutcome(pending_id, answered.id, answered.status)

    async def _lookup_names(self) -> tuple[dict[str, str], dict[str, str]]:
        now = self._clock()
        if self._names is None or now - self._names[0] > NAMES_TTL_SECONDS:
            units = {u.id: u.name or "" for u in await self._client.list_care_units()}
            people = {r.id: r.name or "" for r in await self._client.list_resources()}
            self._names = (now, units, people)
        return self._names[1], self._names[2]


def _appointment(a: LeyrAppointment, units: dict[str, str], people: dict[str, str]) -> Appointment:
    return Appointment(
        id=a.id,
        start=a.start,
        end=a.end,
        status=a.status,
        care_unit=units.get(a.care_unit_id or "", ""),
        practitioner=people.get(a.resource_id or "", ""),
        resource_id=a.resource_id,
    )


def _e164(raw: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _translate(
    error: LeyrError, specific: dict[str, type[ClinicError]] | None = None
) -> ClinicError:
    code = error.error_codes[0] if error.error_codes else error.code
    if isinstance(error, LeyrOutcomeUnknown):
        return OutcomeUnknown(error.instance, code)
    if isinstance(error, LeyrUnavailable | LeyrMalformedResponse):
        return ClinicUnavailable(error.instance, code)
    if error.has(NOT_SUPPORTED):
        return NotSupported(error.instance, code)
    for error_code, kind in (specific or {}).items():
        if error.has(error_code):
            return kind(error.instance, code)
    if isinstance(error, LeyrUnauthorized):
        log.error("Leyr rejected our credentials instance=%s", error.instance)
    return ClinicRefused(error.instance, code)
