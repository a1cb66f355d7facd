"""Opening the database: SQLite (WAL) by default, PostgreSQL in production; migrated at start."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.repository import Store
from bot.store.sqlite_driver import OneCallDbapi

HERE = Path(__file__).resolve().parent
POOL_SIZE = 32
"""Database connections, all kept: with overflow connections (PostgreSQL: 10 kept + 20 more;
SQLite: SQLAlchemy's 5 + 10) a burst opened and closed connections over and over, and each new
one costs the bot milliseconds of CPU (PostgreSQL: connect, authenticate, type introspection;
SQLite: a thread of aiosqlite's own, the file opened, the pragmas). A step holds one only while
it queries."""
PING_AFTER_IDLE_SECONDS = 5.0
"""PostgreSQL: a pooled connection idle this long is pinged before use (a restarted server or a
proxy's idle timeout leaves dead connections in the pool); one used since is not. Pinging every
checkout (SQLAlchemy's `pool_pre_ping`) cost a round trip and 0.2-0.35 ms of CPU per checkout,
some 0.6 ms per update under load."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_folder_problem(database_url: str) -> str | None:
    """Why a SQLite file database cannot be created or written where the URL says, checked
    before opening it (a connection that fails to open gives only "OperationalError"); None when
    the folder is fine, or the URL names no file (PostgreSQL, an in-memory SQLite)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    file = Path(url.database)
    folder = file.parent.absolute()
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        return f"the file {file.absolute()} is not writable"
    return None


def _in_memory(database_url: str) -> bool:
    return make_url(database_url).database in (None, "", ":memory:")


def make_engine(database_url: str, **options: Any) -> AsyncEngine:
    """The engine for `database_url`; `options` go to SQLAlchemy's `create_async_engine`."""
    if database_url.startswith("sqlite"):
        # Every use ends its own transaction (a write commits or rolls back, a read's connection
        # rolls back on close) or opens none (autocommit), so the pool's own rollback on return
        # would only repeat one: on aiosqlite each is a round trip to the connection's thread.
        pooled = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_reset_on_return": None}
        in_memory = _in_memory(database_url)  # one connection, SQLAlchemy's own
        engine = create_async_engine(
            database_url, module=OneCallDbapi(), **({} if in_memory else pooled), **options
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(database_url, pool_size=POOL_SIZE, max_overflow=0, **options)
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's recipe for a custom pessimistic check: `DisconnectionError` makes the pool
    drop this connection and check out another (a fresh one once the pool has none)."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise exc.DisconnectionError(type(error).__name__) from error


def alembic_config(
    connection: Connection | None = None, pseudonym_key: str | None = None
) -> Config:
    """`pseudonym_key` lets a migration pseudonymise ids already stored (0003: audit chats)."""
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["pseudonym_key"] = pseudonym_key
    return config


def _upgrade(connection: Connection, pseudonym_key: str | None) -> None:
    command.upgrade(alembic_config(connection, pseudonym_key), "head")


async def migrate(engine: AsyncEngine, pseudonym_key: str | None = None) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, pseudonym_key)


async def open_store(
    database_url: str, *, pseudonym_key: str, migrate_schema: bool = True
) -> Store:
    engine = make_engine(database_url)
    if migrate_schema:
        await migrate(engine, pseudonym_key)
    return Store(engine, pseudonym_key, autocommit=_autocommit_engine(database_url, engine))


def _autocommit_engine(database_url: str, engine: AsyncEngine) -> AsyncEngine:
    """Where each statement is its own transaction: on PostgreSQL the same pool (autocommit is
    asyncpg's default, no round trip to switch). A SQLite file gets pooled connections of its
    own, which stay in autocommit: switching one is a call to its thread each way, and the
    rollback SQLAlchemy makes as it closes a connection, a no-op there, is one more."""
    if engine.dialect.name == "sqlite" and not _in_memory(database_url):
        return make_engine(
            database_url, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True
        )
    return engine.execution_options(isolation_level="AUTOCOMMIT")
