"""Typed shapes of what Leyr sends and receives (pydantic), read as leniently as the dialog allows.

Leyr fronts many EHRs and their answers vary: an item needs only what a dialog step uses (an
appointment its `id`, `start` and `status`); ids may come as JSON numbers; a date-time may lack
its UTC offset (the clinic adapter reads it in the clinic's zone); optional fields of an odd type
are dropped rather than failing the item; an error body is read for its codes and `instance`
whatever JSON object it is (Leyr's envelope, FastAPI's `{"detail": ...}`, odd field types).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

CANCELLED = "cancelled"
BOOKED = "booked"
AWAITING_CONFIRMATION = "awaiting_confirmation"

CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")  # Leyr's codes: BAD_REQUEST, INVALID_PATIENT_ID, ...
TRACE = re.compile(r"[A-Za-z0-9-]{1,100}")  # `instance`: a UUID, or a number from odd bodies
PatientIdType = Literal["emr_id", "se_personal_number", "no_personal_number", "nhs_number"]


def _id(value: object) -> object:
    """Ids are opaque strings; some EHRs send numbers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _loose_id(value: object) -> str | None:
    """An optional id: a string or number, anything else dropped."""
    checked = _id(value)
    return checked if isinstance(checked, str) and checked else None


def _loose_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: object) -> list[str]:
    """A list of strings, from whatever came: non-strings dropped, a lone string kept."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _or_none(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """An optional field the dialog does not need: unreadable means absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return handler(value)
    except ValidationError:
        return None


LeyrId = Annotated[str, BeforeValidator(_id), Field(min_length=1)]
LooseId = Annotated[str | None, BeforeValidator(_loose_id)]
LooseText = Annotated[str | None, BeforeValidator(_loose_text)]
Texts = Annotated[list[str], BeforeValidator(_texts)]


class LeyrModel(BaseModel):
    """Leyr may add fields at any time: keep what we know, ignore the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class CareUnit(LeyrModel):
    id: LeyrId
    name: LooseText = None  # [assumed] present


class Resource(LeyrModel):
    """A practitioner (or room) that appointments are booked with."""

    id: LeyrId
    name: LooseText = None


class Patient(LeyrModel):
    id: LeyrId
    emr_id: LooseId = None
    first_name: LooseText = None
    last_name: LooseText = None
    care_unit_id: LooseId = None
    phones: Texts = Field(default_factory=list)  # [assumed] E.164, as given at creation
    emails: Texts = Field(default_factory=list)  # [assumed]


class Appointment(LeyrModel):
    """`start` and `end` may be naive (no offset): the clinic adapter reads them in its zone."""

    id: LeyrId
    start: datetime
    status: str  # booked, awaiting_confirmation, completed, cancelled, or others we show as-is
    end: Annotated[datetime | None, WrapValidator(_or_none)] = None
    comment: LooseText = None
    care_unit_id: LooseId = None
    patient_id: LooseId = None  # [assumed] in responses
    resource_id: LooseId = None  # [assumed] in responses
    healthcare_service_id: LooseId = None  # [assumed] in responses


class AppointmentState(LeyrModel):
    """What a cancel or confirm answer must hold: the id (new, for a two-step EHR) and status."""

    id: LeyrId
    status: str


def _error_items(value: object) -> list[dict[str, Any]]:
    """`errors` as a list of objects: a lone object or bare code strings are accepted too."""
    items = value if isinstance(value, list) else [value]
    return [
        item if isinstance(item, dict) else {"error_code": item}
        for item in items
        if isinstance(item, dict | str)
    ]


def _matching(pattern: re.Pattern[str]) -> Callable[[object], str | None]:
    """Keep a code or trace id only in the form Leyr writes it: free text in an odd body never
    reaches the logs or the patient."""

    def check(value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return value if isinstance(value, str) and pattern.fullmatch(value) else None

    return check


Code = Annotated[str | None, BeforeValidator(_matching(CODE))]
Trace = Annotated[str | None, BeforeValidator(_matching(TRACE))]


def _status(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class ErrorItem(LeyrModel):
    error_code: Code = None
    details: LooseText = None


class ErrorEnvelope(LeyrModel):
    """Leyr's RFC 7807 style error body, or any JSON object an error came with. `detail` may hold
    raw EHR text: it is never read."""

    code: Code = None
    type: LooseText = None
    title: LooseText = None
    status: Annotated[int | None, BeforeValidator(_status)] = None
    instance: Trace = None
    errors: Annotated[list[ErrorItem], BeforeValidator(_error_items)] = Field(default_factory=list)

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(e.error_code for e in self.errors if e.error_code)


def typed_patient_id(id_type: PatientIdType, value: str) -> str:
    """Leyr's typed patient id, `{type}:{value}` (a bare value would mean `emr_id`)."""
    return f"{id_type}:{value}"


__all__ = [
    "AWAITING_CONFIRMATION",
    "BOOKED",
    "CANCELLED",
    "Appointment",
    "AppointmentState",
    "CareUnit",
    "ErrorEnvelope",
    "ErrorItem",
    "Patient",
    "PatientIdType",
    "Resource",
    "typed_patient_id",
]
