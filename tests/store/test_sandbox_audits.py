"""Sandbox chats' audit rows are marked, so a clinic's audit report (the patients' rows) never
mixes them in; rows written before the mark existed count as patients'."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.store import AuditEntry, ChatSnapshot, Store, open_store
from bot.store.database import alembic_config


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="test-key")
    yield opened
    await opened.close()


async def test_the_clinics_report_reads_only_the_patients_rows(store: Store) -> None:
    await store.save(
        ChatSnapshot(chat_id=1, state="outcome"),
        expected_version=None,
        audits=[AuditEntry("a-patient", "cancelled")],
    )
    await store.save(
        ChatSnapshot(chat_id=2, state="outcome"),
        expected_version=None,
        audits=[AuditEntry("a-test", "cancelled", sandbox=True)],
    )
    assert [a.appointment_id for a in await store.audits(sandbox=False)] == ["a-patient"]
    assert [a.appointment_id for a in await store.audits(sandbox=True)] == ["a-test"]
    assert len(await store.audits()) == 2


async def test_rows_from_before_the_mark_are_the_patients(database_url: str) -> None:
    """The migration adds the column to a database holding rows: they become patients' rows."""
    old = await open_store(database_url, pseudonym_key="k", migrate_schema=False)

    def to(revision: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), revision)

        return run

    async with old.engine.begin() as connection:
        await connection.run_sync(to("0002"))
        await connection.execute(
            text(
                "INSERT INTO cancellation_audit (chat_id, patient_key, appointment_id, outcome, "
                "created_at) VALUES (1, 'k', 'a-old', 'cancelled', CURRENT_TIMESTAMP)"
            )
        )
        await connection.run_sync(to("head"))
    [row] = await old.audits(sandbox=False)
    assert row.appointment_id == "a-old" and row.sandbox is False
    await old.close()
