"""Wiring: settings -> storage, Leyr clients, the sandbox, and the engine that uses them.

One `LeyrClient` (one connection pool) per Leyr endpoint per process. Sandbox chats (and every
chat when no Leyr credentials are set) reach the in-process emulator; the others reach Leyr.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.engine import Engine
from bot.leyr.chain import leyr_clinic
from bot.leyr.client import LeyrClient
from bot.sandbox.agent import SandboxAgent
from bot.sandbox.emulator import Emulator
from bot.settings import (
    SANDBOX_CARE_UNIT,
    SANDBOX_CARE_UNITS,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_EMRS,
    ConfigError,
    Settings,
)
from bot.store import Store, open_store
from bot.store.database import sqlite_folder_problem
from dialogs import Services
from dialogs.config import CareUnitRules, DialogConfig
from dialogs.i18n import LANGUAGES, MissingCatalog, translations

SANDBOX_BASE_URL = "http://sandbox.invalid/api"


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: Store
    engine: Engine
    agent: SandboxAgent | None
    emulator: Emulator | None
    leyr: LeyrClient | None = None
    """The client of the clinic's Leyr (None when every chat is a sandbox chat)."""


def dialog_config(settings: Settings) -> DialogConfig:
    return DialogConfig(
        clinic_name=settings.clinic_name,
        clinic_phone=settings.clinic_phone,
        zone=settings.zone,
        region=settings.clinic_region,
        id_kind=settings.id_kind,
        cancellation_deadline=settings.cancellation_deadline,
        horizon=settings.appointments_horizon,
        code_max_attempts=settings.code_max_attempts,
        code_expiry=settings.code_expiry,
        code_resends_per_day=settings.code_resends_per_day,
        identity_attempts_per_hour=settings.identity_attempts_per_hour,
        identity_valid_for=settings.identity_valid_for,
        identity_idle_for=settings.identity_idle_for,
        care_units=care_unit_rules(settings),
    )


def care_unit_rules(settings: Settings) -> dict[str, CareUnitRules]:
    """The chain's care units that have a phone or a deadline of their own."""
    phones, deadlines = settings.care_unit_phones, settings.care_unit_deadline_hours
    return {
        unit: CareUnitRules(
            phone=phones.get(unit),
            cancellation_deadline=timedelta(hours=deadlines[unit]) if unit in deadlines else None,
        )
        for unit in settings.care_unit_ids
        if unit in phones or unit in deadlines
    }


def keyed_digest(key: str) -> Callable[[str], str]:
    secret = key.encode()

    def digest(value: str) -> str:
        return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()

    return digest


async def open_database(settings: Settings) -> Store:
    """The migrated store, or ConfigError naming DATABASE_URL (its password hidden) when the
    database cannot be opened: no driver, unreachable, refused, unwritable. A SQLite file's
    folder is checked first, so a missing or read-only one is named as such."""
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    problem = sqlite_folder_problem(settings.database_url)
    if problem is not None:
        raise ConfigError(f"cannot open the database at DATABASE_URL ({shown}): {problem}")
    try:
        return await open_store(
            settings.database_url, pseudonym_key=settings.pseudonym_key.get_secret_value()
        )
    except (SQLAlchemyError, OSError, ImportError) as error:
        raise ConfigError(
            f"cannot open the database at DATABASE_URL ({shown}): {type(error).__name__}"
        ) from None


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    all_sandbox: bool = False,
    emulator: Emulator | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sandbox_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    leyr_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Runtime]:
    """Everything the adapters need, closed again on exit; ConfigError when the database cannot
    be opened or a compiled message catalog is missing. `all_sandbox` forces every chat onto the
    emulator (the terminal chat does); `emulator` and `sandbox_sleep` (the sandbox client's wait
    between read retries) let tests and benchmarks bring their own; `leyr_transport` carries the
    Leyr client's requests instead of the network (tests: another emulator playing the clinic's
    Leyr)."""
    config = dialog_config(settings)
    digest = keyed_digest(settings.pseudonym_key.get_secret_value())
    sandbox_everywhere = all_sandbox or settings.sandbox_only
    try:
        for language in LANGUAGES:
            translations(language)
    except MissingCatalog as missing:
        raise ConfigError(str(missing)) from None
    async with AsyncExitStack() as stack:
        store = await open_database(settings)
        stack.push_async_callback(store.close)

        live: Services | None = None
        client: LeyrClient | None = None
        if not sandbox_everywhere:
            client = LeyrClient.from_settings(settings, leyr_transport)
            stack.push_async_callback(client.aclose)
            live = Services(
                clinic=leyr_clinic(client, settings, settings.care_unit_ids),
                config=config,
                digest=digest,
            )

        agent: SandboxAgent | None = None
        if sandbox_everywhere or settings.sandbox_chat_ids:
            emulator = emulator or Emulator()
            sandbox_client = LeyrClient(
                base_url=SANDBOX_BASE_URL,
                client_id=SANDBOX_CLIENT_ID,
                client_secret=SANDBOX_CLIENT_SECRET,
                emr=SANDBOX_EMRS[settings.clinic_region],
                care_unit_id=SANDBOX_CARE_UNIT,
                timeout=settings.leyr_timeout_seconds,
                transport=emulator.transport(),
                sleep=sandbox_sleep,
            )
            stack.push_async_callback(sandbox_client.aclose)
            sandbox_emr = SANDBOX_EMRS[settings.clinic_region]
            sandbox_clinic = leyr_clinic(sandbox_client, settings, SANDBOX_CARE_UNITS, sandbox_emr)
            agent = SandboxAgent(emulator, store, sandbox_emr, settings.clinic_region)

        def is_sandbox(chat_id: int) -> bool:
            return sandbox_everywhere or settings.is_sandbox_chat(chat_id)

        def services_for(chat_id: int) -> Services:
            if is_sandbox(chat_id):
                assert agent is not None
                return Services(
                    clinic=agent.relay(chat_id, sandbox_clinic),
                    config=config,
                    digest=digest,
                    directory=agent,
                )
            assert live is not None
            return live

        engine = Engine(store, services_for, is_sandbox, clock)
        yield Runtime(settings, store, engine, agent, emulator if agent else None, client)
