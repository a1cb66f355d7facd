"""The contract with Leyr as a table: one row per way an EHR behind Leyr may answer, each driven
through the real dialog, `LeyrClinic` and client against the emulator (a witness written from
Leyr's docs, not from the bot's models), asserting what the patient sees and which Leyr calls
were made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.leyr.capabilities import Support, support_for
from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.seed import synthetic_personal_number
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from dialogs import Services
from dialogs.events import Command, Contact, Text
from tests.support.dialog_driver import Driver
from tests.support.fake_clinic import PERSONAL_NUMBER, PHONE, config, digest

CLINIC_PHONE = "+46 8 123 456 00"
BOOKED_DAY_3 = "Thursday 5 March, 09:00"  # a-002: three days ahead, 09:00 in Stockholm
CANCELLED = "✅ Cancelled"
THREE_CANCELLED = (
    f"{CANCELLED}: {BOOKED_DAY_3}",
    f"{CANCELLED}: Tuesday 10 March, 14:00",
    f"{CANCELLED}: Tuesday 17 March, 10:00",
)
WRONG_CODE = "That code was not right. 4 tries left."
NO_LOOKUP = "does not allow looking up patients through this chat"
NO_LIST = "does not allow showing appointments through this chat"
CANNOT_CANCEL = "does not allow cancelling through this chat"
NOT_HERE = "does not let this chat cancel appointments"
CANNOT_VERIFY = "cannot verify"


async def no_sleep(_: float) -> None:
    return None


@dataclass
class Visit:
    """One patient's run: the emulator, the dialog and everything the patient was shown."""

    emulator: Emulator
    driver: Driver
    seen: list[str] = field(default_factory=list)

    async def send(self, event: Any) -> str:
        await self.driver.send(event)
        text = self.driver.text()
        self.seen.append(text)
        return text

    async def press(self, label: str) -> str:
        await self.driver.press(label)
        text = self.driver.text()
        self.seen.append(text)
        return text

    async def identify(self, number: str = PERSONAL_NUMBER) -> str:
        await self.send(Command("start"))
        await self.send(Contact(PHONE.lstrip("+"), own=True))
        return await self.send(Text(number))

    async def codes(self) -> None:
        """Type each SMS code the emulator sent, in order, while the dialog asks for one."""
        sent = iter(list(self.emulator.outbox()))
        while "SMS" in self.driver.text() and (sms := next(sent, None)) is not None:
            await self.send(Text(sms.code))

    def transcript(self) -> str:
        return "\n".join(self.seen)


@pytest.fixture
async def visit_for() -> AsyncIterator[Callable[[str, bool], Visit]]:
    clients: list[LeyrClient] = []

    def make(emr: str, table: bool = True) -> Visit:
        driver = Driver()
        emulator = Emulator(seed=5, now=lambda: driver.now, sleep=no_sleep)
        client = LeyrClient(
            base_url="http://leyr.invalid/api",
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            emr=emr,
            care_unit_id=SANDBOX_CARE_UNIT,
            transport=emulator.transport(),
            sleep=no_sleep,
        )
        clients.append(client)
        clinic = LeyrClinic(client, support=support_for(emr) if table else Support())
        driver.services = Services(clinic=clinic, config=config(), digest=digest)
        return Visit(emulator, driver)

    yield make
    for client in clients:
        await client.aclose()


# -- flows: what the patient does --------------------------------------------------------------
async def cancel_one(v: Visit) -> None:
    assert BOOKED_DAY_3 in await v.identify()
    await v.press("2.")
    await v.press("Yes, cancel")
    await v.codes()


async def cancel_one_twice(v: Visit) -> None:
    await cancel_one(v)
    await v.send(Command("start"))


async def cancel_three(v: Visit) -> None:
    await v.identify()
    await v.press("Cancel several")
    for number in ("2.", "3.", "4."):
        await v.press(number)
    await v.press("Continue")
    await v.press("Yes, cancel")
    await v.codes()


async def wrong_code_then_right(v: Visit) -> None:
    await v.identify()
    await v.press("2.")
    await v.press("Yes, cancel")
    sms = v.emulator.outbox()[-1]
    await v.send(Text("000000" if sms.code != "000000" else "111111"))
    await v.send(Text(sms.code))


async def identify_only(v: Visit) -> None:
    await v.identify()


async def unknown_like_mismatch(v: Visit) -> None:
    unknown = await v.identify(synthetic_personal_number(7))
    mismatch = await v.send(Text("198112189876"))  # a patient, but not with this phone
    assert unknown == mismatch


async def start_only(v: Visit) -> None:
    await v.send(Command("start"))


async def deadline_passes_on_confirm(v: Visit) -> None:
    await v.identify()
    await v.press("2.")
    v.driver.later(days=2, hours=12)  # the confirm screen left open: now inside the 24 h window
    await v.press("Yes, cancel")


async def bulk_refused_then_reread(v: Visit) -> None:
    await v.identify()
    await v.press("Cancel several")
    await v.press("2.")
    await v.press("3.")
    await v.press("Continue")
    v.emulator.inject(Fault(kind="error_envelope", code="EMR_ERROR", status=409, error_code="X"))
    await v.press("Yes, cancel")


@dataclass(frozen=True)
class Row:
    name: str
    flow: Callable[[Visit], Any]
    sees: tuple[str, ...]
    calls: dict[str, int]
    emr: str = "webdoc"
    shapes: tuple[str, ...] = ()
    profile: tuple[tuple[str, Any], ...] = ()
    never: tuple[str, ...] = ()
    table: bool = True  # False: the capability table silent on the EHR, the answers decide


ONE = {"patient": 1, "list": 1, "cancel": 1}
ROWS = [
    Row("documented shapes", cancel_one, (BOOKED_DAY_3, CANCELLED), ONE),
    Row(
        "name lookups NOT_SUPPORTED: list without names, asked once",
        cancel_one_twice,
        (BOOKED_DAY_3, CANCELLED),
        {"list": 2, "cancel": 1, "care_units": 1, "resources": 1},
        shapes=("names_unsupported",),
        never=("Dr ",),
    ),
    Row(
        "name lookups failing: list without names, not asked again at once",
        cancel_one_twice,
        (BOOKED_DAY_3, CANCELLED),
        {"list": 2, "cancel": 1, "care_units": 3, "resources": 3},
        shapes=("names_failing",),
        never=("Dr ",),
    ),
    Row("`end` missing", cancel_one, (CANCELLED,), ONE, shapes=("no_end",)),
    Row(
        "date-times without offset: read in the clinic's zone",
        cancel_one,
        (BOOKED_DAY_3, CANCELLED),
        ONE,
        shapes=("naive_times",),
    ),
    Row("numeric ids", cancel_one, (CANCELLED,), ONE, shapes=("numeric_ids",)),
    Row("lists wrapped in an object", cancel_one, (CANCELLED,), ONE, shapes=("wrapped_lists",)),
    Row("minimal PATCH answer, one-step", cancel_one, (CANCELLED,), ONE, shapes=("minimal_patch",)),
    Row(
        "minimal PATCH answer, two-step",
        cancel_one,
        ("SMS", CANCELLED),
        {**ONE, "confirm": 1},
        emr="sandbox",
        shapes=("minimal_patch",),
    ),
    Row(
        "everything odd at once, two-step",
        wrong_code_then_right,
        (WRONG_CODE, CANCELLED),
        {**ONE, "confirm": 2},
        emr="sandbox",
        shapes=("no_end", "naive_times", "numeric_ids", "wrapped_lists", "minimal_patch"),
    ),
    Row(
        "wrong code as FastAPI's 422: the pending cancellation is kept",
        wrong_code_then_right,
        (WRONG_CODE, CANCELLED),
        {**ONE, "confirm": 2},
        emr="sandbox",
        shapes=("fastapi_errors",),
    ),
    Row(
        "wrong code in an envelope with odd field types: the pending cancellation is kept",
        wrong_code_then_right,
        (WRONG_CODE, CANCELLED),
        {**ONE, "confirm": 2},
        emr="sandbox",
        shapes=("odd_envelope",),
    ),
    Row(
        "listing ignores the patient filter: other patients' items never shown",
        cancel_one,
        (CANCELLED,),
        ONE,
        shapes=("foreign_items",),
        never=("Saturday 7 March, 15:00",),  # Bengt's appointment
    ),
    Row(
        "bulk PATCH NOT_SUPPORTED (takecare): one cancel each",
        cancel_three,
        THREE_CANCELLED,
        {"patient": 1, "list": 1, "bulk_cancel": 1, "cancel": 3},
        emr="takecare",
    ),
    Row(
        "bulk PATCH MAX_ITEMS_EXCEEDED (prorenata, two-step): one cancel each",
        cancel_three,
        ("SMS", *THREE_CANCELLED),
        {"patient": 1, "list": 1, "bulk_cancel": 1, "cancel": 3, "confirm": 3},
        emr="prorenata",
    ),
    Row(
        "lookup by personal number unsupported (pasientsky): told at /start, clinic's phone",
        start_only,
        (NO_LOOKUP, CLINIC_PHONE),
        {"patient": 0},
        emr="pasientsky",
        never=("share your phone number",),
    ),
    Row(
        "lookup type unsupported, table silent: the answer is a dead end with the clinic's phone",
        identify_only,
        (NO_LOOKUP, CLINIC_PHONE),
        {"patient": 1},
        emr="pasientsky",
        table=False,
    ),
    Row(
        "neither lookup nor listing (anitasystems): told at /start, clinic's phone",
        start_only,
        (NO_LIST, CLINIC_PHONE),
        {"patient": 0, "list": 0},
        emr="anitasystems",
        never=("share your phone number",),
    ),
    Row(
        "listing NOT_SUPPORTED, table silent: a dead end with the clinic's phone",
        identify_only,
        (NO_LIST, CLINIC_PHONE),
        {"patient": 1, "list": 1},
        emr="anitasystems",
        profile=(("lookup_types", frozenset({"emr_id", "se_personal_number"})),),
        table=False,
    ),
    Row(
        "cancel NOT_SUPPORTED, table silent: one sentence with the clinic's phone",
        cancel_one,
        (CANNOT_CANCEL, CLINIC_PHONE),
        {**ONE},
        emr="kaddio",
        table=False,
    ),
    Row(
        "unknown patient reads exactly like a phone mismatch",
        unknown_like_mismatch,
        ("could not find a patient",),
        {"patient": 2},
    ),
    Row(
        "EHR that cannot cancel (kaddio): told at /start, before identification",
        start_only,
        (NOT_HERE, CLINIC_PHONE),
        {"patient": 0, "list": 0},
        emr="kaddio",
        never=("share your phone number",),
    ),
    Row(
        "patient record without phones: cannot verify here, clinic's phone, no lockout",
        identify_only,
        (CANNOT_VERIFY, CLINIC_PHONE),
        {"patient": 1},
        profile=(("phones", False),),
        never=("could not find a patient",),
    ),
    Row(
        "deadline re-checked when the patient confirms",
        deadline_passes_on_confirm,
        ("❌ Not cancelled", CLINIC_PHONE),
        {"patient": 1, "list": 1, "cancel": 0},
    ),
    Row(
        "after a bulk error the appointments are re-read before the outcome",
        bulk_refused_then_reread,
        ("❌ Not cancelled",),
        {"patient": 1, "list": 2, "cancel": 0},  # the refused bulk PATCH changed nothing
        emr="sandbox",
    ),
]


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in ROWS])
async def test_contract(row: Row, visit_for: Callable[[str, bool], Visit]) -> None:
    visit = visit_for(row.emr, row.table)
    for switch in row.shapes:
        visit.emulator.shapes.set(switch, True)
    for name, value in row.profile:
        setattr(visit.emulator.ehrs[row.emr].profile, name, value)
    await row.flow(visit)
    seen = visit.transcript()
    for text in row.sees:
        assert text in seen, f"{row.name}: expected {text!r} in:\n{seen}"
    for text in row.never:
        assert text not in seen, f"{row.name}: {text!r} shown in:\n{seen}"
    operations = {name: visit.emulator.operations[name] for name in row.calls}
    assert operations == row.calls
    assert all(count <= 1 for count in visit.emulator.cancel_patches.values()), "a duplicate write"
