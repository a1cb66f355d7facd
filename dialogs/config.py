"""The clinic-specific knobs of the dialog, filled by the service from its settings."""

from __future__ import annotations

from dataclasses import dataclass
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
