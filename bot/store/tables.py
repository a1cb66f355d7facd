"""The tables: per-chat dialog state, chat-to-patient links, the cancellation audit log, and the
inbox of Telegram updates not yet handled."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Text, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False)


class ChatState(SQLModel, table=True):
    __tablename__ = "chat_state"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str = Field(max_length=40)
    context: str = Field(sa_column=Column(Text, nullable=False))
    version: int
    last_update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ui_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    outbox: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class ChatLink(SQLModel, table=True):
    __tablename__ = "chat_link"

    telegram_user_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False)
    )
    patient_id: str = Field(max_length=200)
    linked_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class CancellationAudit(SQLModel, table=True):
    """What the clinic keeps of each cancellation: pseudonyms of the chat and patient (never a
    Telegram id), the appointment, the outcome, Leyr's `instance`, the time."""

    __tablename__ = "cancellation_audit"

    id: int | None = Field(default=None, primary_key=True)
    chat_key: str | None = Field(default=None, max_length=64, index=True)
    patient_key: str = Field(max_length=64)
    appointment_id: str = Field(max_length=200, index=True)
    new_id: str | None = Field(default=None, max_length=200)
    outcome: str = Field(max_length=40)
    leyr_instance: str | None = Field(default=None, max_length=100)
    sandbox: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    """A sandbox chat's row (test patients on the emulator): never part of a clinic's report."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class UpdateInbox(SQLModel, table=True):
    """Telegram updates stored before they are confirmed to Telegram, until they were handled.
    `seq` is ours: it only ever grows, also when Telegram's own ids go backwards."""

    __tablename__ = "update_inbox"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_when())
