"""The small interface through which the dialog reaches the clinic's EHR, and what it gets back.

The dialog knows nothing of Leyr or HTTP: `bot.leyr.clinic` implements `Clinic` over the Leyr
client and turns Leyr's failures into the `ClinicError` family below:

* ClinicError            a clinic call failed (`reference`: Leyr's instance, `code`: its code)
  + ClinicUnavailable    not reached: nothing changed, worth a retry later
  + OutcomeUnknown       a write went out, its answer was lost: re-read before anything else
  + NotSupported         the EHR does not offer this through Leyr
  + PatientNotFound      no such patient at this clinic
  + CodeRejected         wrong SMS code; the pending cancellation may take another
  + PendingGone          the pending cancellation is gone (expired or replaced)
  + ClinicRefused        any other error the EHR answered with
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

Window = tuple[datetime, datetime]
"""A span of time, [start, end)."""


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """The EHR's patient: its id (what we store) and the phones on file, as E.164 strings.

    `listing`: when the lookup was asked for the patient's appointments too (`find_patient`'s
    `appointments_in`) and the clinic could read them beside it, what `list_appointments` would
    have given: the appointments, or the `ClinicError` it would have raised. None: not read. They
    belong to whoever holds that personal number: the dialog looks at them only once the phone
    on file has proved that is the patient in the chat."""

    patient_id: str
    phones: tuple[str, ...]
    listing: list[Appointment] | ClinicError | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment as the dialog shows it: names only for care unit and practitioner, and
    the care unit's id for its rules (a chain's care units may differ in deadline and phone)."""

    id: str
    start: datetime  # aware
    end: datetime | None  # aware; some EHRs leave it out
    status: str
    care_unit: str
    practitioner: str
    resource_id: str | None = None
    care_unit_id: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the clinic's EHR lets this chat do: look patients up by the personal number the chat
    asks for, list their appointments, cancel them. The dialog asks before offering any."""

    identify: bool = True
    listing: bool = True
    cancel: bool = True


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What the EHR answered for one appointment we asked to cancel (or confirm).

    `requested_id` is the id we sent; `id` and `status` are what came back. With status
    `awaiting_confirmation`, `id` is the new id that the SMS code must be sent to.
    """

    requested_id: str
    id: str
    status: str


@dataclass(frozen=True, slots=True)
class TestPatient:
    """A sandbox test patient an agent may pick instead of proving identity."""

    personal_number: str
    label: str


class ClinicError(Exception):
    """A clinic call failed. `reference` is Leyr's `instance`, to show the patient and log."""

    def __init__(self, reference: str | None = None, code: str | None = None) -> None:
        self.reference = reference
        self.code = code
        super().__init__(f"{type(self).__name__} code={code} reference={reference}")


class ClinicUnavailable(ClinicError):
    """The EHR could not be reached; nothing was changed. Worth a retry later."""


class OutcomeUnknown(ClinicError):
    """A write was sent but its answer was lost: re-read before doing anything again."""


class NotSupported(ClinicError):
    """The clinic's EHR does not offer this operation through Leyr."""


class PatientNotFound(ClinicError):
    """No patient with that id at this clinic."""


class CodeRejected(ClinicError):
    """The SMS code was wrong (or no longer accepted); the pending id may still take another."""


class PendingGone(ClinicError):
    """The pending cancellation's id is no longer known (its code expired or was replaced)."""


class ClinicRefused(ClinicError):
    """Any other error the EHR answered with."""


class PartlyUnavailable(ClinicError):
    """A chain's listing in which some care units could not be read: it carries the others'
    appointments, and the names of the care units to show as unavailable."""

    def __init__(
        self,
        appointments: list[Appointment],
        units: tuple[str, ...],
        reference: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(reference, code)
        self.appointments = appointments
        self.units = units


class Clinic(Protocol):
    """What the dialog needs from the clinic."""

    def capabilities(self) -> Capabilities:
        """What the clinic's EHR supports, known before any call."""
        ...

    async def find_patient(
        self, personal_number: str, appointments_in: Window | None = None
    ) -> PatientRecord:
        """The patient with this (normalised) personal number. Raises PatientNotFound.

        With `appointments_in`, a clinic that can read the appointments by the same number reads
        those in the window at the same time as the lookup, and gives them as `listing`: the
        patient waits for one EHR round trip instead of two in a row. One that cannot leaves
        `listing` None, and the dialog lists them by the patient's id."""
        ...

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """The patient's appointments starting in [start, end), any status. A chain whose care
        units answer only in part raises PartlyUnavailable with what it could read."""
        ...

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        """Cancel one (single PATCH) or several (one bulk PATCH). One outcome per id."""
        ...

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        """Send the SMS code to the new id of a two-step cancellation."""
        ...


class TestPatientDirectory(Protocol):
    """Sandbox only: the test patients an agent can pick from."""

    async def test_patients(self, language: str) -> list[TestPatient]:
        """The test patients, labelled in `language`."""
        ...
