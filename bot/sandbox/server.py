"""The emulator on its own over HTTP on loopback: `python -m bot sandbox --port 8765`.

Over the network a simulated timeout holds the answer until the client gives up, and a reset
closes the connection mid-answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import uvicorn

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import SimulatedNetworkFault

HOLD_SECONDS = 120.0


class _NetworkFaults:
    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self._app(scope, receive, send)
        except SimulatedNetworkFault as fault:
            if fault.kind == "timeout":
                await asyncio.sleep(HOLD_SECONDS)
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
            raise


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_server(host: str, port: int, emulator: Emulator) -> uvicorn.Server:
    if not loopback(host):
        raise SystemExit(f"the sandbox only listens on loopback, not {host}")
    config = uvicorn.Config(
        _NetworkFaults(emulator.app), host=host, port=port, log_level="warning", lifespan="off"
    )
    return uvicorn.Server(config)


async def serve(
    host: str = "127.0.0.1", port: int = 8765, *, latency_ms: int = 0, seed: int = 1
) -> None:
    emulator = Emulator(seed=seed)
    emulator.set_latency(latency_ms)
    server = make_server(host, port, emulator)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.05)
    if server.started:
        bound = server.servers[0].sockets[0].getsockname()[1]
        print(f"Leyr sandbox listening on http://{host}:{bound}/api", flush=True)
    await task
