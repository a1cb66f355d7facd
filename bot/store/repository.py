"""The store: load a chat's snapshot, and save a new one with its audit rows in one transaction.

Saves are guarded by the row's version, so two concurrent updates of one chat cannot both win.
Sessions are short-lived; nothing per chat stays in memory between calls.

A read, or a write that is one statement (a step with no audit row; on PostgreSQL with the
identity link as a CTE; the inbox's batch; `delivered`), runs in autocommit (`alone`): the
statement is atomic on its own. On PostgreSQL it is then its connection's only round trip
(inside a transaction it cost three: BEGIN, the statement, COMMIT or ROLLBACK), each a turn of
the busy event loop that the patient waits for. On SQLite it has no COMMIT or ROLLBACK of its
own either (a read ended with one, a write with the other): each was a call to the driver's
thread, which waits for a turn of that loop, the writes while holding SQLite's one writer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from bot.ops.metrics import DIALOG_OUTCOMES
from bot.store import pseudonyms
from bot.store.tables import CancellationAudit, ChatLink, ChatState, utcnow
from dialogs.replies import Option, Reply

_STATE = ChatState.__table__  # type: ignore[attr-defined]
_LINK = ChatLink.__table__  # type: ignore[attr-defined]
_AUDIT = CancellationAudit.__table__  # type: ignore[attr-defined]
# The hot statements, built once (building one costs more than running it on SQLite); Core on
# plain connections, as no ORM object is needed. Parameter names differ from column names: the
# columns of an UPDATE's SET come from the values passed when it runs (but for `_STORED`, a CTE,
# whose SET is fixed).
_LOAD = select(_STATE).where(_STATE.c.chat_id == bindparam("p_chat"))
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.chat_id == bindparam("p_chat"))
    .where(_STATE.c.version == bindparam("p_version"))
)
"""A step's state stored, if its version still holds (the row count says whether it did)."""
_UPDATE_STATE_KEEPING = _UPDATE_STATE.returning(_STATE.c.last_update_id)
"""The same, for a save that names no update: the last one handled is kept, and returned."""
_DELIVERED = update(_STATE).where(_STATE.c.chat_id == bindparam("p_chat"))
_LINKED = select(_LINK.c.patient_id, _LINK.c.linked_at).where(
    _LINK.c.telegram_user_id == bindparam("p_user")
)
_UNLINK = delete(_LINK).where(_LINK.c.telegram_user_id == bindparam("p_user"))
_INSERT_AUDIT = insert(_AUDIT)


def _replacing_link(statement: Any) -> Any:
    """`statement`, an INSERT of a user's link (a dialect's), replacing the one they had."""
    return statement.on_conflict_do_update(
        index_elements=[_LINK.c.telegram_user_id],
        set_={
            "patient_id": statement.excluded.patient_id,
            "linked_at": statement.excluded.linked_at,
        },
    )


def _typed(column: Any) -> Any:
    """A parameter for `column`, named after it and typed as it is."""
    return bindparam(column.name, type_=column.type)


_STORED = (
    _UPDATE_STATE.values(
        {
            **{
                c: _typed(_STATE.c[c])
                for c in ("state", "context", "outbox", "updated_at", "version")
            },
            "last_update_id": func.coalesce(
                _typed(_STATE.c.last_update_id), _STATE.c.last_update_id
            ),
        }
    )
    .returning(_STATE.c.last_update_id)
    .cte("stored")
)
_LINKING = postgresql.insert(_LINK).from_select(
    ["telegram_user_id", "patient_id", "linked_at"],
    select(
        *(_typed(c) for c in (_LINK.c.telegram_user_id, _LINK.c.patient_id, _LINK.c.linked_at))
    ).select_from(_STORED),
)
_PG_SAVE_AND_LINK = select(_STORED.c.last_update_id).add_cte(
    _replacing_link(_LINKING).cte("linked")
)
"""PostgreSQL: a step's state and the user's link in one statement, the link written only when
the state was (it is selected from the update's row): the personal-number step, the slowest
first reply, saves in one round trip instead of four."""


def _link_row(link: tuple[int, str, datetime]) -> dict[str, Any]:
    """The parameters of a user's link (user, patient, when) for `chat_link`'s columns."""
    user_id, patient_id, linked_at = link
    return {"telegram_user_id": user_id, "patient_id": patient_id, "linked_at": linked_at}


def _saved(snapshot: ChatSnapshot, version: int, last_update_id: int | None) -> ChatSnapshot:
    """`snapshot` as stored, at `version`."""
    return replace(snapshot, version=version, last_update_id=last_update_id)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; ours are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Erased:
    """How many rows an erasure or purge removed."""

    states: int = 0
    links: int = 0


def _like(text: str) -> str:
    """`text` matched literally by LIKE (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _erase(connection: AsyncConnection, chats: list[int], users: list[int]) -> Erased:
    states = await connection.execute(delete(_STATE).where(_STATE.c.chat_id.in_(chats)))
    links = await connection.execute(delete(_LINK).where(_LINK.c.telegram_user_id.in_(users)))
    return Erased(states.rowcount, links.rowcount)


class StaleVersion(Exception):
    """Another update of this chat was saved first; this step's effects were not stored."""


@dataclass(frozen=True)
class Outbox:
    """A step's replies, kept with its state until they were sent (see `bot.engine`)."""

    update_id: int
    delete: bool
    replies: list[Reply]

    def dump(self) -> str:
        return _json(
            {
                "update_id": self.update_id,
                "delete": self.delete,
                "replies": [
                    {
                        "text": r.text,
                        "options": [[[o.key, o.label] for o in row] for row in r.options],
                        "contact": r.request_contact,
                    }
                    for r in self.replies
                ],
            }
        )

    @classmethod
    def load(cls, stored: str) -> Outbox:
        data = json.loads(stored)
        replies = [
            Reply(
                text=r["text"],
                options=tuple(
                    tuple(Option(key, label) for key, label in row) for row in r["options"]
                ),
                request_contact=r["contact"],
            )
            for r in data["replies"]
        ]
        return cls(update_id=data["update_id"], delete=bool(data["delete"]), replies=replies)


@dataclass
class ChatSnapshot:
    chat_id: int
    state: str
    context: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    last_update_id: int | None = None
    ui_message_id: int | None = None
    outbox: Outbox | None = None


@dataclass(frozen=True)
class AuditEntry:
    appointment_id: str
    outcome: str
    new_id: str | None = None
    leyr_instance: str | None = None
    patient_id: str | None = None
    sandbox: bool = False


class _Deliveries:
    """`delivered` marks written together: chat -> its live message; `done` once stored."""

    __slots__ = ("done", "rows")

    def __init__(self) -> None:
        self.rows: dict[int, int | None] = {}
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class Store:
    def __init__(
        self, engine: AsyncEngine, pseudonym_key: str, *, autocommit: AsyncEngine | None = None
    ) -> None:
        """`autocommit`: where each statement is its own transaction (`bot.store.database`
        gives one), by default `engine` switched to it at each use."""
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.postgres = engine.dialect.name == "postgresql"
        """PostgreSQL, else SQLite (the only two supported). On PostgreSQL a step's state and the
        user's link are one statement (`_save_and_link`), and the inbox's batches arrays."""
        dialect = postgresql if self.postgres else sqlite
        self._insert_state = dialect.insert(_STATE).on_conflict_do_nothing(
            index_elements=[_STATE.c.chat_id]
        )
        self.autocommit = autocommit or engine.execution_options(isolation_level="AUTOCOMMIT")
        """Reads and one-statement writes go here (`reading`, `alone`)."""
        self._link = _replacing_link(dialect.insert(_LINK))
        """A user's link made, replacing the one they had: one statement (it was two)."""
        self._one_writer = None if self.postgres else asyncio.Lock()
        """SQLite takes one writer at a time: the others wait here, in the event loop, rather
        than in busy_timeout's polling in the driver's threads, holding pooled connections
        (under load that wait outlasted the timeout and the step failed). Writes of one
        statement could go side by side, as SQLite holds its lock for each only while the
        thread runs it: measured, the first replies came sooner, but with every step moving
        at once the event loop's turns grew, and button answers waited longer (README)."""
        self._key = pseudonym_key
        self._gathering: _Deliveries | None = None
        """`delivered` marks waiting for the next write, which takes them all at once."""
        self._delivering = asyncio.Lock()

    def patient_key(self, patient_id: str | None) -> str:
        """The patient's pseudonym: stable per patient, unreadable without the key."""
        return pseudonyms.patient_key(self._key, patient_id)

    def chat_key(self, chat_id: int) -> str:
        """The chat's pseudonym in the audit log, which keeps no Telegram id."""
        return pseudonyms.chat_key(self._key, chat_id)

    async def load(self, chat_id: int) -> ChatSnapshot | None:
        async with self.reading() as connection:
            row = (await connection.execute(_LOAD, {"p_chat": chat_id})).one_or_none()
        if row is None:
            return None
        return ChatSnapshot(
            chat_id=row.chat_id,
            state=row.state,
            context=json.loads(row.context),
            version=row.version,
            last_update_id=row.last_update_id,
            ui_message_id=row.ui_message_id,
            outbox=Outbox.load(row.outbox) if row.outbox else None,
        )

    async def save(
        self,
        snapshot: ChatSnapshot,
        *,
        expected_version: int | None,
        audits: Sequence[AuditEntry] = (),
        update_id: int | None = None,
        link: tuple[int, str, datetime] | None = None,
        unlink: int | None = None,
    ) -> ChatSnapshot:
        """Store a step: its snapshot (if `expected_version` still holds), its audit rows, and
        a Telegram user's link to a patient made (`link`: user, patient, when) or dropped
        (`unlink`)."""
        now = utcnow()
        values: dict[str, Any] = {
            "state": snapshot.state,
            "context": _json(snapshot.context),
            "outbox": snapshot.outbox.dump() if snapshot.outbox else None,
            "updated_at": now,
        }
        if update_id is not None:
            values["last_update_id"] = update_id
        version = 1 if expected_version is None else expected_version + 1
        if expected_version is not None:
            values.update(p_chat=snapshot.chat_id, p_version=expected_version, version=version)
            if link is not None and self.postgres and not audits and unlink is None:
                return await self._save_and_link(snapshot, values, update_id, link)
        last_update_id = update_id
        one_statement = not audits and link is None and unlink is None
        async with self.alone() if one_statement else self.writing() as connection:
            if expected_version is None:
                created = await connection.execute(
                    self._insert_state,
                    {
                        "chat_id": snapshot.chat_id,
                        "version": version,
                        "created_at": now,
                        "ui_message_id": snapshot.ui_message_id,
                        **values,
                    },
                )
                if created.rowcount != 1:  # the chat's first step was saved already
                    raise StaleVersion(snapshot.chat_id)
            elif update_id is None:  # no update named: the last one handled is kept
                stored = (await connection.execute(_UPDATE_STATE_KEEPING, values)).one_or_none()
                if stored is None:
                    raise StaleVersion(snapshot.chat_id)
                last_update_id = stored[0]
            elif (await connection.execute(_UPDATE_STATE, values)).rowcount != 1:
                raise StaleVersion(snapshot.chat_id)
            await self._audit(connection, snapshot.chat_id, audits, now)
            if unlink is not None:
                await connection.execute(_UNLINK, {"p_user": unlink})
            if link is not None:
                await connection.execute(self._link, _link_row(link))
        for a in audits:  # committed
            DIALOG_OUTCOMES.labels(a.outcome).inc()
        return _saved(snapshot, version, last_update_id)

    async def _save_and_link(
        self,
        snapshot: ChatSnapshot,
        values: dict[str, Any],
        update_id: int | None,
        link: tuple[int, str, datetime],
    ) -> ChatSnapshot:
        """`save`'s update of the state with the user's link, as one statement (PostgreSQL)."""
        async with self.alone() as connection:
            stored = (
                await connection.execute(
                    _PG_SAVE_AND_LINK, {**values, "last_update_id": update_id, **_link_row(link)}
                )
            ).one_or_none()
        if stored is None:
            raise StaleVersion(snapshot.chat_id)
        return _saved(snapshot, values["version"], stored[0])

    def reading(self) -> AsyncConnection:
        """A connection for reads, in autocommit: each read its own."""
        return self.autocommit.connect()

    @asynccontextmanager
    async def alone(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for writes that are each a single statement, atomic without a
        transaction around it: in autocommit, each statement committed as it runs (one at a
        time on SQLite). An `urgent` one takes no turn: on SQLite it waits for the write in
        progress in SQLite's busy handler, not behind every write waiting for its turn."""
        turn = self._one_writer if self._one_writer is not None and not urgent else nullcontext()
        async with turn, self.autocommit.connect() as connection:
            yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on leaving (one at a time on
        SQLite)."""
        async with self._one_writer or nullcontext(), self.engine.begin() as connection:
            yield connection

    async def contexts_in(self, state: str) -> list[tuple[int, dict[str, Any]]]:
        """(chat id, context) of every chat whose dialog is in `state`."""
        query = select(ChatState.chat_id, ChatState.context).where(  # type: ignore[call-overload]
            ChatState.state == state
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [(chat_id, json.loads(context)) for chat_id, context in rows]

    async def linked_patient(self, telegram_user_id: int) -> tuple[str, datetime] | None:
        """The patient this Telegram user proved to be, and when."""
        async with self.reading() as connection:
            found = (await connection.execute(_LINKED, {"p_user": telegram_user_id})).first()
        if found is None:
            return None
        patient_id, linked_at = found
        return patient_id, _aware(linked_at)

    async def unlink(self, telegram_user_id: int) -> None:
        """Forget which patient this Telegram user proved to be."""
        async with self.alone() as connection:
            await connection.execute(_UNLINK, {"p_user": telegram_user_id})

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None:
        """The last step's replies were sent: drop them, and remember which message now holds
        the chat's live buttons. Stored when this returns. Marks that arrive while another batch
        is being written are written together next, in one statement and one transaction:
        under load, many steps share one write instead of queueing for the writer each."""
        batch = self._gathering
        if batch is None:
            batch = self._gathering = _Deliveries()
        batch.rows[chat_id] = ui_message_id
        async with self._delivering:
            if self._gathering is batch:  # not written while this call waited: write it now
                self._gathering = None
                # shielded: a caller cancelled half way must not fail the others' marks
                await asyncio.shield(self._deliver(batch))
        await batch.done

    async def _deliver(self, batch: _Deliveries) -> None:
        """Write one batch of `delivered` marks; its outcome goes to everyone who joined it.
        One statement, run for each row (atomic as a whole on PostgreSQL, where asyncpg's
        executemany is; row by row on SQLite, and each mark stands on its own)."""
        try:
            async with self.alone() as connection:
                await connection.execute(
                    _DELIVERED,
                    [
                        {"p_chat": chat_id, "ui_message_id": ui_message_id, "outbox": None}
                        for chat_id, ui_message_id in batch.rows.items()
                    ],
                )
        except Exception as error:
            batch.done.set_exception(error)
        else:
            batch.done.set_result(None)

    async def audits(
        self, chat_id: int | None = None, *, sandbox: bool | None = None
    ) -> list[CancellationAudit]:
        """Audit rows, oldest first: of one chat, and only the patients' (`sandbox=False`, what a
        clinic's report reads) or only the sandbox chats' (`sandbox=True`)."""
        query = select(CancellationAudit).order_by(CancellationAudit.id)  # type: ignore[arg-type,unused-ignore]
        if chat_id is not None:
            query = query.where(CancellationAudit.chat_key == self.chat_key(chat_id))  # type: ignore[arg-type]
        if sandbox is not None:
            query = query.where(CancellationAudit.sandbox == sandbox)  # type: ignore[arg-type]
        async with self._sessions() as session:
            return list((await session.execute(query)).scalars())

    # -- erasure ---------------------------------------------------------------------------------
    async def forget_chat(
        self, chat_id: int, *, user_id: int | None = None, audits: Sequence[AuditEntry] = ()
    ) -> Erased:
        """Erase a chat's dialog state and its user's link to a patient (`user_id`; by default
        the chat's id, as for a private chat), storing the step's `audits` in the same
        transaction. Audit rows stay: they hold no Telegram id, only pseudonyms."""
        async with self.writing() as connection:
            await self._audit(connection, chat_id, audits, utcnow())
            erased = await _erase(connection, [chat_id], [chat_id if user_id is None else user_id])
        for a in audits:  # committed
            DIALOG_OUTCOMES.labels(a.outcome).inc()
        return erased

    async def _audit(
        self,
        connection: AsyncConnection,
        chat_id: int,
        audits: Sequence[AuditEntry],
        now: datetime,
    ) -> None:
        if audits:
            await connection.execute(
                _INSERT_AUDIT,
                [
                    {
                        "chat_key": self.chat_key(chat_id),
                        "patient_key": self.patient_key(a.patient_id),
                        "appointment_id": a.appointment_id,
                        "new_id": a.new_id,
                        "outcome": a.outcome,
                        "leyr_instance": a.leyr_instance,
                        "sandbox": a.sandbox,
                        "created_at": now,
                    }
                    for a in audits
                ],
            )

    async def forget_patient(self, patient_id: str) -> Erased:
        """Erase every link to this EHR patient, and the dialog state of every chat linked to
        them or whose dialog holds them."""
        pattern = "%" + _like(f'"patient_id":{json.dumps(patient_id)}') + "%"
        async with self.writing() as connection:
            users = list(
                (
                    await connection.execute(
                        select(_LINK.c.telegram_user_id).where(_LINK.c.patient_id == patient_id)
                    )
                ).scalars()
            )
            holding = await connection.execute(
                select(_STATE.c.chat_id, _STATE.c.context).where(
                    _STATE.c.context.like(pattern, escape="\\")
                )
            )
            chats = {
                chat_id
                for chat_id, context in holding
                if json.loads(context).get("patient_id") == patient_id
            }
            return await _erase(connection, sorted(chats | set(users)), users)

    async def purge(self, unused_since: datetime) -> Erased:
        """Erase dialog states not updated since `unused_since`, and the links of users whose
        chat has not been used since then either."""
        async with self.writing() as connection:
            states = await connection.execute(
                delete(_STATE).where(_STATE.c.updated_at < unused_since)
            )
            links = await connection.execute(
                delete(_LINK)
                .where(_LINK.c.linked_at < unused_since)
                .where(_LINK.c.telegram_user_id.not_in(select(_STATE.c.chat_id)))
            )
        return Erased(states.rowcount, links.rowcount)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.autocommit.sync_engine.pool is not self.engine.sync_engine.pool:  # its own
            await self.autocommit.dispose()
