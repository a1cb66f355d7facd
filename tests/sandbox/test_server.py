"""The emulator over real HTTP on loopback: a two-step cancellation, the CLI (`python -m bot
sandbox`), loopback only, and keep-alive longer than its clients'."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.bench.leyr_process import LISTENING, leyr_process
from bot.leyr.models import CareUnit
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.server import bound_port, make_server
from bot.settings import SANDBOX_CARE_UNIT
from tests.support.emulator_http import (
    HEADERS,
    cancel,
    confirm,
)


async def test_real_server_two_step_over_http() -> None:
    emulator = Emulator(seed=3)
    server = make_server("127.0.0.1", 0, emulator, hold_seconds=0.2)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started
        base = f"http://127.0.0.1:{bound_port(server)}/api"
        async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=5) as c:
            pending = (await cancel(c, "a-002")).json()
            assert pending["status"] == "awaiting_confirmation"
            [sms] = emulator.outbox()
            r = await confirm(c, pending["id"], sms.code)
            assert r.json() == {**pending, "status": "cancelled"}
            assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]

            emulator.inject(Fault(kind="reset"))
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get("/emrs/sandbox/care-units")
            emulator.inject(Fault(kind="timeout"))
            with pytest.raises(httpx.ReadTimeout):
                await c.get("/emrs/sandbox/care-units", timeout=0.05)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.mark.slow
async def test_the_cli_serves_the_emulator_until_terminated() -> None:
    async with leyr_process(0) as leyr:  # `python -m bot sandbox --port 0` in its own process
        assert LISTENING.fullmatch(f"listening on {leyr.base_url}")
        r = await leyr.http.get("/emrs/sandbox/care-units")  # the helper sends both headers
        assert r.status_code == 200, r.text
        assert next(CareUnit.model_validate(u).id for u in r.json()) == SANDBOX_CARE_UNIT
        process = leyr.process
    assert not process.is_running()


def test_server_refuses_non_loopback() -> None:
    with pytest.raises(SystemExit):
        make_server("0.0.0.0", 0, Emulator())


def test_server_keeps_idle_connections_longer_than_clients_do() -> None:
    """Else server and client close an idle connection at the same moment and a call sent on it
    is lost: the server must outlast httpx's idle expiry, as API gateways do."""
    server = make_server("127.0.0.1", 0, Emulator())
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    assert server.config.timeout_keep_alive > client_expiry
