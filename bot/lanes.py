"""HTTP connections in lanes: several small httpx pools behind one transport, for Leyr and for
the Bot API alike.

httpcore's pool does work on every request and every answer in proportion to its open
connections: each idle one is asked whether its socket turned readable (a `getpeername` and a
`poll` per connection, encode/httpcore#928), and its keep-alive check grows with their square
(encode/httpcore#1035). With 64 connections to Leyr that bookkeeping cost the bot more CPU than
the calls themselves; with PTB's 256-connection Bot API pool, 128 updates at work made each Bot
API call cost 10 ms of CPU instead of 1.7 (one host, 128 connections open). Small lanes (one
connection each) keep that work small and still carry as many calls at once.

A call takes a free slot, runs on the slot's lane, and gives the slot back when its answer is
closed. The slot freed last is taken first, so a quiet bot keeps few connections warm. A call that
finds no free slot within the pool timeout raises httpx's own `PoolTimeout`: it was never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx


class LaneTransport(httpx.AsyncBaseTransport):
    """`lanes` pools of `per_lane` connections each; never more than `lanes * per_lane` calls."""

    def __init__(self, *, lanes: int, per_lane: int) -> None:
        limits = httpx.Limits(max_connections=per_lane, max_keepalive_connections=per_lane)
        tls = httpx.create_ssl_context()  # one for all: each costs some 20 ms to build
        self.lanes = tuple(
            httpx.AsyncHTTPTransport(verify=tls, limits=limits) for _ in range(lanes)
        )
        self.per_lane = per_lane
        self._free: asyncio.LifoQueue[httpx.AsyncHTTPTransport] = asyncio.LifoQueue()
        for lane in self.lanes:
            for _ in range(per_lane):
                self._free.put_nowait(lane)

    @property
    def free(self) -> int:
        """Slots no call holds now."""
        return self._free.qsize()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                lane = await self._free.get()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection", request=request) from None
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._free.put_nowait(lane)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)  # as httpx's own client has it
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Held(response.stream, self._free, lane),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for lane in self.lanes:
            await lane.aclose()


class _Held(httpx.AsyncByteStream):
    """An answer's body that gives its slot back, once, when it is closed."""

    __slots__ = ("_free", "_lane", "_stream")

    def __init__(
        self,
        stream: httpx.AsyncByteStream,
        free: asyncio.LifoQueue[httpx.AsyncHTTPTransport],
        lane: httpx.AsyncHTTPTransport,
    ) -> None:
        self._stream = stream
        self._free = free
        self._lane: httpx.AsyncHTTPTransport | None = lane

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._lane is not None:
                self._free.put_nowait(self._lane)
                self._lane = None
