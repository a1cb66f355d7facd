"""The benchmark's and tests' loopback servers answer without Nagle's delay."""

from __future__ import annotations

import asyncio
import socket

from bot.bench.loopback import loopback_listener


async def test_accepted_connections_send_small_writes_at_once() -> None:
    """asyncio disables Nagle's algorithm only on sockets that say they are TCP; an answer's
    headers and body, written apart, otherwise wait for the client's delayed ACK (40 ms)."""
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted: socket.socket = transport.get_extra_info("socket")
            nodelay.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listener = loopback_listener(backlog=1)
    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname())
        assert await nodelay == 1
        writer.close()
