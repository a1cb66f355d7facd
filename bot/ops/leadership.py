"""One poller among replicas. Telegram lets one process poll a bot token at a time, so of the
replicas sharing a database exactly one is `active` (polls) and the others are `standby`.

* PostgreSQL: the active replica holds a session-level advisory lock (keyed by the bot's id) on a
  connection of its own. A standby tries to take it every `retry` seconds; when the active one
  dies its connection closes and PostgreSQL frees the lock (for a machine that vanishes without
  closing it, the server's TCP keepalives on that session notice within seconds). The active
  replica checks its lock connection every `heartbeat` seconds and, when it breaks, gives up
  polling at once (the service then stops, and its supervisor starts it again as a standby).
* SQLite: one replica only. An exclusive lock on a file beside the database refuses a second
  process at start, with a line saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.settings import ConfigError

log = logging.getLogger(__name__)

Role = Literal["active", "standby"]
RETRY_SECONDS = 1.0
HEARTBEAT_SECONDS = 1.0
KEEPALIVE = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)
"""The server probes the lock connection's peer: a vanished active replica frees the lock in
about 11 s instead of the kernel's two hours."""


class LeadershipLost(Exception):
    """The active replica can no longer vouch for its lock: it must stop polling."""


def lock_key(bot_id: int) -> int:
    """The advisory lock's 64-bit key for one bot: bots sharing a server do not collide."""
    digest = hashlib.sha256(f"cancelbot poller {bot_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """Single replica: active from the start, never lost (the SQLite case)."""

    role: Role = "active"

    async def acquire(self) -> None:
        self.role = "active"

    async def lost(self) -> None:
        await asyncio.Event().wait()


class PostgresLeadership(Leadership):
    def __init__(
        self,
        database_url: str,
        bot_id: int,
        *,
        retry: float = RETRY_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.role = "standby"
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self._key = lock_key(bot_id)
        self._retry = retry
        self._heartbeat = heartbeat
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        """Wait (as standby) until this replica holds the lock."""
        waiting = time.monotonic()
        announced = False
        while True:
            try:
                if await self._try():
                    break
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                log.warning("poller lock: database unavailable (%s)", type(error).__name__)
                await self._drop()
            if not announced:
                log.info("standby: another replica polls Telegram; waiting to take over")
                announced = True
            await asyncio.sleep(self._retry)
        self.role = "active"
        log.info("active: this replica polls Telegram (after %.1fs)", time.monotonic() - waiting)

    async def _try(self) -> bool:
        async with asyncio.timeout(self._retry * 5):
            if self._connection is None:
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for statement in KEEPALIVE:
                    await self._connection.execute(text(statement))
            held = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
        return bool(held)

    async def lost(self) -> None:
        """Return when the lock can no longer be vouched for (its connection broke)."""
        assert self._connection is not None
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                async with asyncio.timeout(self._heartbeat * 3):
                    await self._connection.execute(text("SELECT 1"))
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                log.error("poller lock lost (%s): this replica stops polling", type(error).__name__)
                self.role = "standby"
                await self._drop()
                return

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(self._retry):
                    await connection.invalidate()

    async def close(self) -> None:
        """Release the lock (closing its connection frees it) for a standby to take over."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                await connection.close()
        await self._engine.dispose()


def _sqlite_lock(database_url: str) -> int | None:
    """The file descriptor holding the single-replica lock; ConfigError when another holds it."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    try:
        descriptor = os.open(f"{database}.poller.lock", os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError:
        return None  # nor can the database be opened: opening it says so, naming DATABASE_URL
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ConfigError(
            "another replica already runs on this SQLite database (DATABASE_URL): SQLite runs "
            "one replica only; use PostgreSQL to run two or more"
        ) from None
    return descriptor


@contextlib.asynccontextmanager
async def leadership(database_url: str, bot_id: int) -> AsyncIterator[Leadership]:
    """This replica's part in polling, for as long as the service runs."""
    if make_url(database_url).get_backend_name() == "sqlite":
        descriptor = _sqlite_lock(database_url)
        try:
            yield Leadership()
        finally:
            if descriptor is not None:
                os.close(descriptor)
        return
    replica = PostgresLeadership(database_url, bot_id)
    try:
        yield replica
    finally:
        await replica.close()
