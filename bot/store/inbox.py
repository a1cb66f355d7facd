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

from sqlalchemy import any_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from bot.store.repository import Store
from bot.store.tables import ChatState, UpdateInbox, utcnow

_INBOX = UpdateInbox.__table__  # type: ignore[attr-defined]
_STATE = ChatState.__table__  # type: ignore[attr-defined]
_PENDING = select(_INBOX.c.seq, _INBOX.c.update_id, _INBOX.c.payload).order_by(_INBOX.c.seq)


@dataclass(frozen=True, slots=True)
class Received:
    """One update as stored: our sequence number, Telegram's id, and the raw update."""

    seq: int
    update_id: int
    raw: dict[str, Any]


_COLUMNS = ("seq", "update_id", "payload", "received_at")
_UNNESTED = (
    func.unnest(*(bindparam(f"p_{c}", type_=ARRAY(_INBOX.c[c].type)) for c in _COLUMNS))
    .table_valued(*_COLUMNS)
    .render_derived(name="batch")
)
_PG_INSERT = (
    postgresql.insert(_INBOX)
    .from_select(_COLUMNS, select(*(_UNNESTED.c[c] for c in _COLUMNS)))
    .on_conflict_do_nothing(index_elements=[_INBOX.c.update_id])
    .returning(_INBOX.c.update_id)
)
"""One statement for a batch of any size (arrays, unnested), the drop (`= ANY`) with it:
asyncpg prepares each distinct statement text on each connection (a round trip) and keeps it
there and in the server's backend; a VALUES or IN list per batch size made up to 200 of them,
and the bot's RSS grew by some 120 MB per 10,000 patients as they piled up."""
_PG_DROP = delete(_INBOX).where(
    _INBOX.c.seq == any_(bindparam("p_seqs", type_=ARRAY(_INBOX.c.seq.type)))
)
_PG_ADD = _PG_INSERT.add_cte(_PG_DROP.returning(_INBOX.c.seq).cte("dropped"))
"""The batch stored and the handled dropped in one statement (atomic in autocommit): one round
trip, where a transaction with both took four."""
_SQLITE_DROP = delete(_INBOX).where(_INBOX.c.seq.in_(bindparam("p_seqs", expanding=True)))
_SQLITE_INSERT = (
    sqlite.insert(_INBOX)
    .on_conflict_do_nothing(index_elements=[_INBOX.c.update_id])
    .returning(_INBOX.c.update_id)
)


class Inbox:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._arrays = store.postgres

    async def next_seq(self) -> int:
        """Above every stored update and every chat's last handled one."""
        async with self._store.reading() as connection:
            stored = (await connection.execute(select(func.max(_INBOX.c.seq)))).scalar()
            handled = (await connection.execute(select(func.max(_STATE.c.last_update_id)))).scalar()
        return max(stored or 0, handled or 0) + 1

    async def pending(self) -> list[Received]:
        """Every update stored and not yet dropped, in the order received."""
        async with self._store.reading() as connection:
            rows = (await connection.execute(_PENDING)).all()
        return [Received(row.seq, row.update_id, json.loads(row.payload)) for row in rows]

    async def add(self, received: Sequence[Received], *, drop: Sequence[int] = ()) -> set[int]:
        """Store the updates, and forget the handled ones in `drop` (by seq): one statement on
        PostgreSQL, the drop and then the batch on SQLite; the Telegram ids that were new."""
        if not received and not drop:
            return set()
        now = utcnow()
        rows = [
            (r.seq, r.update_id, json.dumps(r.raw, separators=(",", ":")), now) for r in received
        ]
        # urgent: every update still waiting at Telegram waits for this batch to be stored
        async with self._store.alone(urgent=True) as connection:
            if self._arrays:
                columns = {f"p_{c}": [row[i] for row in rows] for i, c in enumerate(_COLUMNS)}
                stored = await connection.execute(_PG_ADD, {**columns, "p_seqs": list(drop)})
                return {row[0] for row in stored}
            # Dropped first, each statement on its own: a crash between them loses nothing, as
            # the batch is not yet confirmed to Telegram, which sends it again.
            if drop:
                await connection.execute(_SQLITE_DROP, {"p_seqs": list(drop)})
            if not rows:
                return set()
            stored = await connection.execute(
                _SQLITE_INSERT, [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
            )
            return {row[0] for row in stored}
