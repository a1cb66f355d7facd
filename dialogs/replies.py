"""What the dialog answers: texts with options, contact requests, and chores for the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Option:
    """A choice. `key` is opaque and short (adapters send it back as button data)."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message. `options` are rows of choices; `request_contact` asks for the own phone."""

    text: str
    options: tuple[tuple[Option, ...], ...] = ()
    request_contact: str | None = None  # the label of the share-my-phone button


@dataclass(frozen=True, slots=True)
class Audit:
    """One cancellation attempt's outcome, saved with the new state in one transaction."""

    appointment_id: str
    outcome: str
    new_id: str | None = None
    reference: str | None = None


@dataclass(slots=True)
class StepResult:
    """Everything a step produced, for the engine to store and the adapter to render."""

    replies: list[Reply] = field(default_factory=list)
    delete_user_message: bool = False
    audits: list[Audit] = field(default_factory=list)
    linked_patient: str | None = None
    unlinked: bool = False  # the chat's link to its patient has aged: forget it
    wake_at: datetime | None = None  # deliver a Tick then (a code expires, a reason is dropped)
    asks_contact: bool = False  # the step waits for the patient's own phone (keep its button)
    awaits_code: bool = False  # the step waits for a code (else no wake-up is due any more)
    forget: bool = False  # erase the chat's stored dialog and its link to the patient
