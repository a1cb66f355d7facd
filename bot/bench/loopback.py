"""Serving an ASGI app with uvicorn on a free 127.0.0.1 port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import uvicorn
from starlette.types import ASGIApp


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, *, before_exit: Callable[[], None] = lambda: None
) -> AsyncIterator[str]:
    """The app's base URL while it is served; `before_exit` runs first when leaving (e.g. to
    let open long polls return)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # loopback only, a free port
    listener.listen(64)  # connections wait in the backlog until uvicorn accepts them
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
