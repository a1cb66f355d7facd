"""Which national identity numbers Leyr can look patients up by.

Leyr documents the patient id types `se_personal_number` and `no_personal_number` (Swedish
samordningsnummer and Norwegian D-numbers have the same shapes and go under them); it has none for
Danish CPR or Finnish henkilötunnus, and we invent none. `identity_gap` is the plain sentence
`python -m bot doctor` shows a clinic whose patients cannot be identified.
"""

from __future__ import annotations

from bot.leyr.models import PatientIdType
from dialogs.config import ID_KINDS, IdKind

LEYR_ID_TYPES: dict[IdKind, PatientIdType | None] = {
    "se_personal_number": "se_personal_number",
    "no_personal_number": "no_personal_number",
    "dk_cpr": None,
    "fi_hetu": None,
}
"""Leyr's patient id type for each number, None where Leyr has none."""

NAMES: dict[IdKind, str] = {
    "se_personal_number": "Swedish personnummer",
    "no_personal_number": "Norwegian fødselsnummer",
    "dk_cpr": "Danish CPR number",
    "fi_hetu": "Finnish henkilötunnus",
}


def identity_gap(region: str) -> str | None:
    """Why patients of a clinic in `region` cannot be identified through Leyr, or None if they
    can (as far as Leyr's id types go: the EHR must also accept the type)."""
    kind = ID_KINDS[region]
    if LEYR_ID_TYPES[kind] is not None:
        return None
    return (
        f"Leyr has no patient id type for the {NAMES[kind]} (CLINIC_REGION={region}): the bot "
        "cannot look patients up by it, so they are told to call the clinic."
    )
