"""Typed shapes of what Leyr sends and receives (pydantic); see ../shared/leyr-api.md."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CANCELLED = "cancelled"
BOOKED = "booked"
AWAITING_CONFIRMATION = "awaiting_confirmation"

PatientIdType = Literal["emr_id", "se_personal_number", "no_personal_number", "nhs_number"]


class LeyrModel(BaseModel):
    """Leyr may add fields at any time: keep what we know, ignore the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class CareUnit(LeyrModel):
    id: str
    name: str | None = None  # [assumed] present


class Resource(LeyrModel):
    """A practitioner (or room) that appointments are booked with."""

    id: str
    name: str | None = None


class Patient(LeyrModel):
    id: str
    emr_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    care_unit_id: str | None = None
    phones: list[str] = Field(default_factory=list)  # [assumed] E.164, as given at creation
    emails: list[str] = Field(default_factory=list)  # [assumed]


class Appointment(LeyrModel):
    id: str
    start: AwareDatetime
    end: AwareDatetime
    status: str  # booked, awaiting_confirmation, completed, cancelled, or others we show as-is
    comment: str | None = None
    care_unit_id: str | None = None
    patient_id: str | None = None  # [assumed] in responses
    resource_id: str | None = None  # [assumed] in responses
    healthcare_service_id: str | None = None  # [assumed] in responses


class ErrorItem(LeyrModel):
    error_code: str
    details: str | None = None
    emr_error: object | None = None
    path: str | None = None


class ErrorEnvelope(LeyrModel):
    """Leyr's RFC 7807 style error body. `detail` may hold raw EHR text: never log it."""

    code: str
    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


def typed_patient_id(id_type: PatientIdType, value: str) -> str:
    """Leyr's typed patient id, `{type}:{value}` (a bare value would mean `emr_id`)."""
    return f"{id_type}:{value}"


__all__ = [
    "AWAITING_CONFIRMATION",
    "BOOKED",
    "CANCELLED",
    "Appointment",
    "CareUnit",
    "ErrorEnvelope",
    "ErrorItem",
    "Patient",
    "PatientIdType",
    "Resource",
    "typed_patient_id",
]
