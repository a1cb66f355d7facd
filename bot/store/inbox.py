"""The update inbox: Telegram updates as received (raw JSON), stored before they are confirmed to
Telegram and dropped once they were handled and confirmed.

Each stored update gets our own sequence number, `seq`, which only ever grows: it is what the
rest of the bot knows the update by (the engine's per-chat duplicate check compares it), so an
update id that Telegram chose lower than before (after a quiet week) is still new. A new process
continues above every `seq` in the inbox and every chat's last handled one.

A redelivered update (fetched again after a crash before it was confirmed) is found by its
Telegram id and not stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.repository import Store
from bot.store.tables import ChatState, UpdateInbox, utcnow

_INBOX = UpdateInbox.__table__  # type: ignore[attr-defined]
_STATE = ChatState.__table__  # type: ignore[attr-defined]
_PENDING = select(_INBOX.c.seq, _INBOX.c.update_id, _INBOX.c.payload).order_by(_INBOX.c.seq)
_DROP = delete(_INBOX).where(_INBOX.c.seq.in_(bindparam("p_seqs", expanding=True)))


@dataclass(frozen=True, slots=True)
class Received:
    """One update as stored: our sequence number, Telegram's id, and the raw update."""

    seq: int
    update_id: int
    raw: dict[str, Any]


class Inbox:
    def __init__(self, store: Store) -> None:
        self._store = store
        dialect = sqlite if store.engine.dialect.name == "sqlite" else postgresql
        self._insert = (
            dialect.insert(_INBOX)
            .on_conflict_do_nothing(index_elements=[_INBOX.c.update_id])
            .returning(_INBOX.c.update_id)
        )

    async def next_seq(self) -> int:
        """Above every stored update and every chat's last handled one."""
        async with self._store.engine.connect() as connection:
            stored = (await connection.execute(select(func.max(_INBOX.c.seq)))).scalar()
            handled = (await connection.execute(select(func.max(_STATE.c.last_update_id)))).scalar()
        return max(stored or 0, handled or 0) + 1

    async def pending(self) -> list[Received]:
        """Every update stored and not yet dropped, in the order received."""
        async with self._store.engine.connect() as connection:
            rows = (await connection.execute(_PENDING)).all()
        return [Received(row.seq, row.update_id, json.loads(row.payload)) for row in rows]

    async def add(self, received: Sequence[Received], *, drop: Sequence[int] = ()) -> set[int]:
        """Store the updates, and forget the handled ones in `drop` (by seq), in one
        transaction; the Telegram ids that were new."""
        if not received and not drop:
            return set()
        now = utcnow()
        # urgent: every update still waiting at Telegram waits for this batch to be stored
        async with self._store.writing(urgent=True) as connection:
            if drop:
                await connection.execute(_DROP, {"p_seqs": list(drop)})
            if not received:
                return set()
            rows = await connection.execute(
                self._insert,
                [
                    {
                        "seq": r.seq,
                        "update_id": r.update_id,
                        "payload": json.dumps(r.raw, separators=(",", ":")),
                        "received_at": now,
                    }
                    for r in received
                ],
            )
            return {row[0] for row in rows}
