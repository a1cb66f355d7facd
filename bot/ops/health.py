"""Health, readiness and metrics over HTTP, served inside the service when `METRICS_PORT` is set:

* `/healthz`: 200 while the process serves at all (liveness);
* `/readyz`: 200 when the database answers and, for the replica that polls, the Bot API
  answered recently; else 503. The JSON body says which check failed and this replica's role
  (`active`: it polls Telegram; `standby`: it waits to take over);
* `/metrics`: Prometheus' text format (prometheus-client's default registry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.settings import ConfigError

log = logging.getLogger(__name__)

BOT_API_RECENT_SECONDS = 90.0
"""The poller's long poll returns at least every 30 s: three missed answers mean trouble."""
DATABASE_CHECK_SECONDS = 3.0


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[bool]]:
    async def reachable() -> bool:
        try:
            async with asyncio.timeout(DATABASE_CHECK_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    return reachable


@dataclass(frozen=True)
class Readiness:
    database: Callable[[], Awaitable[bool]]
    bot_api_age: Callable[[], float | None]
    """Seconds since the Bot API last answered, None before its first answer."""
    role: Callable[[], str]

    async def report(self) -> dict[str, Any]:
        role = self.role()
        age = self.bot_api_age()
        database = await self.database()
        bot_api = age is not None and age <= BOT_API_RECENT_SECONDS
        return {
            "ready": database and (bot_api or role != "active"),
            "role": role,
            "database": database,
            "bot_api": bot_api,
        }


def health_app(readiness: Readiness) -> Starlette:
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(_: Request) -> Response:
        report = await readiness.report()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


class _Server(uvicorn.Server):
    """uvicorn inside the service: the service owns SIGTERM/SIGINT (uvicorn would take them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving_health(readiness: Readiness, host: str, port: int) -> AsyncIterator[int]:
    """Serve the endpoints on host:port while inside; yields the port (0 picks a free one).
    ConfigError naming METRICS_PORT when it cannot listen there."""
    config = uvicorn.Config(
        health_app(readiness),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    try:  # bound here: uvicorn would exit the process on a port taken
        listener = socket.create_server((host, port), reuse_port=False, backlog=64)
    except OSError:
        raise ConfigError(f"invalid setting METRICS_PORT: cannot listen on {host}:{port}") from None
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    bound = listener.getsockname()[1]
    log.info("health and metrics on %s:%s", host, bound)
    try:
        yield bound
    finally:
        server.should_exit = True
        await task
        listener.close()
