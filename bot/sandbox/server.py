"""The emulator on its own over HTTP on loopback: `python -m bot sandbox --port 8765` (add
`--patients N` for N synthetic patients besides the test patients).

Over the network a simulated timeout holds the answer (up to HOLD_SECONDS, cancellable) before
sending it, and a reset closes the connection mid-answer.
"""

from __future__ import annotations

import asyncio
import ipaddress

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import SimulatedNetworkFault

HOLD_SECONDS = 120.0


KEEP_ALIVE_SECONDS = 75
"""How long an idle connection stays open, longer than a client's own idle expiry (httpx: 5 s),
as API gateways do. With uvicorn's default of 5 s both ends closed idle connections at the same
moment, and a call sent on one just then was lost (RemoteProtocolError) under load."""


class NetworkFaults:
    def __init__(self, app: ASGIApp, hold_seconds: float = HOLD_SECONDS) -> None:
        self._app = app
        self._hold = min(hold_seconds, HOLD_SECONDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._app(scope, receive, send)
        except SimulatedNetworkFault as fault:
            if fault.kind == "timeout":
                await asyncio.sleep(self._hold)  # the client gives up first
                for message in fault.messages:
                    await send(message)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"1000"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
            raise  # uvicorn drops the connection mid-answer


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_server(
    host: str, port: int, emulator: Emulator, *, hold_seconds: float = HOLD_SECONDS
) -> uvicorn.Server:
    if not loopback(host):
        raise SystemExit(f"the sandbox only listens on loopback, not {host}")
    config = uvicorn.Config(
        NetworkFaults(emulator.app, hold_seconds),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # paths carry personal numbers
        lifespan="off",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return uvicorn.Server(config)


def bound_port(server: uvicorn.Server) -> int:
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


async def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    latency_ms: int = 0,
    seed: int = 1,
    synthetic_patients: int = 0,
) -> None:
    """Serve until cancelled; prints the base URL with the bound port (`port` 0 picks a free
    one) once listening."""
    emulator = Emulator(seed=seed, synthetic_patients=synthetic_patients)
    emulator.set_latency(latency_ms)
    server = make_server(host, port, emulator)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.05)
    if server.started:
        print(f"Leyr sandbox listening on http://{host}:{bound_port(server)}/api", flush=True)
    await task
