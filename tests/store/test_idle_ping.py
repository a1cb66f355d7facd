"""PostgreSQL connections that sat idle in the pool are checked before use; busy ones are not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import database
from bot.store.database import make_engine


async def _server_drops_our_connections(engine: AsyncEngine) -> None:
    """What a server restart or a proxy's idle timeout does to the pool's connections."""
    async with engine.connect() as admin:
        pid = (await admin.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    dropper = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with dropper.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await dropper.dispose()


@pytest.fixture
async def dropped(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A PostgreSQL engine whose one pooled connection the server has dropped."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to lose")
    engine = make_engine(database_url)
    try:
        await _server_drops_our_connections(engine)
        yield engine
    finally:
        await engine.dispose()


async def _one(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        answer: int = (await connection.execute(text("SELECT 1"))).scalar_one()
    return answer


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    dropped: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert await _one(dropped) == 1


async def test_a_connection_in_use_moments_ago_is_not_pinged(
    dropped: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the check the dropped connection is used, fails once, and the pool starts over."""
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with pytest.raises(exc.DBAPIError) as failed:
        await _one(dropped)
    assert failed.value.connection_invalidated
    assert await _one(dropped) == 1
