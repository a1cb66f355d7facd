"""The dialog's memory of one chat, persisted as JSON between messages (and across restarts).

It holds no personal number, phone number or SMS code: the phone is kept only as a keyed digest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Outcome = Literal["cancelled", "not_cancelled", "unknown"]
Blocked = Literal["deadline", "status"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Shown(_Model):
    """An appointment as last listed to the patient."""

    id: str
    start: AwareDatetime
    status: str
    care_unit: str
    practitioner: str
    resource_id: str | None = None
    blocked: Blocked | None = None
    pending_id: str | None = None  # the EHR lists a cancellation of it waiting for a code
    care_unit_id: str | None = None

    @property
    def cancellable(self) -> bool:
        return self.blocked is None

    @property
    def awaiting(self) -> bool:
        return self.pending_id is not None


class Pending(_Model):
    """A two-step cancellation waiting for the patient's SMS code."""

    original_id: str
    new_id: str
    expires_at: AwareDatetime
    attempts_left: int
    dead: Literal["expired", "locked"] | None = None
    resumed: bool = False  # taken up again from the list: its SMS was sent in an earlier step


class Result(_Model):
    appointment_id: str
    outcome: Outcome
    reason: str | None = None  # a catalog key saying why not
    reference: str | None = None


class DialogContext(_Model):
    language: str = "en"
    patient_id: str | None = None
    linked_at: AwareDatetime | None = None  # when the patient last proved who they are
    seen_at: AwareDatetime | None = None  # the chat's last step
    phone_digest: str | None = None
    generation: int = 0
    appointments: list[Shown] = Field(default_factory=list)
    unavailable_units: list[str] = Field(default_factory=list)  # a chain's, by name
    multi: bool = False
    selected: list[str] = Field(default_factory=list)
    comment: str | None = None
    comment_until: AwareDatetime | None = None  # free text is not kept longer than this
    page: int = 0  # of a long list, PAGE_SIZE appointments at a time
    pending: list[Pending] = Field(default_factory=list)
    parked: list[Pending] = Field(default_factory=list)  # set aside, still valid at the EHR
    results: list[Result] = Field(default_factory=list)
    resends: dict[str, list[date]] = Field(default_factory=dict)  # days of each cancel PATCH
    identity_failures: list[AwareDatetime] = Field(default_factory=list)
    reread_needed: bool = False
    note: str | None = None  # a catalog key: the outcome when no cancellation was tried
    note_reference: str | None = None
    note_retry: bool = False

    def shown(self, appointment_id: str) -> Shown | None:
        return next((a for a in self.appointments if a.id == appointment_id), None)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def load(cls, data: dict[str, Any]) -> DialogContext:
        return cls.model_validate(data)


def recent(times: list[datetime], since: datetime) -> list[datetime]:
    return [t for t in times if t >= since]
