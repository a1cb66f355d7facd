"""The clinic-specific knobs of the dialog, filled by the service from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

IdKind = Literal["se_personal_number", "no_personal_number", "dk_cpr", "fi_hetu"]
"""The national identity numbers a patient may type: Swedish personnummer (and samordningsnummer),
Norwegian fødselsnummer (and D-number), Danish CPR and Finnish henkilötunnus. The first two are
also Leyr's names of their patient id types."""

ID_KINDS: dict[str, IdKind] = {
    "SE": "se_personal_number",
    "NO": "no_personal_number",
    "DK": "dk_cpr",
    "FI": "fi_hetu",
}
"""The number a clinic's patients identify with, by the clinic's region."""


@dataclass(frozen=True, slots=True)
class CareUnitRules:
    """What a chain's care unit does differently from the chain: its phone, its deadline."""

    phone: str | None = None
    cancellation_deadline: timedelta | None = None


@dataclass(frozen=True, slots=True)
class DialogConfig:
    clinic_name: str
    clinic_phone: str
    zone: ZoneInfo
    region: str = "SE"
    id_kind: IdKind = "se_personal_number"
    cancellation_deadline: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=180)
    code_max_attempts: int = 5
    code_expiry: timedelta = timedelta(minutes=10)
    code_resends_per_day: int = 3
    identity_attempts_per_hour: int = 5
    identity_valid_for: timedelta = timedelta(days=30)
    identity_idle_for: timedelta = timedelta(days=7)
    max_bulk: int = 10
    comment_max_length: int = 500
    comment_kept_for: timedelta = timedelta(minutes=30)
    care_units: Mapping[str, CareUnitRules] = field(default_factory=dict)
    """By care unit id, where a chain's care unit differs from the chain."""

    def deadline_for(self, care_unit_id: str | None) -> timedelta:
        rules = self.care_units.get(care_unit_id or "")
        deadline = rules.cancellation_deadline if rules else None
        return self.cancellation_deadline if deadline is None else deadline

    def phone_for(self, care_unit_id: str | None) -> str:
        rules = self.care_units.get(care_unit_id or "")
        return (rules.phone if rules else None) or self.clinic_phone
