"""PostgreSQL through asyncpg: a read, or a write that is one statement, is its connection's
only round trip; BEGIN and COMMIT (each a turn of the busy event loop) are for writes of several
statements, which still commit or fail whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from bot.store import AuditEntry, ChatSnapshot, Inbox, Received, StaleVersion, Store, open_store
from bot.store.tables import utcnow


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server round trips (see test_sqlite_round_trips.py)")
    opened = await open_store(database_url, pseudonym_key="k")
    yield opened
    await opened.close()


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transaction statements asyncpg sends (BEGIN, COMMIT, ROLLBACK all go through
    `Connection.execute`; prepared statements do not)."""
    sent: list[str] = []
    original = asyncpg.Connection.execute

    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.split(maxsplit=1)[0].rstrip(";").upper())
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "execute", counted)
    return sent


async def test_a_step_reads_and_saves_without_a_transaction(
    store: Store, transactions: list[str]
) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    saved = await store.save(
        ChatSnapshot(chat_id=1, state="choose", context={"n": 1}), expected_version=first.version
    )
    assert await store.load(1) == saved
    assert transactions == []


async def test_a_lost_race_is_still_refused_in_autocommit(
    store: Store, transactions: list[str]
) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    with pytest.raises(StaleVersion):
        await store.save(ChatSnapshot(chat_id=1, state="x", context={}), expected_version=99)
    with pytest.raises(StaleVersion):
        await store.save(ChatSnapshot(chat_id=1, state="x", context={}), expected_version=None)
    assert await store.load(1) == first
    assert transactions == []


async def test_a_save_with_audit_rows_is_one_transaction(
    store: Store, transactions: list[str]
) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    audit = AuditEntry(appointment_id="a1", outcome="cancelled", new_id=None, leyr_instance=None)
    await store.save(
        ChatSnapshot(chat_id=1, state="done", context={}),
        expected_version=first.version,
        audits=[audit],
    )
    assert transactions == ["BEGIN", "COMMIT"]


async def test_a_save_with_a_link_is_one_statement(store: Store, transactions: list[str]) -> None:
    """The step's state, and the user's link replacing the one they had."""
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    statements: list[str] = []
    event.listen(
        store.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: statements.append(statement),
    )
    version = first.version
    for update_id, patient in ((7, "p-1"), (None, "p-2")):
        saved = await store.save(
            ChatSnapshot(chat_id=1, state="choose", context={"n": update_id}),
            expected_version=version,
            update_id=update_id,
            link=(42, patient, utcnow()),
        )
        assert saved.last_update_id == 7  # kept when a save names no update
        version = saved.version
    assert transactions == []
    assert len(statements) == 2
    assert await store.load(1) == saved
    linked = await store.linked_patient(42)
    assert linked is not None and linked[0] == "p-2"


async def test_a_refused_save_writes_no_link(store: Store, transactions: list[str]) -> None:
    first = await store.save(
        ChatSnapshot(chat_id=1, state="idle", context={}), expected_version=None
    )
    with pytest.raises(StaleVersion):
        await store.save(
            ChatSnapshot(chat_id=1, state="choose", context={}),
            expected_version=first.version + 1,
            link=(42, "p-1", utcnow()),
        )
    assert await store.linked_patient(42) is None
    assert await store.load(1) == first


async def test_delivered_marks_are_written_without_a_transaction(
    store: Store, transactions: list[str]
) -> None:
    for chat in (1, 2):
        await store.save(
            ChatSnapshot(chat_id=chat, state="idle", context={}), expected_version=None
        )
    await asyncio.gather(store.delivered(1, 10), store.delivered(2, 20))
    assert [(await store.load(chat)).ui_message_id for chat in (1, 2)] == [10, 20]  # type: ignore[union-attr]
    assert transactions == []


async def test_the_inbox_stores_a_batch_without_a_transaction(
    store: Store, transactions: list[str]
) -> None:
    inbox = Inbox(store)
    batch = [Received(s, 500 + s, {"update_id": 500 + s}) for s in (1, 2, 3)]
    assert await inbox.add(batch) == {501, 502, 503}
    assert await inbox.add([Received(4, 504, {"update_id": 504})], drop=[1, 2]) == {504}
    assert [r.seq for r in await inbox.pending()] == [3, 4]
    assert transactions == []
