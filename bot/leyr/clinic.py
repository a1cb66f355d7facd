"""`LeyrClinic`: the dialog's `Clinic` interface implemented over the Leyr client.

It resolves care-unit and practitioner names (cached, so a dialog step costs one Leyr call),
normalises phones to E.164, and turns Leyr's failures into the dialog's `ClinicError` family.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import phonenumbers

from bot.leyr.client import LeyrClient
from bot.leyr.errors import (
    LeyrError,
    LeyrMalformedResponse,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
)
from bot.leyr.identity import LEYR_ID_TYPES
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
# [assumed] error codes (../shared/leyr-api.md): a wrong or expired code is BAD_INPUT (the dialog
# keeps its own code expiry, so it rarely sends an expired one); a pending id that is no longer
# known (replaced by a new code, or already confirmed) INVALID_APPOINTMENT_ID; an unknown
# patient INVALID_PATIENT_ID.
WRONG_CODE = "BAD_INPUT"
PENDING_GONE = "INVALID_APPOINTMENT_ID"
UNKNOWN_PATIENT = "INVALID_PATIENT_ID"
NOT_SUPPORTED = "NOT_SUPPORTED"
BULK_MISMATCH = "BULK_ANSWER_MISMATCH"  # our own code: no answer item could be matched


class LeyrClinic:
    def __init__(
        self,
        client: LeyrClient,
        *,
        id_type: PatientIdType | None = "se_personal_number",
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
            id_type=LEYR_ID_TYPES[settings.id_kind],
            region=settings.clinic_region,
        )

    async def find_patient(self, personal_number: str) -> PatientRecord:
        if self._id_type is None:  # Leyr has no id type for this country's numbers
            raise NotSupported(None, "NO_LEYR_ID_TYPE")
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
        outcomes = _match(ids, answered)
        if not outcomes:
            raise OutcomeUnknown(None, BULK_MISMATCH)
        return outcomes

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        try:
            answered = await self._client.confirm_cancellation(pending_id, code)
        except LeyrError as error:
            raise _translate(error, {WRONG_CODE: CodeRejected, PENDING_GONE: PendingGone}) from None
        return CancelOutcome(pending_id, answered.id, answered.status)

    def care_unit_name(self, care_unit_id: str) -> str | None:
        """A care unit's name, if a listing has already looked the names up."""
        return self._names[1].get(care_unit_id) if self._names else None

    async def _lookup_names(self) -> tuple[dict[str, str], dict[str, str]]:
        now = self._clock()
        if self._names is None or now - self._names[0] > NAMES_TTL_SECONDS:
            units = {u.id: u.name or "" for u in await self._client.list_care_units()}
            people = {r.id: r.name or "" for r in await self._client.list_resources()}
            self._names = (now, units, people)
        return self._names[1], self._names[2]


def _match(requested: list[str], answered: list[LeyrAppointment]) -> list[CancelOutcome]:
    """Pair the answer's items with the ids we sent, in request order. An id left out has an
    unknown outcome: the dialog then says so and re-reads before writing again."""
    wanted = set(requested)
    by_id = {a.id: a for a in answered if a.id in wanted}  # one-step, or not cancellable: same id
    rest_ids = [r for r in requested if r not in by_id]
    rest = [a for a in answered if a.id not in wanted]
    paired = dict(by_id)
    if len(rest) == len(rest_ids):
        # A two-step item carries a new id that names no requested id. Leyr answers one item per
        # id [assumed: in request order], so the remaining items are paired by position, but only
        # when exactly as many remain as ids: a surplus or shortfall makes any pairing a guess.
        paired.update(zip(rest_ids, rest, strict=True))
    elif rest_ids:
        log.warning(
            "bulk cancel answer unmatched: %s ids left, %s items left", len(rest_ids), len(rest)
        )
    return [CancelOutcome(r, paired[r].id, paired[r].status) for r in requested if r in paired]


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
