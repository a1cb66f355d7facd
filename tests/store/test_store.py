"""Storage, the same tests on SQLite and PostgreSQL: round trips, versions, atomicity, privacy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.store import AuditEntry, ChatSnapshot, StaleVersion, Store, open_store
from tests.support.fake_clinic import NOW


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="test-key")
    yield opened
    await opened.close()


def snapshot(state: str = "choose", **context: object) -> ChatSnapshot:
    return ChatSnapshot(chat_id=7, state=state, context=dict(context))


async def test_round_trip(store: Store) -> None:
    assert await store.load(7) is None
    saved = await store.save(snapshot(selected=["a-1"], n=1), expected_version=None, update_id=100)
    loaded = await store.load(7)
    assert loaded == saved
    assert (loaded.version, loaded.context, loaded.last_update_id) == (
        1,
        {"selected": ["a-1"], "n": 1},
        100,
    )
    again = await store.save(snapshot("confirm"), expected_version=1)
    assert again.version == 2 and again.last_update_id == 100
    assert (await store.load(7)).state == "confirm"  # type: ignore[union-attr]


async def test_two_saves_of_one_version_cannot_both_win(store: Store) -> None:
    await store.save(snapshot(), expected_version=None)
    await store.save(snapshot("confirm"), expected_version=1)
    with pytest.raises(StaleVersion):
        await store.save(snapshot("outcome"), expected_version=1)
    with pytest.raises(StaleVersion):
        await store.save(snapshot(), expected_version=None)


async def test_concurrent_saves_exactly_one_wins(store: Store) -> None:
    await store.save(snapshot(), expected_version=None)
    results = await asyncio.gather(
        *(store.save(snapshot(f"s{i}"), expected_version=1) for i in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert sum(isinstance(r, StaleVersion) for r in results) == 4


async def test_sqlite_writers_never_meet_a_locked_database(tmp_path: Path) -> None:
    """SQLite takes one writer at a time. With no busy wait at all (busy_timeout 0), two of the
    store's writers that overlapped would fail with "database is locked": they must queue."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}", pseudonym_key="k")

    def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=0")

    event.listen(store.engine.sync_engine, "connect", no_busy_wait)
    await store.engine.dispose()  # reconnect with the listener in place
    try:
        chats = range(1, 101)
        await asyncio.gather(
            *(
                store.save(ChatSnapshot(chat_id=c, state="idle"), expected_version=None)
                for c in chats
            )
        )
        await asyncio.gather(
            *(
                store.save(ChatSnapshot(chat_id=c, state="choose"), expected_version=1)
                for c in chats
            ),
            *(store.delivered(c, 10 + c) for c in chats),
            *(store.load(c) for c in chats),
        )
        assert {(await store.load(c)).state for c in chats} == {"choose"}  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_state_and_audit_are_one_transaction(store: Store) -> None:
    await store.save(snapshot(), expected_version=None)
    broken = AuditEntry(appointment_id=None, outcome="cancelled")  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - the database refuses the row
        await store.save(snapshot("outcome"), expected_version=1, audits=[broken], update_id=5)
    after = await store.load(7)
    assert after is not None and (after.state, after.version, after.last_update_id) == (
        "choose",
        1,
        None,
    )
    assert await store.audits(7) == []


async def test_audit_rows_are_pseudonymous(store: Store) -> None:
    await store.save(
        snapshot(),
        expected_version=None,
        audits=[AuditEntry("a-1", "awaiting_confirmation", "n-1", "inst-1", patient_id="p-1001")],
    )
    [row] = await store.audits(7)
    assert (row.appointment_id, row.new_id, row.outcome, row.leyr_instance) == (
        "a-1",
        "n-1",
        "awaiting_confirmation",
        "inst-1",
    )
    assert row.patient_key == store.patient_key("p-1001") and "p-1001" not in row.patient_key
    assert store.patient_key("p-1001") != Store(store.engine, "other-key").patient_key("p-1001")


async def test_link_and_ui_message(store: Store) -> None:
    assert await store.linked_patient(42) is None
    await store.save(snapshot(), expected_version=None, link=(42, "p-1", NOW))
    await store.save(snapshot(), expected_version=1, link=(42, "p-2", NOW))
    found = await store.linked_patient(42)
    assert found is not None and found == ("p-2", NOW)
    await store.delivered(7, 555)
    assert (await store.load(7)).ui_message_id == 555  # type: ignore[union-attr]


async def test_concurrent_delivered_marks_share_one_write(store: Store) -> None:
    """Steps that finish together store their `delivered` marks in one write (the first
    caller's own, then one for all who came while it was written), each stored on return."""
    chats = range(100, 140)
    for c in chats:
        await store.save(ChatSnapshot(chat_id=c, state="choose"), expected_version=None)
    writes: list[str] = []
    event.listen(
        store.autocommit.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: writes.append(statement),
    )
    await asyncio.gather(*(store.delivered(c, 1000 + c) for c in chats))
    assert len(writes) == 2
    for c in chats:
        assert (await store.load(c)).ui_message_id == 1000 + c  # type: ignore[union-attr]


async def test_a_failed_delivered_write_fails_every_caller_in_it(store: Store) -> None:
    for c in (1, 2, 3):
        await store.save(ChatSnapshot(chat_id=c, state="choose"), expected_version=None)

    def refuse(*_args: Any) -> None:
        raise RuntimeError("the database is gone")

    event.listen(store.autocommit.sync_engine, "before_cursor_execute", refuse)
    results = await asyncio.gather(
        *(store.delivered(c, 50 + c) for c in (1, 2, 3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError] * 3
    event.remove(store.autocommit.sync_engine, "before_cursor_execute", refuse)
    await store.delivered(2, 52)  # the next batch is written as usual
    assert (await store.load(2)).ui_message_id == 52  # type: ignore[union-attr]
    assert (await store.load(1)).ui_message_id is None  # type: ignore[union-attr]


async def test_migrations_match_the_tables(store: Store) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, SQLModel.metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    async with store.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
