"""`LeyrChain` against the Leyr emulator's chain of three care units: the appointments of every
care unit read at once and labelled with it, cancels sent to each appointment's own care unit
(one PATCH per care unit), and a care unit that fails named while the others still show."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.leyr.chain import LeyrChain
from bot.leyr.client import LeyrClient
from bot.sandbox.emulator import Emulator
from bot.settings import (
    SANDBOX_CARE_UNITS,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_EMR,
    load_settings,
)
from dialogs.clinic import ClinicUnavailable, PartlyUnavailable

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = (NOW, NOW + timedelta(days=90))
GRETA = "p-1006"  # the sandbox chain's patient: one appointment at each care unit
NAMES = ["Sandbox Clinic Södermalm", "Sandbox Clinic Kungsholmen", "Sandbox Clinic Solna"]

Handler = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


class Around(httpx.AsyncBaseTransport):
    """The emulator's transport, with a hook that may answer a request itself."""

    def __init__(self, inner: httpx.AsyncBaseTransport, hook: Handler) -> None:
        self._inner, self._hook = inner, hook

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._hook(request)
        return answer if answer is not None else await self._inner.handle_async_request(request)


async def passthrough(request: httpx.Request) -> httpx.Response | None:
    return None


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(now=lambda: NOW)


async def chain_over(
    emulator: Emulator, hook: Handler = passthrough
) -> AsyncIterator[tuple[LeyrChain, LeyrClient]]:
    client = LeyrClient(
        base_url="http://sandbox/api",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        emr=SANDBOX_EMR,
        care_unit_id=SANDBOX_CARE_UNITS[0],
        transport=Around(emulator.transport(), hook),
        sleep=lambda _: asyncio.sleep(0),
    )
    async with client:
        yield LeyrChain.of(client, SANDBOX_CARE_UNITS, load_settings(_env_file=None)), client


async def test_every_care_units_appointments_read_at_once_and_labelled(
    emulator: Emulator,
) -> None:
    arrived = asyncio.Barrier(len(SANDBOX_CARE_UNITS))

    async def together(request: httpx.Request) -> None:
        if request.url.path.endswith("/appointments"):
            await asyncio.wait_for(arrived.wait(), 5)  # only passes if all three are in flight

    async for chain, _ in chain_over(emulator, together):
        listed = await chain.list_appointments(GRETA, *WINDOW)
    assert sorted(a.care_unit for a in listed) == sorted(NAMES)
    assert {a.care_unit_id for a in listed} == set(SANDBOX_CARE_UNITS)
    assert all(a.id.startswith(f"{a.care_unit_id}|a-k") for a in listed)


async def test_two_at_different_care_units_cancel_in_one_go_each_at_its_own(
    emulator: Emulator,
) -> None:
    async for chain, _ in chain_over(emulator):
        listed = sorted(await chain.list_appointments(GRETA, *WINDOW), key=lambda a: a.start)
        first, second = listed[0], listed[1]
        assert first.care_unit_id != second.care_unit_id
        outcomes = await chain.cancel([first.id, second.id], None)
        assert [o.requested_id for o in outcomes] == [first.id, second.id]
        assert all(o.status == "awaiting_confirmation" for o in outcomes)  # two-step sandbox
        for outcome in outcomes:
            unit = outcome.requested_id.split("|")[0]
            assert outcome.id.startswith(f"{unit}|c-")
            sms = next(s for s in emulator.outbox() if outcome.id.endswith(s.pending_id))
            confirmed = await chain.confirm(outcome.id, sms.code)
            assert confirmed.status == "cancelled"
    patches = [path for method, path in emulator.calls if method == "PATCH"]
    for appointment in (first, second):
        unit, local = appointment.id.split("|")
        assert any(f"/care-units/{unit}/appointments" in path for path in patches)
        record = emulator.appointment(SANDBOX_EMR, local)
        assert record is not None and record.status == "cancelled"


async def test_a_failing_care_unit_is_named_while_the_others_show(emulator: Emulator) -> None:
    async def kungsholmen_down(request: httpx.Request) -> httpx.Response | None:
        if f"/care-units/{SANDBOX_CARE_UNITS[1]}/appointments" in request.url.path:
            raise httpx.ConnectError("down", request=request)
        return None

    async for chain, _ in chain_over(emulator, kungsholmen_down):
        with pytest.raises(PartlyUnavailable) as caught:
            await chain.list_appointments(GRETA, *WINDOW)
    assert caught.value.units == ("Sandbox Clinic Kungsholmen",)
    assert sorted(a.care_unit for a in caught.value.appointments) == sorted([NAMES[0], NAMES[2]])


async def test_when_every_care_unit_fails_the_listing_fails(emulator: Emulator) -> None:
    async def all_down(request: httpx.Request) -> httpx.Response | None:
        raise httpx.ConnectError("down", request=request)

    async for chain, _ in chain_over(emulator, all_down):
        with pytest.raises(ClinicUnavailable):
            await chain.list_appointments(GRETA, *WINDOW)


async def test_a_cancel_that_fails_at_one_care_unit_leaves_its_outcome_unknown(
    emulator: Emulator,
) -> None:
    async def solna_refuses_writes(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH" and f"/care-units/{SANDBOX_CARE_UNITS[2]}/" in str(
            request.url
        ):
            raise httpx.ReadTimeout("lost", request=request)
        return None

    async for chain, _ in chain_over(emulator, solna_refuses_writes):
        listed = await chain.list_appointments(GRETA, *WINDOW)
        by_unit = {a.care_unit_id: a.id for a in listed}
        ids = [by_unit[SANDBOX_CARE_UNITS[0]], by_unit[SANDBOX_CARE_UNITS[2]]]
        outcomes = await chain.cancel(ids, None)
    assert [o.requested_id for o in outcomes] == [ids[0]]  # Solna's: unknown, read again first


GRETAS_NUMBER = "197802142351"


async def test_the_lookup_and_every_care_units_listing_by_number_go_out_together(
    emulator: Emulator,
) -> None:
    arrived = asyncio.Barrier(1 + len(SANDBOX_CARE_UNITS))

    async def together(request: httpx.Request) -> None:
        by_number = GRETAS_NUMBER in str(request.url)
        if by_number and request.url.path.endswith(("/appointments", GRETAS_NUMBER)):
            await asyncio.wait_for(arrived.wait(), 5)  # only passes if all four are in flight

    async for chain, _ in chain_over(emulator, together):
        record = await chain.find_patient(GRETAS_NUMBER, WINDOW)
        by_id = await chain.list_appointments(record.patient_id, *WINDOW)
    assert record.patient_id == GRETA and isinstance(record.listing, list)
    assert sorted(a.id for a in record.listing) == sorted(a.id for a in by_id)
    assert {a.care_unit_id for a in record.listing} == set(SANDBOX_CARE_UNITS)


async def test_a_care_unit_failing_beside_the_lookup_is_named_in_the_listing(
    emulator: Emulator,
) -> None:
    async def kungsholmen_down(request: httpx.Request) -> httpx.Response | None:
        if f"/care-units/{SANDBOX_CARE_UNITS[1]}/appointments" in request.url.path:
            raise httpx.ConnectError("down", request=request)
        return None

    async for chain, _ in chain_over(emulator, kungsholmen_down):
        record = await chain.find_patient(GRETAS_NUMBER, WINDOW)
    assert isinstance(record.listing, PartlyUnavailable)
    assert record.listing.units == ("Sandbox Clinic Kungsholmen",)
    assert len(record.listing.appointments) == 2


async def test_a_care_unit_that_lists_by_its_own_id_only_makes_the_dialog_list_by_id(
    emulator: Emulator,
) -> None:
    async def solna_by_id_only(request: httpx.Request) -> httpx.Response | None:
        solna = f"/care-units/{SANDBOX_CARE_UNITS[2]}/appointments" in request.url.path
        if solna and ":" in request.url.params.get("patient_id", ""):
            return httpx.Response(400, json={"code": "BAD_REQUEST", "errors": []})
        return None

    async for chain, _ in chain_over(emulator, solna_by_id_only):
        record = await chain.find_patient(GRETAS_NUMBER, WINDOW)
        assert record.patient_id == GRETA and record.listing is None
        listings = sum(path.endswith("/appointments") for _, path in emulator.calls)
        again = await chain.find_patient(GRETAS_NUMBER, WINDOW)
        assert again.listing is None
        assert sum(path.endswith("/appointments") for _, path in emulator.calls) == listings
