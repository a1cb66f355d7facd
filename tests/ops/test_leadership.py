"""The poller lock on its own: PostgreSQL hands it to one replica at a time and to a standby when
the holder goes; the holder learns when its lock connection breaks; SQLite refuses a second
replica at start."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.ops.leadership import PostgresLeadership, leadership, lock_key
from bot.settings import ConfigError

BOT = 7000001


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def test_one_replica_holds_the_lock_and_a_standby_takes_it_over(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        async with leadership(database_url, BOT) as first:
            assert first.role == "active"
            with pytest.raises(ConfigError, match="SQLite runs one replica only"):
                async with leadership(database_url, BOT):
                    pass
        async with leadership(database_url, BOT) as again:  # released with the first
            assert again.role == "active"
        return
    active = PostgresLeadership(database_url, BOT, retry=0.05)
    standby = PostgresLeadership(database_url, BOT, retry=0.05)
    other_bot = PostgresLeadership(database_url, BOT + 1, retry=0.05)
    try:
        await asyncio.wait_for(active.acquire(), 10)
        await asyncio.wait_for(other_bot.acquire(), 10)  # another bot's lock is its own
        waiting = asyncio.create_task(standby.acquire())
        admin = await asyncpg.connect(_dsn(database_url))
        try:  # taken: nobody else gets it while the active replica lives
            assert not await admin.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(BOT))
        finally:
            await admin.close()
        assert not waiting.done()
        await active.close()
        await asyncio.wait_for(waiting, 10)
        assert standby.role == "active"
    finally:
        for replica in (active, standby, other_bot):
            await replica.close()


async def test_the_holder_learns_its_lock_connection_broke(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one replica: there is no lock connection to lose")
    replica = PostgresLeadership(database_url, BOT, retry=0.05, heartbeat=0.05)
    try:
        await asyncio.wait_for(replica.acquire(), 10)
        watching = asyncio.create_task(replica.lost())
        admin = await asyncpg.connect(_dsn(database_url))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND (classid::bigint << 32 | objid::bigint) = $1::bigint",
                lock_key(BOT),
            )
        finally:
            await admin.close()
        assert ended == 1
        await asyncio.wait_for(watching, 10)
        assert replica.role == "standby"
    finally:
        await replica.close()
