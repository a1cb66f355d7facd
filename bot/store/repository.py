"""The store: load a chat's snapshot, and save a new one with its audit rows in one transaction.

Saves are guarded by the row's version, so two concurrent updates of one chat cannot both win.
Sessions are short-lived; nothing per chat stays in memory between calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from bot.store.tables import CancellationAudit, ChatLink, ChatState, utcnow
from dialogs.replies import Option, Reply

_STATE = ChatState.__table__  # type: ignore[attr-defined]
_LINK = ChatLink.__table__  # type: ignore[attr-defined]
_AUDIT = CancellationAudit.__table__  # type: ignore[attr-defined]
# The hot statements, built once (building one costs more than running it on SQLite); Core on
# plain connections, as no ORM object is needed. Parameter names differ from column names: the
# columns of an UPDATE's SET come from the values passed when it runs.
_LOAD = select(_STATE).where(_STATE.c.chat_id == bindparam("p_chat"))
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.chat_id == bindparam("p_chat"))
    .where(_STATE.c.version == bindparam("p_version"))
    .returning(_STATE.c.last_update_id)
)
_DELIVERED = update(_STATE).where(_STATE.c.chat_id == bindparam("p_chat"))
_LINKED = select(_LINK.c.patient_id).where(_LINK.c.telegram_user_id == bindparam("p_user"))
_UNLINK = delete(_LINK).where(_LINK.c.telegram_user_id == bindparam("p_user"))
_INSERT_LINK = insert(_LINK)
_INSERT_AUDIT = insert(_AUDIT)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


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


class Store:
    def __init__(self, engine: AsyncEngine, pseudonym_key: str) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert_state = (
            dialect.insert(_STATE)
            .on_conflict_do_nothing(index_elements=[_STATE.c.chat_id])
            .returning(_STATE.c.version)
        )
        self._one_writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        """SQLite takes one writer at a time: the others wait here, in the event loop, rather
        than on busy_timeout in the driver's threads while holding pooled connections (under
        load that wait outlasted the timeout and the step failed)."""
        self._key = pseudonym_key.encode()

    def patient_key(self, patient_id: str | None) -> str:
        """The patient's pseudonym: stable per patient, unreadable without the key."""
        return hmac.new(self._key, (patient_id or "").encode(), hashlib.sha256).hexdigest()

    async def load(self, chat_id: int) -> ChatSnapshot | None:
        async with self.engine.connect() as connection:
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
        link: tuple[int, str] | None = None,
    ) -> ChatSnapshot:
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
        last_update_id = update_id
        async with self.writing() as connection:
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
                if created.one_or_none() is None:  # the chat's first step was saved already
                    raise StaleVersion(snapshot.chat_id)
            else:
                stored = (
                    await connection.execute(
                        _UPDATE_STATE,
                        {
                            "p_chat": snapshot.chat_id,
                            "p_version": expected_version,
                            "version": version,
                            **values,
                        },
                    )
                ).one_or_none()
                if stored is None:
                    raise StaleVersion(snapshot.chat_id)
                last_update_id = stored[0]
            if audits:
                await connection.execute(
                    _INSERT_AUDIT,
                    [
                        {
                            "chat_id": snapshot.chat_id,
                            "patient_key": self.patient_key(a.patient_id),
                            "appointment_id": a.appointment_id,
                            "new_id": a.new_id,
                            "outcome": a.outcome,
                            "leyr_instance": a.leyr_instance,
                            "created_at": now,
                        }
                        for a in audits
                    ],
                )
            if link is not None:
                user_id, patient_id = link
                await connection.execute(_UNLINK, {"p_user": user_id})
                await connection.execute(
                    _INSERT_LINK,
                    {"telegram_user_id": user_id, "patient_id": patient_id, "linked_at": now},
                )
        return ChatSnapshot(
            chat_id=snapshot.chat_id,
            state=snapshot.state,
            context=snapshot.context,
            version=version,
            last_update_id=last_update_id,
            ui_message_id=snapshot.ui_message_id,
            outbox=snapshot.outbox,
        )

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

    async def linked_patient(self, telegram_user_id: int) -> str | None:
        async with self.engine.connect() as connection:
            found = await connection.execute(_LINKED, {"p_user": telegram_user_id})
            return found.scalar_one_or_none()

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None:
        """The last step's replies were sent: drop them, and remember which message now holds
        the chat's live buttons."""
        async with self.writing() as connection:
            await connection.execute(
                _DELIVERED, {"p_chat": chat_id, "ui_message_id": ui_message_id, "outbox": None}
            )

    async def audits(self, chat_id: int | None = None) -> list[CancellationAudit]:
        query = select(CancellationAudit).order_by(CancellationAudit.id)  # type: ignore[arg-type,unused-ignore]
        if chat_id is not None:
            query = query.where(CancellationAudit.chat_id == chat_id)  # type: ignore[arg-type]
        async with self._sessions() as session:
            return list((await session.execute(query)).scalars())

    async def close(self) -> None:
        await self.engine.dispose()
