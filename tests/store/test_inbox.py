"""The update inbox, on SQLite and PostgreSQL: a batch is stored and the handled updates before
it are dropped in one transaction; an update stored before is not stored twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event

from bot.store import Inbox, Received, Store, open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="test-key")
    yield opened
    await opened.close()


def update(seq: int) -> Received:
    return Received(seq, 9000 + seq, {"update_id": 9000 + seq, "message": {"text": "/start"}})


async def test_a_batch_is_stored_and_the_handled_dropped_in_one_transaction(store: Store) -> None:
    inbox = Inbox(store)
    assert await inbox.add([update(1), update(2)]) == {9001, 9002}
    commits: list[int] = []
    event.listen(store.engine.sync_engine, "commit", lambda _connection: commits.append(1))
    assert await inbox.add([update(2), update(3)], drop=[1]) == {9003}  # 2 was stored before
    assert len(commits) == 1
    assert [r.seq for r in await inbox.pending()] == [2, 3]
    assert await inbox.add([], drop=[2]) == set()
    assert [r.seq for r in await inbox.pending()] == [3]
