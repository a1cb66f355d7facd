"""`LeyrChain`: the dialog's `Clinic` over a clinic chain's care units on one EHR.

The patient is looked up once, at the chain's first care unit; the appointments of every care
unit are read at once, each labelled with its care unit; a cancel goes to each appointment's own
care unit (one bulk PATCH per care unit). The ids the dialog keeps name the care unit:
`{care unit id}|{Leyr id}`, so a pending cancellation finds its care unit after a restart too.
A care unit that cannot be read is named as unavailable while the others' appointments show.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from bot.settings import CHAIN_SEPARATOR, Settings
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    Clinic,
    ClinicError,
    PartlyUnavailable,
    PatientRecord,
    PendingGone,
    Window,
)

log = logging.getLogger("bot.leyr")


class LeyrChain:
    def __init__(self, units: dict[str, LeyrClinic]) -> None:
        """`units`: each care unit's clinic by care unit id, the first where patients are
        looked up."""
        self._units = units

    @classmethod
    def of(
        cls,
        client: LeyrClient,
        care_unit_ids: Sequence[str],
        settings: Settings,
        emr: str | None = None,
    ) -> LeyrChain:
        """`emr`: the EHR code when not the configured one (the sandbox's)."""
        return cls(
            {
                unit: LeyrClinic.from_settings(client.at(unit), settings, emr)
                for unit in care_unit_ids
            }
        )

    def capabilities(self) -> Capabilities:
        """One EHR serves the whole chain: what it supports is the first unit's answer."""
        return next(iter(self._units.values())).capabilities()

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        units = list(self._units.values())
        if appointments_in is None or not all(unit.lists_by_number for unit in units):
            return await units[0].find_patient(personal_number)
        found, read = await asyncio.gather(
            units[0].look_up(personal_number),
            asyncio.gather(
                *(unit.read_by_number(personal_number, appointments_in) for unit in units)
            ),
            return_exceptions=True,
        )
        if isinstance(found, BaseException):
            raise found
        if isinstance(read, BaseException):
            raise read
        answers = await asyncio.gather(
            *(
                unit.listing(found, personal_number, answer)
                for unit, answer in zip(units, read, strict=True)
            )
        )
        if any(answer is None for answer in answers):  # a care unit lists by id only
            return found
        try:
            listing: list[Appointment] | ClinicError = self._together(answers)
        except ClinicError as error:
            listing = error
        return replace(found, listing=listing)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        return self._together(
            await asyncio.gather(
                *(unit.list_appointments(patient_id, start, end) for unit in self._units.values()),
                return_exceptions=True,
            )
        )

    def _together(self, read: Sequence[object]) -> list[Appointment]:
        """Each care unit's answer (its appointments, or the error reading them met), in the
        chain's order, as one list; some unreadable: PartlyUnavailable, all: the first error."""
        listed: list[Appointment] = []
        failed: list[tuple[str, ClinicError]] = []
        for unit, answer in zip(self._units, read, strict=True):
            if isinstance(answer, ClinicError):
                failed.append((unit, answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                assert isinstance(answer, list)
                listed.extend(_in_unit(unit, a) for a in answer)
        if not failed:
            return listed
        first = failed[0][1]
        if len(failed) == len(self._units):
            raise first
        for unit, error in failed:
            log.warning(
                "care unit %s unavailable: %s code=%s", unit, type(error).__name__, error.code
            )
        names = tuple(self._name(unit) for unit, _ in failed)
        raise PartlyUnavailable(listed, names, first.reference, first.code)

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        groups: dict[str, list[str]] = {}
        for composite in appointment_ids:
            unit, local = self._split(composite)
            groups.setdefault(unit, []).append(local)
        answers = await asyncio.gather(
            *(self._units[unit].cancel(ids, comment) for unit, ids in groups.items()),
            return_exceptions=True,
        )
        outcomes: list[CancelOutcome] = []
        errors: list[ClinicError] = []
        for unit, answer in zip(groups, answers, strict=True):
            if isinstance(answer, ClinicError):
                # its ids get no outcome: unknown to the dialog, which reads again before
                # writing again, so nothing is lost or done twice
                log.warning(
                    "cancel at care unit %s: %s code=%s", unit, type(answer).__name__, answer.code
                )
                errors.append(answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                outcomes.extend(_outcome_in(unit, o) for o in answer)
        if errors and len(errors) == len(groups):
            raise errors[0]
        return outcomes

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        unit, local = self._split(pending_id)
        return _outcome_in(unit, await self._units[unit].confirm(local, code))

    def _split(self, composite: str) -> tuple[str, str]:
        unit, separator, local = composite.partition(CHAIN_SEPARATOR)
        if not separator or unit not in self._units:
            raise PendingGone(None, "UNKNOWN_CARE_UNIT")  # an id from before the chain changed
        return unit, local

    def _name(self, unit: str) -> str:
        for clinic in self._units.values():
            name = clinic.care_unit_name(unit)
            if name:
                return name
        return unit


def _in_unit(unit: str, appointment: Appointment) -> Appointment:
    resource = appointment.resource_id
    return replace(
        appointment,
        id=f"{unit}{CHAIN_SEPARATOR}{appointment.id}",
        resource_id=f"{unit}{CHAIN_SEPARATOR}{resource}" if resource else None,
        care_unit_id=unit,
    )


def _outcome_in(unit: str, outcome: CancelOutcome) -> CancelOutcome:
    return CancelOutcome(
        f"{unit}{CHAIN_SEPARATOR}{outcome.requested_id}",
        f"{unit}{CHAIN_SEPARATOR}{outcome.id}",
        outcome.status,
    )


def leyr_clinic(
    client: LeyrClient, settings: Settings, care_unit_ids: Sequence[str], emr: str | None = None
) -> Clinic:
    """The clinic over Leyr: one care unit, or a chain of them. `emr`: the EHR code when not
    the configured one (the sandbox's, whose capabilities no setting overrides)."""
    if len(care_unit_ids) > 1:
        return LeyrChain.of(client, care_unit_ids, settings, emr)
    return LeyrClinic.from_settings(client.at(care_unit_ids[0]), settings, emr)
