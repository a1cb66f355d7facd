"""The emulator's controls and injected faults: latency, timeouts that land the write or not, 5xx,
error envelopes, malformed answers, seeded random faults."""

from __future__ import annotations

import httpx
import pytest

from bot.leyr.models import ErrorEnvelope
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from tests.support.clock import Sleeps
from tests.support.emulator_http import (
    MAIN,
    MAIN_PHONE,
    UNIT,
    cancel,
    confirm,
    error_code,
    listing,
)


async def test_control_endpoints(client: httpx.AsyncClient, emulator: Emulator) -> None:
    r = await client.put("/_sandbox/emrs/sandbox/profile", json={"cancellation": "one_step"})
    assert r.json() == {"cancellation": "one_step", "listing": True}
    assert (await cancel(client, "a-002")).json()["status"] == "cancelled"
    await client.put("/_sandbox/emrs/sandbox/profile", json={"cancellation": "two_step"})
    await cancel(client, "a-003")
    [sms] = (await client.get("/_sandbox/outbox", params={"phone": MAIN_PHONE})).json()
    assert sms["appointment_id"] == "a-003"
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    assert (await client.get("/_sandbox/outbox")).json() == []
    r = await client.post("/_sandbox/faults", json={"kind": "server_error"})
    assert r.status_code == 200
    await client.delete("/_sandbox/faults")
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200
    r = await client.post("/_sandbox/faults", json={"kind": "explode"})
    assert error_code(r) == "BAD_INPUT"
    r = await client.put("/_sandbox/emrs/nope/profile", json={"cancellation": "one_step"})
    assert error_code(r) == "NOT_SUPPORTED"
    assert (await client.put("/_sandbox/latency", json={"ms": 5})).status_code == 200
    assert emulator.faults.latency_ms == 5


async def test_operations_are_counted_by_kind(client: httpx.AsyncClient) -> None:
    await listing(client)
    pending = (await cancel(client, "a-002")).json()
    [sms] = (await client.get("/_sandbox/outbox", params={"phone": MAIN_PHONE})).json()
    await confirm(client, pending["id"], sms["code"])
    await client.patch(f"{UNIT}/appointments", json={"ids": ["a-003"], "status": "cancelled"})
    await client.get(f"{UNIT}/patients/{MAIN}")
    await client.post("/_sandbox/reset")  # counting goes on across resets
    await listing(client)
    counted = (await client.get("/_sandbox/operations")).json()
    assert counted == {"list": 2, "cancel": 1, "confirm": 1, "bulk_cancel": 1, "patient": 1}


async def test_latency_uses_injected_sleep(
    client: httpx.AsyncClient, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.set_latency(250)
    emulator.inject(Fault(kind="latency", ms=1000))
    r = await client.get("/emrs/sandbox/care-units")
    assert r.status_code == 200
    await client.get("/emrs/sandbox/care-units")
    assert sleeps.delays == [1.25, 0.25]


async def test_timeout_lands_the_write_but_loses_the_answer(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="timeout"))
    with pytest.raises(httpx.ReadTimeout):
        await cancel(client, "a-002")
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]
    # the fault is used up
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200


async def test_timeout_not_applied_skips_the_write(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="timeout", applied=False))
    with pytest.raises(httpx.ReadTimeout):
        await cancel(client, "a-002")
    assert not emulator.outbox()


async def test_reset_after_two_step_write_leaves_pending_visible(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="reset"))
    with pytest.raises(httpx.RemoteProtocolError):
        await cancel(client, "a-002")
    [sms] = emulator.outbox()
    listed = {a.id: a.status for a in await listing(client)}
    assert listed[sms.pending_id] == "awaiting_confirmation"


async def test_server_error_does_not_write(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="server_error", count=2))
    assert (await cancel(client, "a-002")).status_code == 503
    assert (await cancel(client, "a-002")).status_code == 503
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    emulator.inject(Fault(kind="server_error", applied=True))
    assert (await cancel(client, "a-002")).status_code == 500
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]


async def test_error_envelope_fault(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.inject(
        Fault(kind="error_envelope", code="EMR_ERROR", status=502, error_code="EMR_ERROR")
    )
    r = await cancel(client, "a-002")
    assert r.status_code == 502
    body = ErrorEnvelope.model_validate(r.json())
    assert (body.code, body.errors[0].error_code) == ("EMR_ERROR", "EMR_ERROR")
    assert not emulator.outbox()


async def test_malformed_fault(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="malformed"))
    r = await cancel(client, "a-002")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]


async def test_faults_skip_control_endpoints_and_can_be_cleared(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="server_error"))
    assert (await client.get("/_sandbox/outbox")).status_code == 200
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 503
    emulator.inject(Fault(kind="server_error", count=3))
    emulator.clear_faults()
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200


async def test_random_faults_are_seeded(emulator: Emulator, client: httpx.AsyncClient) -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        emulator.reset()
        emulator.set_random_faults(0.5, seed=7)
        seen = []
        for _ in range(30):
            try:
                r = await client.get("/emrs/sandbox/care-units")
                seen.append(str(r.status_code) + (r.text[:3] if r.status_code == 200 else ""))
            except httpx.HTTPError as exc:
                seen.append(type(exc).__name__)
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert len(set(outcomes[0])) >= 3
    assert emulator.faults.injected > 0
