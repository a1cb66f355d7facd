"""The one-call cursor answers as SQLAlchemy's aiosqlite cursor did: rows, row counts, the new
row's id, errors as SQLAlchemy's own, and transactions that commit or roll back whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, exc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import make_engine
from bot.store.sqlite_driver import OneCallCursor

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
    Column("size", Integer, nullable=False, default=0),
)


@pytest.fixture(params=["file", "memory"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    where = f"/{tmp_path / 'd.sqlite3'}" if request.param == "file" else ""
    made = make_engine(f"sqlite+aiosqlite://{where}")
    async with made.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield made
    await made.dispose()


async def test_the_engine_runs_statements_through_the_one_call_cursor(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        cursor = raw.cursor()
        try:
            assert isinstance(cursor, OneCallCursor)
        finally:
            cursor.close()


async def test_rows_counts_and_new_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(insert(ITEMS), {"name": "a", "size": 1})
        assert first.inserted_primary_key == (1,)
        many = await connection.execute(
            insert(ITEMS), [{"name": n, "size": i} for i, n in enumerate("bcde", start=2)]
        )
        assert many.rowcount == 4
        grown = await connection.execute(
            update(ITEMS).where(ITEMS.c.size >= 3).values(size=ITEMS.c.size + 10)
        )
        assert grown.rowcount == 3
        returned = await connection.execute(
            update(ITEMS).where(ITEMS.c.name == "a").values(size=7).returning(ITEMS.c.id)
        )
        assert returned.all() == [(1,)]
        nothing = await connection.execute(update(ITEMS).where(ITEMS.c.name == "z").values(size=0))
        assert nothing.rowcount == 0
    async with engine.connect() as connection:
        result = await connection.execute(select(ITEMS.c.name, ITEMS.c.size).order_by(ITEMS.c.id))
        assert result.keys() == ["name", "size"]
        assert result.fetchmany(2) == [("a", 7), ("b", 2)]
        assert result.all() == [("c", 13), ("d", 14), ("e", 15)]
        empty = await connection.execute(select(ITEMS).where(ITEMS.c.name == "z"))
        assert empty.first() is None


async def test_an_error_is_sqlalchemys_and_the_transaction_rolls_back_whole(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(exc.IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(ITEMS), {"name": "a"})
            await connection.execute(insert(ITEMS), {"name": "a"})
    with pytest.raises(exc.OperationalError):
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT * FROM no_such_table")
    async with engine.begin() as connection:  # the pooled connections are fine afterwards
        assert (await connection.execute(select(ITEMS))).all() == []
        await connection.execute(insert(ITEMS), {"name": "b"})
    async with engine.connect() as connection:
        assert (await connection.execute(select(ITEMS.c.name))).scalars().all() == ["b"]
