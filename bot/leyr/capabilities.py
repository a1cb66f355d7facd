"""What each EHR behind Leyr supports, in one table, overridable by settings.

From the EHR table of Leyr's docs: which patient id types an EHR looks patients up by, whether it
lists appointments, cancels them through the API, and cancels several in one request. `None`
means the docs do not say: the bot tries, and the answer decides (`NOT_SUPPORTED` is then a clear
dead end for the patient). Which EHRs cancel in two steps is documented nowhere: the bot branches
on each answer, never on the EHR's name. `python -m bot doctor` prints what applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from bot.settings import SANDBOX_EMR, Settings
from dialogs.clinic import Capabilities

SE = frozenset({"emr_id", "se_personal_number"})
NO = frozenset({"emr_id", "no_personal_number"})
NORDIC = frozenset({"emr_id", "se_personal_number", "no_personal_number"})
EMR_ID = frozenset({"emr_id"})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Support:
    """One EHR's support; None: not documented, tried and decided by the answer."""

    lookup_types: frozenset[str] | None = None
    listing: bool | None = None
    cancel: bool | None = None
    bulk: bool | None = None

    def capabilities(self, id_type: str) -> Capabilities:
        """What the dialog may offer when patients identify with `id_type`."""
        return Capabilities(
            identify=self.lookup_types is None or id_type in self.lookup_types,
            listing=self.listing is not False,
            cancel=self.cancel is not False,
        )


TABLE: dict[str, Support] = {
    SANDBOX_EMR: Support(SE | NO, listing=True, cancel=True, bulk=True),
    "webdoc": Support(SE, listing=True, cancel=True),
    "takecare": Support(SE, listing=True, cancel=True),
    "prorenata": Support(SE),
    "kaddio": Support(SE, listing=True, cancel=False),  # "appointment updates not yet supported"
    "konfidens": Support(cancel=True),
    "pasientsky": Support(EMR_ID, listing=True),
    "anitasystems": Support(EMR_ID, listing=False),  # no reading of patients or appointments
    "cliniko": Support(EMR_ID, listing=True, cancel=True),
    "physica": Support(EMR_ID),
    "pridok": Support(EMR_ID),
    "muntra": Support(EMR_ID),
    "opusdental": Support(EMR_ID),
    "solvit": Support(EMR_ID),
    "millenium": Support(EMR_ID),
    "epic": Support(NORDIC),
    "dips": Support(NO),
    "easypractice": Support(NORDIC),
}


def support_for(emr: str, settings: Settings | None = None) -> Support:
    """The table's row for `emr` (an unknown code: everything tried), with the settings'
    overrides (`LEYR_CAN_LIST`, `LEYR_CAN_CANCEL`, `LEYR_BULK_CANCEL`, `LEYR_LOOKUP_ID_TYPES`)."""
    support = TABLE.get(emr, Support())
    if settings is None:
        return support
    return Support(
        lookup_types=_given(settings.leyr_lookup_id_types, support.lookup_types),
        listing=_given(settings.leyr_can_list, support.listing),
        cancel=_given(settings.leyr_can_cancel, support.cancel),
        bulk=_given(settings.leyr_bulk_cancel, support.bulk),
    )


def _given(override: T | None, default: T | None) -> T | None:
    return default if override is None else override
