"""Cancelling on the emulator: one-step, two-step with its SMS code (right, wrong, expired, sent
again), and bulk PATCHes with mixed outcomes."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.leyr.models import Appointment
from bot.sandbox.emulator import Emulator
from tests.support.clock import Clock, Sleeps
from tests.support.emulator_http import (
    HEADERS,
    MAIN_PHONE,
    UNIT,
    cancel,
    confirm,
    error_code,
    listing,
)


async def test_one_step_cancel(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await cancel(client, "a-003", comment="Feeling better")
    assert r.status_code == 200
    got = Appointment.model_validate(r.json())
    assert (got.id, got.status, got.comment) == ("a-003", "cancelled", "Feeling better")
    assert not emulator.outbox()
    assert emulator.cancel_count("a-003") == 1
    assert ("PATCH", f"/api{UNIT}/appointments/a-003") in emulator.calls
    again = await cancel(client, "a-003")
    assert error_code(again) == "BAD_INPUT"
    assert emulator.cancel_count("a-003") == 2


async def test_two_step_cancel_with_right_code(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    r = await cancel(client, "a-002", comment="Sick")
    assert r.status_code == 200
    pending = Appointment.model_validate(r.json())
    assert pending.id != "a-002"
    assert pending.status == "awaiting_confirmation"
    original = emulator.appointment("sandbox", "a-002")
    assert original is not None
    assert original.status == "booked"
    assert (pending.start, pending.end, pending.resource_id, pending.patient_id) == (
        original.start,
        original.end,
        original.resource_id,
        original.patient_id,
    )
    [sms] = emulator.outbox(MAIN_PHONE)
    assert (sms.appointment_id, sms.pending_id, sms.phone) == ("a-002", pending.id, MAIN_PHONE)
    assert len(sms.code) == 6
    assert sms.code.isdigit()
    assert sms.text == f"Your code to cancel your appointment on 5 Mar at 09:00: {sms.code}"

    listed = {a.id: a.status for a in await listing(client)}
    assert listed["a-002"] == "booked"
    assert listed[pending.id] == "awaiting_confirmation"

    r = await confirm(client, pending.id, sms.code)
    assert r.status_code == 200
    done = Appointment.model_validate(r.json())
    assert (done.id, done.status) == (pending.id, "cancelled")
    assert original.status == "cancelled"
    assert original.comment == "Sick"
    listed = {a.id: a.status for a in await listing(client)}
    assert pending.id not in listed
    assert listed["a-002"] == "cancelled"
    again = await confirm(client, pending.id, sms.code)
    assert error_code(again) == "INVALID_APPOINTMENT_ID"


async def test_two_step_wrong_code_keeps_pending(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    pending_id = (await cancel(client, "a-002")).json()["id"]
    [sms] = emulator.outbox()
    wrong = "000000" if sms.code != "000000" else "111111"
    r = await confirm(client, pending_id, wrong)
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_REQUEST"
    assert error_code(r) == "BAD_INPUT"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    r = await confirm(client, pending_id, sms.code)
    assert r.json()["status"] == "cancelled"


async def test_two_step_code_expires(
    client: httpx.AsyncClient, emulator: Emulator, clock: Clock
) -> None:
    pending_id = (await cancel(client, "a-002")).json()["id"]
    [sms] = emulator.outbox()
    clock.now += timedelta(minutes=10, seconds=1)
    for _ in range(2):  # leyr-api.md: a wrong or expired code is 400 BAD_REQUEST, BAD_INPUT
        r = await confirm(client, pending_id, sms.code)
        assert r.status_code == 400
        assert r.json()["code"] == "BAD_REQUEST"
        assert error_code(r) == "BAD_INPUT"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    assert pending_id not in {a.id for a in await listing(client)}
    again = (await cancel(client, "a-002")).json()["id"]  # a new code replaces the expired one
    assert error_code(await confirm(client, pending_id, sms.code)) == "INVALID_APPOINTMENT_ID"
    assert (await confirm(client, again, emulator.outbox()[-1].code)).json()["status"] == (
        "cancelled"
    )


async def test_two_step_resend_invalidates_old_pending(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = (await cancel(client, "a-002")).json()["id"]
    second = (await cancel(client, "a-002")).json()["id"]
    assert first != second
    old, new = emulator.outbox()
    assert (old.pending_id, new.pending_id) == (first, second)
    r = await confirm(client, first, old.code)
    assert error_code(r) == "INVALID_APPOINTMENT_ID"
    listed = {a.id for a in await listing(client)}
    assert first not in listed
    assert second in listed
    assert (await confirm(client, second, new.code)).json()["status"] == "cancelled"
    assert emulator.cancel_count("a-002") == 2


async def test_codes_are_deterministic_per_seed(clock: Clock, sleeps: Sleeps) -> None:
    codes = []
    for _ in range(2):
        emulator = Emulator(seed=42, now=clock, sleep=sleeps)
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
        ) as c:
            await cancel(c, "a-002")
        codes.append(emulator.outbox()[0].code)
    assert codes[0] == codes[1]


async def test_bulk_mixed_outcomes_two_step(client: httpx.AsyncClient, emulator: Emulator) -> None:
    ids = ["a-002", "a-006", "a-003", "a-007"]
    r = await client.patch(f"{UNIT}/appointments", json={"ids": ids, "status": "cancelled"})
    assert r.status_code == 200
    got = [Appointment.model_validate(a) for a in r.json()]
    assert [a.status for a in got] == [
        "awaiting_confirmation",
        "cancelled",
        "awaiting_confirmation",
        "completed",
    ]
    assert got[1].id == "a-006"
    assert got[3].id == "a-007"
    assert len({got[0].id, got[2].id, "a-002", "a-003"}) == 4
    sent = emulator.outbox()
    assert [s.appointment_id for s in sent] == ["a-002", "a-003"]
    assert sent[0].code != sent[1].code or sent[0].pending_id != sent[1].pending_id
    assert [s.text for s in sent] == [  # each SMS names its own appointment (Stockholm time)
        f"Your code to cancel your appointment on 5 Mar at 09:00: {sent[0].code}",
        f"Your code to cancel your appointment on 10 Mar at 14:00: {sent[1].code}",
    ]
    for item, sms in zip([got[0], got[2]], sent, strict=True):
        assert (await confirm(client, item.id, sms.code)).json()["status"] == "cancelled"
    assert emulator.appointment("sandbox", "a-003").status == "cancelled"  # type: ignore[union-attr]


async def test_bulk_one_step(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await client.patch(
        f"{UNIT}/appointments", json={"ids": ["a-004", "a-005"], "status": "cancelled"}
    )
    assert [(a["id"], a["status"]) for a in r.json()] == [
        ("a-004", "cancelled"),
        ("a-005", "cancelled"),
    ]
    assert not emulator.outbox()


async def test_bulk_unknown_id_applies_nothing(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await client.patch(
        f"{UNIT}/appointments", json={"ids": ["a-002", "zzz"], "status": "cancelled"}
    )
    assert r.status_code == 400
    assert error_code(r) == "INVALID_APPOINTMENT_ID"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    r = await client.patch(
        f"{UNIT}/appointments",
        json={"ids": [f"a-{i:03d}" for i in range(1, 12)], "status": "cancelled"},
    )
    assert error_code(r) == "MAX_ITEMS_EXCEEDED"
    assert emulator.appointment("sandbox", "a-001").status == "booked"  # type: ignore[union-attr]
