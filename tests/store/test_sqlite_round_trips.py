"""SQLite through aiosqlite: each driver call is a round trip to the connection's thread, so a
step's read or write makes none it does not need, and leaves no transaction open behind it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy.pool import QueuePool

from bot.store import AuditEntry, ChatSnapshot, StaleVersion, Store, open_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", pseudonym_key="k")
    yield opened
    await opened.close()


@pytest.fixture
def endings(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Commits and rollbacks that reach the driver."""
    seen: Counter[str] = Counter()
    for name in ("commit", "rollback"):
        original = getattr(aiosqlite.Connection, name)

        async def counted(
            self: aiosqlite.Connection, _name: str = name, _o: Any = original
        ) -> None:
            seen[_name] += 1
            await _o(self)

        monkeypatch.setattr(aiosqlite.Connection, name, counted)
    return seen


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call to an aiosqlite connection's thread, by the name of what it ran."""
    seen: list[str] = []
    original: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", type(fn).__name__))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_statement_is_one_call_to_the_thread(store: Store, calls: list[str]) -> None:
    """A step's read, its save and its delivery mark are each one call to the connection's
    thread (SQLAlchemy's adapter made three or four: cursor, execute, fetch, close); a save of
    two statements in a transaction is three (the two, and the commit)."""
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    calls.clear()
    loaded = await store.load(1)
    assert loaded is not None and len(calls) == 1
    calls.clear()
    saved = await store.save(
        ChatSnapshot(chat_id=1, state="choose", context={}),
        expected_version=first.version,
        update_id=7,
    )
    assert len(calls) == 1
    calls.clear()
    await store.delivered(1, 5)
    assert len(calls) == 1
    calls.clear()
    await store.save(
        ChatSnapshot(chat_id=1, state="done", context={}),
        expected_version=saved.version,
        audits=[AuditEntry(appointment_id="a-1", outcome="cancelled")],
    )
    assert len(calls) == 3 and calls[-1] == "commit"


async def test_a_step_reads_and_saves_with_no_transaction_to_end(
    store: Store, endings: Counter[str]
) -> None:
    """A read, and a save that is one statement, run in autocommit: no commit or rollback is
    a call to the driver's thread of its own (a read's connection rolled back as it closed)."""
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    saved = await store.save(
        ChatSnapshot(chat_id=1, state="choose", context={}), expected_version=first.version
    )
    assert await store.load(1) == saved
    assert await store.linked_patient(1) is None
    assert endings == Counter()


async def test_a_save_of_several_statements_commits_once(
    store: Store, endings: Counter[str]
) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    await store.save(
        ChatSnapshot(chat_id=1, state="done", context={}),
        expected_version=first.version,
        audits=[AuditEntry(appointment_id="a-1", outcome="cancelled")],
    )
    assert endings == Counter(commit=1)
    assert [a.appointment_id for a in await store.audits(1)] == ["a-1"]


async def test_a_refused_write_leaves_no_transaction_for_the_next_one(
    store: Store, endings: Counter[str]
) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    with pytest.raises(StaleVersion):
        await store.save(ChatSnapshot(chat_id=1, state="x", context={}), expected_version=99)
    with pytest.raises(StaleVersion):
        await store.save(
            ChatSnapshot(chat_id=1, state="x", context={}),
            expected_version=99,
            audits=[AuditEntry(appointment_id="a-1", outcome="cancelled")],
        )
    assert endings == Counter(rollback=1)  # the transaction's own, not the pool's
    for engine in (store.engine, store.autocommit):
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool) and pool.checkedout() == 0
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert not raw.driver_connection.in_transaction  # type: ignore[union-attr]
    again = await store.save(
        ChatSnapshot(chat_id=1, state="choose", context={}), expected_version=first.version
    )
    assert (await store.load(1)) == again
