"""The update inbox, on SQLite and PostgreSQL: a batch is stored and the handled updates before
it are dropped, with no transaction around them; an update stored before is not stored twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosqlite
import pytest
from sqlalchemy import event

from bot.store import ChatSnapshot, Inbox, Received, Store, open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="test-key")
    yield opened
    await opened.close()


def update(seq: int) -> Received:
    return Received(seq, 9000 + seq, {"update_id": 9000 + seq, "message": {"text": "/start"}})


async def test_a_batch_is_stored_and_the_handled_dropped_at_once(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one statement on PostgreSQL (atomic in autocommit); on SQLite, the drop and then the
    batch, each committed as it runs (no transaction to commit)."""
    inbox = Inbox(store)
    assert await inbox.add([update(1), update(2)]) == {9001, 9002}
    commits: list[int] = []
    statements: list[str] = []
    event.listen(store.engine.sync_engine, "commit", lambda _connection: commits.append(1))
    event.listen(
        store.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: statements.append(statement),
    )
    committed = aiosqlite.Connection.commit

    async def commit(self: aiosqlite.Connection) -> None:
        commits.append(1)
        await committed(self)

    monkeypatch.setattr(aiosqlite.Connection, "commit", commit)
    assert await inbox.add([update(2), update(3)], drop=[1]) == {9003}  # 2 was stored before
    if store.engine.dialect.name == "postgresql":
        assert len(statements) == 1
    assert commits == []
    elsewhere = await open_store(database_url, pseudonym_key="test-key", migrate_schema=False)
    try:  # stored for good: seen from other connections
        assert [r.seq for r in await Inbox(elsewhere).pending()] == [2, 3]
    finally:
        await elsewhere.close()
    assert await inbox.add([], drop=[2]) == set()
    assert [r.seq for r in await inbox.pending()] == [3]


async def test_the_inbox_takes_no_turn_at_the_writer(store: Store) -> None:
    """On SQLite (one writer) the steps' writes wait for the one in progress, in the event
    loop; the inbox's batch, which every update still at Telegram waits for, does not."""
    async with store.writing():  # a step's write in progress (it has written nothing yet)
        saving = asyncio.create_task(
            store.save(ChatSnapshot(chat_id=5, state="idle"), expected_version=None)
        )
        await asyncio.wait_for(Inbox(store).add([update(1)]), timeout=10)
        if store.engine.dialect.name == "sqlite":  # PostgreSQL has no one writer to wait for
            for _ in range(20):  # time enough for the save, calls to the driver's threads
                assert await store.load(6) is None
            assert not saving.done()
    await asyncio.wait_for(saving, timeout=10)
    assert [r.seq for r in await Inbox(store).pending()] == [1]
    assert await store.load(5) is not None


async def test_batches_of_any_size_share_one_statement_on_postgresql(store: Store) -> None:
    """asyncpg prepares (one more round trip) and keeps every distinct statement text, on each
    pooled connection and in each server backend: an IN list or a VALUES list per batch size
    made up to 200 of them, re-prepared as the caches turned over."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's statements are prepared in-process, per connection, 128 at most")
    texts: set[str] = set()

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "update_inbox" in statement:
            texts.add(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", note)
    inbox = Inbox(store)
    seq = 0
    for size in (1, 2, 5, 17):
        batch = [update(seq + i) for i in range(1, size + 1)]
        dropped = list(range(seq - size + 1, seq + 1)) if seq else []
        assert await inbox.add(batch, drop=dropped) == {r.update_id for r in batch}
        seq += size
    assert len(texts) == 1  # one statement (INSERT with the DELETE), whatever the sizes
    assert [r.seq for r in await inbox.pending()] == list(range(seq - 16, seq + 1))
