"""Alembic environment: runs on the connection the app hands over, or on DATABASE_URL (CLI)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.store import tables  # noqa: F401 - registers the tables on the metadata
from bot.store.database import make_engine

target_metadata = SQLModel.metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url() -> None:
    engine = make_engine(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./cancelbot.sqlite3"))
    async with engine.begin() as connection:
        await connection.run_sync(run)
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    asyncio.run(run_from_url())
