"""`python -m bot doctor`: read-only checks of the configured Leyr connection, before patients
meet the clinic's EHR.

With the configured credentials (or the built-in sandbox when none are set) it checks the
credentials, the care unit, patient lookup by the configured id type, listing appointments (by
the EHR's id, and by the personal number once the lookup found the patient), and the care-unit
and practitioner name lookups, then says what `bot.leyr.capabilities` holds about cancelling.
One line per check: ok, unsupported, or error with Leyr's `instance`. It never writes
and never prints personal data: the patient lookup uses a test number unless given one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.leyr.capabilities import Support, support_for
from bot.leyr.client import LeyrClient
from bot.leyr.clinic import (
    LOOKUP_TYPE_UNSUPPORTED,
    NOT_SUPPORTED,
    UNKNOWN_PATIENT,
    refuses_typed_listing,
)
from bot.leyr.errors import LeyrApiError, LeyrError, LeyrUnauthorized
from bot.leyr.identity import LEYR_ID_TYPES, identity_gap
from bot.leyr.models import PatientIdType, typed_patient_id
from bot.settings import (
    SANDBOX_CARE_UNIT,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_EMR,
    Settings,
)

Verdict = Literal["ok", "unsupported", "error"]
TEST_NUMBERS: dict[str, str] = {
    "se_personal_number": "191212121212",  # Skatteverket's published test number
    "no_personal_number": "01010100050",  # a well-formed fictional fødselsnummer
}
LISTING_PROBE_ID = "doctor-probe"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    note: str
    blocking: bool  # when not ok, the bot cannot serve patients
    instance: str | None = None

    def line(self) -> str:
        reference = f" (Leyr instance {self.instance})" if self.instance else ""
        return f"{self.verdict:<11} {self.name}: {self.note}{reference}"

    @property
    def fails(self) -> bool:
        return self.blocking and self.verdict != "ok"


async def diagnose(
    client: LeyrClient,
    *,
    care_unit_id: str,
    id_type: PatientIdType,
    support: Support,
    patient_number: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Check]:
    checks: list[Check] = []
    try:
        units = await client.list_care_units()
    except LeyrError as error:
        if not _refused_as(error, NOT_SUPPORTED):
            checks.append(_error("credentials", error, blocking=True))
            return checks
        checks.append(Check("credentials", "ok", "Leyr accepted them", blocking=True))
        checks.append(Check("care-unit names", "unsupported", "shown without", blocking=False))
    else:
        checks.append(Check("credentials", "ok", "Leyr accepted them", blocking=True))
        known = {u.id for u in units}
        if care_unit_id in known:
            checks.append(Check("care unit", "ok", "listed by the EHR", blocking=True))
        else:
            note = f"LEYR_CARE_UNIT_ID is not among the EHR's {len(known)} care units"
            checks.append(Check("care unit", "error", note, blocking=True))
        checks.append(Check("care-unit names", "ok", "shown with appointments", blocking=False))
    checks.append(await _resources(client))
    lookup, patient_id = await _lookup(client, id_type, support, patient_number)
    checks.append(lookup)
    checks.append(await _listing(client, patient_id or LISTING_PROBE_ID, support, now()))
    if lookup.verdict == "ok" and patient_id is not None and support.listing is not False:
        number = patient_number or TEST_NUMBERS[id_type]
        checks.append(await _listing_by_number(client, id_type, number, now()))
    checks.append(_cancel(support))
    return checks


async def _resources(client: LeyrClient) -> Check:
    name = "practitioner names"
    try:
        await client.list_resources()
    except LeyrError as error:
        if _refused_as(error, "INVALID_CARE_UNIT_ID"):
            return _error("care unit", error, blocking=True, note="Leyr does not know it")
        if _refused_as(error, NOT_SUPPORTED):
            return Check(name, "unsupported", "shown without", blocking=False)
        return _error(name, error, blocking=False, note="failing: shown without")
    return Check(name, "ok", "shown with appointments", blocking=False)


async def _lookup(
    client: LeyrClient, id_type: PatientIdType, support: Support, number: str | None
) -> tuple[Check, str | None]:
    name = f"patient lookup by {id_type}"
    if support.lookup_types is not None and id_type not in support.lookup_types:
        note = "the EHR looks patients up by " + ", ".join(sorted(support.lookup_types))
        return Check(name, "unsupported", note, blocking=True), None
    try:
        patient = await client.get_patient(id_type, number or TEST_NUMBERS[id_type])
    except LeyrError as error:
        if any(_refused_as(error, code) for code in (*LOOKUP_TYPE_UNSUPPORTED, NOT_SUPPORTED)):
            note = "the EHR does not look patients up by this id type"
            return _error(name, error, blocking=True, note=note, verdict="unsupported"), None
        if _refused_as(error, UNKNOWN_PATIENT) or error.status == 404:
            return Check(name, "ok", "accepted (no such patient)", blocking=True), None
        return _error(name, error, blocking=True), None
    phones = "with phones" if patient.phones else "WITHOUT phones: patients cannot be verified"
    verdict: Verdict = "ok" if patient.phones else "unsupported"
    return Check(name, verdict, f"found, {phones}", blocking=True), patient.emr_id or patient.id


async def _listing(client: LeyrClient, patient_id: str, support: Support, now: datetime) -> Check:
    name = "listing appointments"
    if support.listing is False:
        return Check(name, "unsupported", "not offered by this EHR", blocking=True)
    try:
        await client.list_appointments(patient_id, now, now + timedelta(days=1))
    except LeyrError as error:
        if _refused_as(error, NOT_SUPPORTED):
            return _error(name, error, blocking=True, verdict="unsupported", note="not offered")
        if _refused_as(error, UNKNOWN_PATIENT) or error.status == 404:
            return Check(name, "ok", "accepted (probe patient unknown)", blocking=True)
        return _error(name, error, blocking=True)
    return Check(name, "ok", "answered", blocking=True)


async def _listing_by_number(
    client: LeyrClient, id_type: PatientIdType, number: str, now: datetime
) -> Check:
    """Asked only once the lookup found the patient: whether the EHR lists by the same number,
    which lets the personal-number step read the list beside the lookup."""
    name = f"listing appointments by {id_type}"
    try:
        await client.list_appointments(
            typed_patient_id(id_type, number), now, now + timedelta(days=1)
        )
    except LeyrError as error:
        if refuses_typed_listing(error):
            note = "refused: the list is read after the lookup (one more round trip)"
            return _error(name, error, blocking=False, note=note, verdict="unsupported")
        return _error(name, error, blocking=False)
    return Check(name, "ok", "answered: the list is read beside the lookup", blocking=False)


def _cancel(support: Support) -> Check:
    name = "cancelling"
    if support.cancel is False:
        return Check(name, "unsupported", "not through the API for this EHR", blocking=True)
    known = "documented" if support.cancel else "not documented for this EHR"
    return Check(name, "ok", f"{known}; not tried (doctor only reads)", blocking=True)


def _refused_as(error: LeyrError, code: str) -> bool:
    return isinstance(error, LeyrApiError) and error.has(code)


def _error(
    name: str,
    error: LeyrError,
    *,
    blocking: bool,
    note: str | None = None,
    verdict: Verdict = "error",
) -> Check:
    what = note or (
        "Leyr rejected the credentials"
        if isinstance(error, LeyrUnauthorized)
        else f"{error.code or type(error).__name__}"
        + (f" {','.join(error.error_codes)}" if error.error_codes else "")
    )
    return Check(name, verdict, what, blocking=blocking, instance=error.instance)


async def run_doctor(
    settings: Settings, print_line: Callable[[str], object], patient_number: str | None = None
) -> int:
    """Print one line per check; 0 when the bot can serve patients, 1 when not."""
    id_type = LEYR_ID_TYPES[settings.id_kind]
    if id_type is None:
        print_line(identity_gap(settings.clinic_region) or "")
        print_line("The bot cannot serve patients: no Leyr patient id type for this region.")
        return 1
    connect: Callable[[], Awaitable[LeyrClient]]
    if settings.sandbox_only:
        from bot.sandbox.emulator import Emulator

        emulator = Emulator()

        async def connect() -> LeyrClient:
            return LeyrClient(
                base_url="http://sandbox.invalid/api",
                client_id=SANDBOX_CLIENT_ID,
                client_secret=SANDBOX_CLIENT_SECRET,
                emr=SANDBOX_EMR,
                care_unit_id=SANDBOX_CARE_UNIT,
                transport=emulator.transport(),
            )

        emr, care_unit, support = SANDBOX_EMR, SANDBOX_CARE_UNIT, support_for(SANDBOX_EMR)
        print_line("Checking the built-in sandbox (no LEYR_CLIENT_ID set).")
    else:
        emr, care_unit = settings.leyr_emr or "", (settings.care_unit_ids or ("",))[0]
        support = support_for(emr, settings)

        async def connect() -> LeyrClient:
            return LeyrClient.from_settings(settings)

        units = ", ".join(settings.care_unit_ids)
        print_line(f"Checking EHR {emr}, care unit(s) {units} at {settings.leyr_base_url}.")
    async with await connect() as client:
        checks = await diagnose(
            client,
            care_unit_id=care_unit,
            id_type=id_type,
            support=support,
            patient_number=patient_number,
        )
    for check in checks:
        print_line(check.line())
    failed = [c.name for c in checks if c.fails]
    if failed:
        print_line(f"The bot cannot serve patients: {', '.join(failed)}.")
        return 1
    print_line("The bot can serve patients.")
    return 0
