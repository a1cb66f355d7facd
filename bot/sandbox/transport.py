"""Reach the emulator in-process exactly as over the network: a lost answer raises the same
httpx errors a real connection would (ReadTimeout, RemoteProtocolError)."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from bot.sandbox.faults import SimulatedNetworkFault


class EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except SimulatedNetworkFault as fault:
            # The app already did (or skipped) the write; only the answer is lost.
            if fault.kind == "timeout":
                raise httpx.ReadTimeout("sandbox: simulated timeout", request=request) from None
            raise httpx.RemoteProtocolError(
                "sandbox: simulated connection reset", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
