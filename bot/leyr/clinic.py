"""`LeyrClinic`: the dialog's `Clinic` interface implemented over the Leyr client.

It reads per item what the dialog needs (an offset-less time in the clinic's zone, no item of
another patient), adds care-unit and practitioner names as best-effort decoration (fetched apart
from the list, cached, negative answers too), normalises phones to E.164, falls back to single
cancels when the EHR refuses a bulk one, and turns Leyr's failures into the dialog's
`ClinicError` family as a patient needs them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.leyr.capabilities import Support, support_for
from bot.leyr.client import LeyrClient
from bot.leyr.errors import (
    LeyrApiError,
    LeyrError,
    LeyrMalformedResponse,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
)
from bot.leyr.identity import LEYR_ID_TYPES
from bot.leyr.models import Appointment as LeyrAppointment
from bot.leyr.models import AppointmentState, PatientIdType, typed_patient_id
from bot.settings import Settings
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    ClinicError,
    ClinicRefused,
    ClinicUnavailable,
    CodeRejected,
    NotSupported,
    OutcomeUnknown,
    PatientNotFound,
    PatientRecord,
    PendingGone,
    Window,
)
from dialogs.parsing import e164

log = logging.getLogger("bot.leyr")

NAMES_TTL_SECONDS = 3600.0  # names, and an EHR's refusal to give them
NAMES_RETRY_SECONDS = 300.0  # after a name lookup failed for a passing reason
ALIASES = 10_000  # patients whose Leyr id and EHR id both name them, kept in memory
# [assumed] error codes (Leyr's docs list them, not what each means for us): a wrong or expired
# code is BAD_INPUT, but any 4xx an EHR answers a confirmation with is taken as a refused code
# (the pending id stays, the patient may try again); only INVALID_APPOINTMENT_ID (or a 404) means
# the pending cancellation is gone. An unknown patient is INVALID_PATIENT_ID (or a 404); a lookup
# type the EHR lacks PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED or INVALID_PATIENT_ID_TYPE.
PENDING_GONE = "INVALID_APPOINTMENT_ID"
UNKNOWN_PATIENT = "INVALID_PATIENT_ID"
LOOKUP_TYPE_UNSUPPORTED = ("PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "INVALID_PATIENT_ID_TYPE")
NOT_SUPPORTED = "NOT_SUPPORTED"
TOO_MANY = "MAX_ITEMS_EXCEEDED"
BULK_MISMATCH = "BULK_ANSWER_MISMATCH"  # our own code: no answer item could be matched


@dataclass(frozen=True, slots=True)
class _Names:
    """Names by id, and until when they stand (an empty map when the lookup failed)."""

    until: float
    by_id: dict[str, str]


class LeyrClinic:
    def __init__(
        self,
        client: LeyrClient,
        *,
        id_type: PatientIdType | None = "se_personal_number",
        region: str = "SE",
        zone: ZoneInfo | None = None,
        support: Support | None = None,
        list_with_lookup: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._id_type = id_type
        self._region = region
        self._zone = zone or ZoneInfo("Europe/Stockholm")
        self._support = support or Support()
        self._bulk = self._support.bulk is not False
        self._clock = clock
        self._units: _Names | None = None
        self._people: _Names | None = None
        self._aliases: dict[str, str] = {}  # EHR id -> Leyr's patient id, when they differ
        self._by_number = list_with_lookup  # until the EHR refuses a listing by the number

    @classmethod
    def from_settings(
        cls, client: LeyrClient, settings: Settings, emr: str | None = None
    ) -> LeyrClinic:
        """`emr`: the EHR code when not the configured one (the sandbox's, with no overrides)."""
        return cls(
            client,
            id_type=LEYR_ID_TYPES[settings.id_kind],
            region=settings.clinic_region,
            zone=settings.zone,
            support=support_for(emr) if emr else support_for(settings.leyr_emr or "", settings),
            list_with_lookup=settings.leyr_list_with_lookup,
        )

    def capabilities(self) -> Capabilities:
        if self._id_type is None:  # Leyr has no id type for this country's numbers
            return replace(self._support.capabilities(""), identify=False)
        return self._support.capabilities(self._id_type)

    @property
    def lists_by_number(self) -> bool:
        """Whether the appointments may be listed by the typed personal number (Leyr's docs: a
        typed patient id works in the listing's filter as in the lookup), beside the lookup:
        not where the EHR is known not to list at all."""
        return self._id_type is not None and self._by_number and self._support.listing is not False

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        if appointments_in is None or not self.lists_by_number:
            return await self.look_up(personal_number)
        found, read = await asyncio.gather(
            self.look_up(personal_number),
            self.read_by_number(personal_number, appointments_in),
            return_exceptions=True,
        )
        if isinstance(found, BaseException):
            raise found
        return replace(found, listing=await self.listing(found, personal_number, read))

    async def look_up(self, personal_number: str) -> PatientRecord:
        """The patient with this personal number, alone (`find_patient` without a window)."""
        if self._id_type is None:  # Leyr has no id type for this country's numbers
            raise NotSupported(None, "NO_LEYR_ID_TYPE")
        try:
            patient = await self._client.get_patient(self._id_type, personal_number)
        except LeyrError as error:
            raise _translate_lookup(error) from None
        phones = tuple(p for p in (e164(raw, self._region) for raw in patient.phones) if p)
        patient_id = patient.emr_id or patient.id
        if patient.id != patient_id:
            if len(self._aliases) >= ALIASES:
                self._aliases.clear()
            self._aliases[patient_id] = patient.id
        return PatientRecord(patient_id=patient_id, phones=phones)

    async def read_by_number(
        self, personal_number: str, window: Window
    ) -> list[LeyrAppointment] | LeyrError:
        """What Leyr lists for the holder of this number in the window, unfiltered; a failure
        is returned, not raised: `listing` judges it once the lookup has answered."""
        assert self._id_type is not None
        try:
            return await self._client.list_appointments(
                typed_patient_id(self._id_type, personal_number), *window
            )
        except LeyrError as error:
            return error

    async def listing(
        self,
        record: PatientRecord,
        personal_number: str,
        read: list[LeyrAppointment] | BaseException,
    ) -> list[Appointment] | ClinicError | None:
        """`read_by_number`'s answer as `list_appointments` would give it for `record`'s
        patient. A request the EHR refused, where the lookup by the same id went through, means
        it lists by its own id only: None (the dialog lists by id), and the lookup goes alone
        from now on."""
        if isinstance(read, LeyrError):
            if refuses_typed_listing(read):
                log.warning(
                    "listing by %s refused (%s): by the EHR's id from now on instance=%s",
                    self._id_type,
                    _code(read),
                    read.instance,
                )
                self._by_number = False
                return None
            return _translate(read)
        if isinstance(read, BaseException):
            raise read
        assert self._id_type is not None
        typed = typed_patient_id(self._id_type, personal_number)
        return await self._own(read, record.patient_id, typed)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        try:
            listed = await self._client.list_appointments(patient_id, start, end)
        except LeyrError as error:
            raise _translate(error) from None
        return await self._own(listed, patient_id)

    async def _own(
        self, listed: list[LeyrAppointment], patient_id: str, *also: str
    ) -> list[Appointment]:
        """The items of `patient_id`'s (or of one of the ids `also` naming them), with names."""
        own = {patient_id, f"emr_id:{patient_id}", self._aliases.get(patient_id, patient_id), *also}
        mine = [a for a in listed if a.patient_id is None or a.patient_id in own]
        if len(mine) < len(listed):
            log.warning("listing held %s items of other patients, dropped", len(listed) - len(mine))
        units = await self._names("care units") if mine else {}
        people = await self._names("resources") if mine else {}
        return [self._appointment(a, units, people) for a in mine]

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        ids = list(appointment_ids)
        try:
            if len(ids) == 1:
                answered = [await self._client.cancel_appointment(ids[0], comment)]
            elif self._bulk:
                answered = await self._client.cancel_appointments(ids, comment)
            else:
                return await self._one_by_one(ids, comment)
        except LeyrApiError as error:
            if len(ids) > 1 and (error.has(NOT_SUPPORTED) or error.has(TOO_MANY)):
                log.warning("bulk cancel refused (%s): one at a time", ",".join(error.error_codes))
                self._bulk = not error.has(NOT_SUPPORTED)
                return await self._one_by_one(ids, comment)
            raise _translate(error) from None
        except LeyrError as error:
            raise _translate(error) from None
        outcomes = _match(ids, answered)
        if not outcomes:
            raise OutcomeUnknown(None, BULK_MISMATCH)
        return outcomes

    async def _one_by_one(self, ids: list[str], comment: str | None) -> list[CancelOutcome]:
        """A single PATCH per id. An id whose cancel failed is left out (its outcome unknown to
        the dialog, which re-reads); nothing answered at all raises the first failure."""
        outcomes: list[CancelOutcome] = []
        first: ClinicError | None = None
        for appointment_id in ids:
            try:
                answer = await self._client.cancel_appointment(appointment_id, comment)
            except LeyrError as error:
                failure = _translate(error)
                first = first or failure
                if isinstance(failure, ClinicUnavailable | NotSupported):
                    break  # the rest would fail alike; they stay booked
                continue
            outcomes.append(CancelOutcome(appointment_id, answer.id, answer.status))
        if not outcomes and first is not None:
            raise first
        return outcomes

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        try:
            answered = await self._client.confirm_cancellation(pending_id, code)
        except LeyrError as error:
            raise _translate_confirm(error) from None
        return CancelOutcome(pending_id, answered.id, answered.status)

    def care_unit_name(self, care_unit_id: str) -> str | None:
        """A care unit's name, if a listing has already looked the names up."""
        return self._units.by_id.get(care_unit_id) if self._units else None

    async def _names(self, kind: str) -> dict[str, str]:
        """Care-unit or practitioner names, best effort: a failed or refused lookup gives no
        names (and is not asked again for a while); it never fails the list."""
        now = self._clock()
        cached = self._units if kind == "care units" else self._people
        if cached is not None and now < cached.until:
            return cached.by_id
        try:
            if kind == "care units":
                found = {u.id: u.name or "" for u in await self._client.list_care_units()}
            else:
                found = {r.id: r.name or "" for r in await self._client.list_resources()}
            names = _Names(now + NAMES_TTL_SECONDS, found)
        except LeyrError as error:
            refused = isinstance(error, LeyrApiError) and error.status is not None
            refused = refused and 400 <= (error.status or 0) < 500
            log.warning(
                "%s names unavailable (%s), list shown without them instance=%s",
                kind,
                error.code or type(error).__name__,
                error.instance,
            )
            names = _Names(now + (NAMES_TTL_SECONDS if refused else NAMES_RETRY_SECONDS), {})
        if kind == "care units":
            self._units = names
        else:
            self._people = names
        return names.by_id

    def _appointment(
        self, a: LeyrAppointment, units: dict[str, str], people: dict[str, str]
    ) -> Appointment:
        return Appointment(
            id=a.id,
            start=self._aware(a.start),
            end=self._aware(a.end) if a.end else None,
            status=a.status,
            care_unit=units.get(a.care_unit_id or "", ""),
            practitioner=people.get(a.resource_id or "", ""),
            resource_id=a.resource_id,
        )

    def _aware(self, moment: datetime) -> datetime:
        """A time without an offset is the clinic's wall time."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._zone)


def _match(requested: list[str], answered: list[AppointmentState]) -> list[CancelOutcome]:
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


def _client_side(error: LeyrError) -> bool:
    """A 4xx refusal about the request itself (not our credentials, not a rate limit)."""
    status = error.status or 0
    return isinstance(error, LeyrApiError) and 400 <= status < 500 and status not in (401, 403)


def refuses_typed_listing(error: LeyrError) -> bool:
    """Whether a listing by a typed personal number, whose lookup went through, was refused as
    a request (any 4xx but `NOT_SUPPORTED`, credentials and rate limits): the EHR lists by its
    own id only."""
    return _client_side(error) and error.status != 429 and not error.has(NOT_SUPPORTED)


def _translate_lookup(error: LeyrError) -> ClinicError:
    """An unknown patient reads exactly like a phone mismatch (PatientNotFound); a lookup type
    the EHR does not offer is a dead end (NotSupported)."""
    code = _code(error)
    if any(error.has(c) for c in LOOKUP_TYPE_UNSUPPORTED):
        return NotSupported(error.instance, code)
    if error.has(UNKNOWN_PATIENT) or (_client_side(error) and error.status == 404):
        return PatientNotFound(error.instance, code)
    return _translate(error)


def _translate_confirm(error: LeyrError) -> ClinicError:
    """Only a pending cancellation that is gone drops it; any other refusal of the code keeps it."""
    code = _code(error)
    if error.has(NOT_SUPPORTED):
        return NotSupported(error.instance, code)
    if error.has(PENDING_GONE) or (_client_side(error) and error.status == 404):
        return PendingGone(error.instance, code)
    if _client_side(error) and error.status != 429:
        return CodeRejected(error.instance, code)
    return _translate(error)


def _code(error: LeyrError) -> str | None:
    return error.error_codes[0] if error.error_codes else error.code


def _translate(error: LeyrError) -> ClinicError:
    code = _code(error)
    if isinstance(error, LeyrOutcomeUnknown):
        return OutcomeUnknown(error.instance, code)
    if isinstance(error, LeyrUnavailable | LeyrMalformedResponse):
        return ClinicUnavailable(error.instance, code)
    if error.has(NOT_SUPPORTED):
        return NotSupported(error.instance, code)
    if isinstance(error, LeyrUnauthorized):
        log.error("Leyr rejected our credentials instance=%s", error.instance)
    return ClinicRefused(error.instance, code)
