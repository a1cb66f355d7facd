"""Serving an ASGI app with uvicorn on a free 127.0.0.1 port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import uvicorn
from starlette.types import ASGIApp


def loopback_listener(*, backlog: int) -> socket.socket:
    """A listening TCP socket on a free 127.0.0.1 port; connections wait in the backlog until
    uvicorn accepts them.

    Made with `IPPROTO_TCP` spelled out: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    sockets whose `proto` says TCP, and an accepted socket inherits the listener's. With the
    default proto 0, uvicorn's answer (headers, then body, in two writes) waited for the client's
    delayed ACK: 40 ms added to every call on a kept-alive connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    return listener


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, *, before_exit: Callable[[], None] = lambda: None
) -> AsyncIterator[str]:
    """The app's base URL while it is served; `before_exit` runs first when leaving (e.g. to
    let open long polls return)."""
    listener = loopback_listener(backlog=64)
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        before_exit()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        listener.close()
