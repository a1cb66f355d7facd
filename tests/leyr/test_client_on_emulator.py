"""The Leyr client against the sandbox emulator, for every flow and every injected fault, in-process
and over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from bot.leyr.errors import (
    LeyrBadRequest,
    LeyrEmrError,
    LeyrMalformedResponse,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
)
from bot.sandbox.ehr import CODE_LIFETIME
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.server import make_server
from bot.settings import (
    SANDBOX_CARE_UNIT,
    SANDBOX_CARE_UNITS,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
)
from dialogs.clinic import CodeRejected, PendingGone
from tests.support.clock import Clock, Sleeps, no_sleep

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MAIN = "191212121212"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def emulator(clock: Clock) -> Emulator:
    return Emulator(seed=7, now=clock, sleep=no_sleep)


def client_for(
    emulator: Emulator, emr: str = "sandbox", secret: str = SANDBOX_CLIENT_SECRET
) -> LeyrClient:
    return LeyrClient(
        base_url="http://sandbox.invalid/api",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
        emr=emr,
        care_unit_id=SANDBOX_CARE_UNIT,
        transport=emulator.transport(),
        sleep=no_sleep,
    )


@pytest.fixture
async def leyr(emulator: Emulator) -> AsyncIterator[LeyrClient]:
    async with client_for(emulator) as client:
        yield client


async def booked(client: LeyrClient, patient: str = "p-1001") -> list[str]:
    listed = await client.list_appointments(patient, START, START + timedelta(days=90))
    return [a.id for a in listed if a.status == "booked" and a.start - START > timedelta(days=1)]


async def test_patient_and_names(leyr: LeyrClient) -> None:
    patient = await leyr.get_patient("se_personal_number", MAIN)
    assert patient.emr_id == "p-1001" and patient.phones == ["+46701234567"]
    assert (await leyr.get_patient("emr_id", "p-1001")).id == "p-1001"
    assert [u.id for u in await leyr.list_care_units()] == list(SANDBOX_CARE_UNITS)
    assert len(await leyr.list_resources()) == 3
    for typed, code in [
        (("nhs_number", "1"), "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED"),
        (("se_personal_number", "190001010000"), "INVALID_PATIENT_ID"),
    ]:
        with pytest.raises(LeyrBadRequest) as caught:
            await leyr.get_patient(*typed)  # type: ignore[arg-type]
        assert caught.value.has(code) and caught.value.instance


async def test_the_seed_spreads_appointments(leyr: LeyrClient) -> None:
    listed = await leyr.list_appointments(
        "p-1001", START - timedelta(days=30), START + timedelta(days=90)
    )
    statuses = {a.status for a in listed}
    assert {"booked", "cancelled", "completed"} <= statuses
    assert any(timedelta(0) < a.start - START < timedelta(hours=24) for a in listed)
    assert len({a.resource_id for a in listed}) >= 2
    assert await leyr.list_appointments("p-1003", START, START + timedelta(days=90)) == []


async def test_one_step_cancel(emulator: Emulator) -> None:
    async with client_for(emulator, "webdoc") as leyr:
        target = (await booked(leyr))[0]
        done = await leyr.cancel_appointment(target, "feeling better")
        assert (done.id, done.status) == (target, "cancelled")
        assert emulator.appointment("webdoc", target).comment == "feeling better"  # type: ignore[union-attr]
        assert emulator.outbox() == []
        with pytest.raises(LeyrBadRequest) as caught:
            await leyr.cancel_appointment(target)
        assert caught.value.has("BAD_INPUT")


async def test_two_step_right_code(emulator: Emulator, leyr: LeyrClient) -> None:
    target = (await booked(leyr))[0]
    pending = await leyr.cancel_appointment(target)
    assert pending.status == "awaiting_confirmation" and pending.id != target
    [sms] = emulator.outbox("+46701234567")
    assert sms.pending_id == pending.id and sms.code in sms.text
    assert emulator.appointment("sandbox", target).status == "booked"  # type: ignore[union-attr]
    listed = {
        a.id: a.status
        for a in await leyr.list_appointments("p-1001", START, START + timedelta(days=90))
    }
    assert listed[target] == "booked" and listed[pending.id] == "awaiting_confirmation"
    done = await leyr.confirm_cancellation(pending.id, sms.code)
    assert done.status == "cancelled"
    assert emulator.appointment("sandbox", target).status == "cancelled"  # type: ignore[union-attr]


async def test_two_step_wrong_then_right_code(emulator: Emulator, leyr: LeyrClient) -> None:
    pending = await leyr.cancel_appointment((await booked(leyr))[0])
    with pytest.raises(LeyrBadRequest) as caught:
        await leyr.confirm_cancellation(
            pending.id, "000000" if emulator.outbox()[0].code != "000000" else "1"
        )
    assert caught.value.has("BAD_INPUT")
    assert (
        await leyr.confirm_cancellation(pending.id, emulator.outbox()[0].code)
    ).status == "cancelled"


async def test_two_step_expired_code(emulator: Emulator, leyr: LeyrClient, clock: Clock) -> None:
    target = (await booked(leyr))[0]
    pending = await leyr.cancel_appointment(target)
    clock.now += timedelta(minutes=11)
    with pytest.raises(LeyrBadRequest) as caught:
        await leyr.confirm_cancellation(pending.id, emulator.outbox()[0].code)
    assert caught.value.has("BAD_INPUT")  # leyr-api.md: wrong or expired codes are BAD_INPUT
    assert emulator.appointment("sandbox", target).status == "booked"  # type: ignore[union-attr]


async def test_clinic_over_the_emulator_expired_then_replaced_code(
    emulator: Emulator, leyr: LeyrClient, clock: Clock
) -> None:
    clinic = LeyrClinic(leyr)
    target = (await booked(leyr))[0]
    [first] = await clinic.cancel([target], None)
    clock.now += CODE_LIFETIME
    with pytest.raises(CodeRejected):  # expired: BAD_INPUT, like a wrong code
        await clinic.confirm(first.id, emulator.outbox()[0].code)
    [second] = await clinic.cancel([target], None)
    with pytest.raises(PendingGone):  # replaced by the new code: the old id is unknown
        await clinic.confirm(first.id, emulator.outbox()[0].code)
    done = await clinic.confirm(second.id, emulator.outbox()[1].code)
    assert (done.requested_id, done.status) == (second.id, "cancelled")


async def test_resend_replaces_the_pending_id(emulator: Emulator, leyr: LeyrClient) -> None:
    target = (await booked(leyr))[0]
    first = await leyr.cancel_appointment(target)
    second = await leyr.cancel_appointment(target)
    assert first.id != second.id and len(emulator.outbox()) == 2
    with pytest.raises(LeyrBadRequest):
        await leyr.confirm_cancellation(first.id, emulator.outbox()[0].code)
    assert (
        await leyr.confirm_cancellation(second.id, emulator.outbox()[1].code)
    ).status == "cancelled"


async def test_bulk_mixed_outcomes_and_limits(emulator: Emulator, leyr: LeyrClient) -> None:
    ids = await booked(leyr)
    listed = await leyr.list_appointments(
        "p-1001", START - timedelta(days=30), START + timedelta(days=90)
    )
    completed = next(a.id for a in listed if a.status == "completed")
    answered = await leyr.cancel_appointments([ids[0], ids[1], completed], "moving")
    assert [a.status for a in answered] == [
        "awaiting_confirmation",
        "awaiting_confirmation",
        "completed",
    ]
    assert len({a.id for a in answered[:2]}) == 2 and len(emulator.outbox()) == 2
    with pytest.raises(LeyrBadRequest) as caught:
        await leyr.cancel_appointments([ids[2], "nope"])
    assert caught.value.has("INVALID_APPOINTMENT_ID")
    assert emulator.appointment("sandbox", ids[2]).status == "booked"  # type: ignore[union-attr]
    with pytest.raises(LeyrBadRequest) as caught:
        await leyr.cancel_appointments([ids[2]] * 11)
    assert caught.value.has("MAX_ITEMS_EXCEEDED")


async def test_validation_is_400_never_422(emulator: Emulator) -> None:
    async with httpx.AsyncClient(
        transport=emulator.transport(),
        base_url="http://sandbox.invalid/api",
        headers={
            "x-leyr-client-id": SANDBOX_CLIENT_ID,
            "x-leyr-client-secret": SANDBOX_CLIENT_SECRET,
        },
    ) as http:
        unit = f"/emrs/sandbox/care-units/{SANDBOX_CARE_UNIT}"
        for response in [
            await http.patch(f"{unit}/appointments/a-002", content=b"{broken"),
            await http.patch(
                f"{unit}/appointments/a-002", json={"status": "cancelled", "start": "x"}
            ),
            await http.patch(
                f"{unit}/appointments/a-002", json={"status": "cancelled", "comment": "x" * 501}
            ),
            await http.get(f"{unit}/appointments"),
            await http.get("/emrs/sandbox/care-units/other/resources"),
        ]:
            assert response.status_code == 400
            body = response.json()
            assert (
                body["code"] == "BAD_REQUEST"
                and body["instance"]
                and body["errors"][0]["error_code"]
            )


async def test_listing_not_supported(emulator: Emulator) -> None:
    async with client_for(emulator, "anitasystems") as leyr:
        with pytest.raises(LeyrBadRequest) as caught:
            await leyr.list_appointments("p-1001", START, START + timedelta(days=9))
        assert caught.value.has("NOT_SUPPORTED")


async def test_auth_failure(emulator: Emulator) -> None:
    async with client_for(emulator, secret="wrong") as leyr:
        with pytest.raises(LeyrUnauthorized) as caught:
            await leyr.list_resources()
        assert caught.value.status == 401 and caught.value.instance


async def test_profile_switch(emulator: Emulator, leyr: LeyrClient) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    assert (await leyr.cancel_appointment((await booked(leyr))[0])).status == "cancelled"


@pytest.mark.parametrize(
    ("fault", "error", "lands"),
    [
        (Fault(kind="timeout"), LeyrOutcomeUnknown, True),
        (Fault(kind="timeout", applied=False), LeyrOutcomeUnknown, False),
        (Fault(kind="reset"), LeyrOutcomeUnknown, True),
        (Fault(kind="server_error"), LeyrOutcomeUnknown, False),
        (Fault(kind="malformed"), LeyrOutcomeUnknown, True),
        (
            Fault(kind="error_envelope", code="EMR_ERROR", error_code="EMR_ERROR"),
            LeyrEmrError,
            False,
        ),
    ],
)
async def test_each_fault_on_a_write(
    emulator: Emulator, leyr: LeyrClient, fault: Fault, error: type[Exception], lands: bool
) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    target = (await booked(leyr))[0]
    emulator.inject(fault)
    with pytest.raises(error):
        await leyr.cancel_appointment(target)
    status = emulator.appointment("sandbox", target).status  # type: ignore[union-attr]
    assert status == ("cancelled" if lands else "booked")


async def test_faults_on_reads_retry_then_give_up(emulator: Emulator, leyr: LeyrClient) -> None:
    emulator.inject(Fault(kind="server_error"))
    emulator.inject(Fault(kind="timeout"))
    assert len(await leyr.list_resources()) == 3
    emulator.inject(Fault(kind="reset", count=3))
    with pytest.raises(LeyrUnavailable):
        await leyr.list_resources()
    emulator.inject(Fault(kind="malformed"))
    with pytest.raises(LeyrMalformedResponse):
        await leyr.list_resources()


async def test_latency_uses_the_injected_sleep(clock: Clock) -> None:
    sleeps = Sleeps()
    emulator = Emulator(now=clock, sleep=sleeps)
    emulator.set_latency(200)
    async with client_for(emulator) as leyr:
        await leyr.list_resources()
    assert sleeps.delays == [0.2]


async def test_reset_and_determinism(clock: Clock) -> None:
    one, two = Emulator(seed=3, now=clock), Emulator(seed=3, now=clock)
    for emulator in (one, two):
        async with client_for(emulator) as leyr:
            await leyr.cancel_appointment((await booked(leyr))[0])
    assert one.outbox()[0].code == two.outbox()[0].code
    one.reset()
    assert one.outbox() == []


async def test_a_two_step_cancellation_over_real_http_on_loopback() -> None:
    emulator = Emulator(seed=5)
    server = make_server("127.0.0.1", 0, emulator)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn has no readiness event
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        now = datetime.now(UTC)
        async with LeyrClient(
            base_url=f"http://127.0.0.1:{port}/api",
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            emr="sandbox",
            care_unit_id=SANDBOX_CARE_UNIT,
            timeout=0.5,
        ) as leyr:
            patient = await leyr.get_patient("se_personal_number", MAIN)
            listed = await leyr.list_appointments(patient.id, now, now + timedelta(days=90))
            target = next(a.id for a in listed if a.start - now > timedelta(days=1))
            emulator.inject(Fault(kind="timeout", applied=False))
            with pytest.raises(LeyrOutcomeUnknown):
                await leyr.cancel_appointment(target)
            pending = await leyr.cancel_appointment(target)
            assert pending.status == "awaiting_confirmation"
            done = await leyr.confirm_cancellation(pending.id, emulator.outbox()[-1].code)
            assert done.status == "cancelled"
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 10)
