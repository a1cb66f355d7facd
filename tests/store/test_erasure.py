"""Patients' data lifecycle, read back from the database (SQLite and PostgreSQL): the operator's
erasure of a chat or a patient, the purge of what went unused, and an audit log that holds no
Telegram id (migration 0004 pseudonymises the rows stored before it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text, update

from bot.__main__ import main
from bot.ops.retention import purging
from bot.store import AuditEntry, ChatSnapshot, Store, open_store
from bot.store.database import alembic_config, make_engine
from bot.store.pseudonyms import chat_key
from bot.store.tables import ChatLink, ChatState

KEY = "erasure-test-key"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key=KEY)
    yield opened
    await opened.close()


async def _chat(store: Store, chat_id: int, patient: str | None, *, linked: bool = True) -> None:
    context = {"patient_id": patient} if patient else {}
    await store.save(
        ChatSnapshot(chat_id=chat_id, state="choose", context=context),
        expected_version=None,
        audits=[AuditEntry("a-1", "cancelled", leyr_instance="i-1", patient_id=patient)],
        link=(chat_id, patient, NOW) if patient and linked else None,
    )


async def _rows(store: Store) -> tuple[set[int], dict[int, str]]:
    async with store.engine.connect() as connection:
        states = set((await connection.execute(text("SELECT chat_id FROM chat_state"))).scalars())
        rows = await connection.execute(text("SELECT telegram_user_id, patient_id FROM chat_link"))
        links: dict[int, str] = {user: patient for user, patient in rows}
    return states, links


async def _audit_columns(store: Store) -> set[str]:
    async with store.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: inspect(sync).get_columns("cancellation_audit")
        )
    return {column["name"] for column in columns}


async def test_audit_rows_hold_pseudonyms_and_no_telegram_id(store: Store) -> None:
    await _chat(store, 424242, "p-1001")
    assert await _audit_columns(store) == {
        "id",
        "chat_key",
        "patient_key",
        "appointment_id",
        "new_id",
        "outcome",
        "leyr_instance",
        "sandbox",
        "created_at",
    }
    async with store.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM cancellation_audit"))).one()
    assert "424242" not in str(tuple(row)) and "p-1001" not in str(tuple(row))
    assert row.chat_key == chat_key(KEY, 424242) and row.patient_key == store.patient_key("p-1001")
    assert [a.outcome for a in await store.audits(424242)] == ["cancelled"]


async def test_forget_a_chat(store: Store) -> None:
    await _chat(store, 1, "p-1")
    await _chat(store, 2, "p-2")
    erased = await store.forget_chat(1)
    assert (erased.states, erased.links) == (1, 1)
    assert await _rows(store) == ({2}, {2: "p-2"})
    assert len(await store.audits(1)) == 1  # the clinic's record stays, pseudonymous


async def test_forget_a_patient(store: Store) -> None:
    await _chat(store, 1, "p_1%")  # linked; LIKE's wildcards in the id are taken literally
    await _chat(store, 2, "p_1%", linked=False)  # holds the patient in its dialog only
    await _chat(store, 3, "pX1Y")  # would match if _ and % were wildcards
    await _chat(store, 4, None)
    erased = await store.forget_patient("p_1%")
    assert (erased.states, erased.links) == (2, 1)
    assert await _rows(store) == ({3, 4}, {3: "pX1Y"})


async def test_purge_erases_what_went_unused(store: Store) -> None:
    for chat_id in (1, 2, 3):
        await _chat(store, chat_id, f"p-{chat_id}")
    old = NOW - timedelta(days=200)
    async with store.engine.begin() as connection:
        await connection.execute(
            update(ChatState).where(ChatState.chat_id.in_([1, 2])).values(updated_at=old)  # type: ignore[attr-defined]
        )
        await connection.execute(
            update(ChatLink)
            .where(ChatLink.telegram_user_id.in_([1, 3]))  # type: ignore[attr-defined]
            .values(linked_at=old)
        )
    async with purging(store, timedelta(days=180), clock=lambda: NOW):
        pass  # the first purge runs on entering: at the service's start
    # chat 1: both old, erased; chat 2: state old, link recent, kept link; chat 3: in use
    assert await _rows(store) == ({3}, {2: "p-2", 3: "p-3"})


async def test_the_operator_command_erases_a_chat(
    store: Store,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _chat(store, 77, "p-77")
    await _chat(store, 78, "p-78")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("LEYR_CLIENT_ID", raising=False)
    # `python -m bot forget` runs its own event loop, as from a shell
    assert await asyncio.to_thread(main, ["forget", "--chat", "77"]) == 0
    assert await asyncio.to_thread(main, ["forget", "--patient", "p-78"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "erased 1 dialog state(s) and 1 link(s)",
        "erased 1 dialog state(s) and 1 link(s)",
    ]
    assert await _rows(store) == (set(), {})


async def test_migration_pseudonymises_the_audit_rows_stored_before(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.upgrade(alembic_config(sync, KEY), "0003")
            )
            await connection.execute(
                text(
                    "INSERT INTO cancellation_audit (chat_id, patient_key, appointment_id, "
                    "outcome, created_at) VALUES (555, 'pk', 'a-1', 'cancelled', :now)"
                ),
                {"now": NOW},
            )
            await connection.run_sync(
                lambda sync: command.upgrade(alembic_config(sync, KEY), "head")
            )
            row = (await connection.execute(text("SELECT * FROM cancellation_audit"))).one()
    finally:
        await engine.dispose()
    assert "chat_id" not in row._fields
    assert row.chat_key == chat_key(KEY, 555)
