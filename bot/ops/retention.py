"""Patients' data kept no longer than needed: the service purges dialog states and
chat-to-patient links unused for `DATA_RETENTION_DAYS` (at start, then daily, on the replica
that polls), and `python -m bot forget` erases a chat's or a patient's data on request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import open_database
from bot.settings import Settings
from bot.store import Erased, Store

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)


async def purge_once(
    store: Store, retention: timedelta, clock: Callable[[], datetime]
) -> Erased | None:
    try:
        erased = await store.purge(clock() - retention)
    except (SQLAlchemyError, OSError) as error:
        log.warning("purge failed (%s): tried again in a day", type(error).__name__)
        return None
    log.info(
        "purge: %s dialog state(s) and %s link(s) unused for %s days erased",
        erased.states,
        erased.links,
        retention.days,
    )
    return erased


@contextlib.asynccontextmanager
async def purging(
    store: Store,
    retention: timedelta,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    every: timedelta = PURGE_EVERY,
) -> AsyncIterator[None]:
    """Purge now, then every `every` while inside."""
    await purge_once(store, retention, clock)

    async def later() -> None:
        while True:
            await asyncio.sleep(every.total_seconds())
            await purge_once(store, retention, clock)

    task = asyncio.create_task(later())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task})


async def forget(settings: Settings, *, chat: int | None, patient: str | None) -> Erased:
    """The operator's erasure: a chat's data (`chat`) or an EHR patient's (`patient`)."""
    store = await open_database(settings)
    try:
        if chat is not None:
            erased = await store.forget_chat(chat)
        else:
            assert patient is not None
            erased = await store.forget_patient(patient)
    finally:
        await store.close()
    log.info("forget: %s dialog state(s) and %s link(s) erased", erased.states, erased.links)
    return erased
