"""Shared fixtures: a database URL per storage backend (SQLite always; PostgreSQL when
TEST_POSTGRES_URL names a server, required when REQUIRE_POSTGRES=1)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.bench.fake_bot_api import TOKEN
from bot.logs import formatter, setup_logging
from bot.sandbox.ehr import PATIENTS
from bot.settings import SANDBOX_CLIENT_SECRET
from tests.support.fake_clinic import CODE, PERSONAL_NUMBER, PHONE

os.environ.setdefault("PTB_TIMEDELTA", "1")  # as `python -m bot` runs (bot/__main__.py)

BACKENDS = ["sqlite", "postgres"]

PRIVATE: list[str] = sorted(
    {
        PERSONAL_NUMBER,
        PERSONAL_NUMBER[2:],
        PHONE,
        PHONE.lstrip("+"),
        "070-123 45 67",
        CODE,
        TOKEN,
        SANDBOX_CLIENT_SECRET,
        "s3cret-value",
        "e2e-key",
        *(p["pn"] for p in PATIENTS),
        *(p["first"] for p in PATIENTS),
        *(p["last"] for p in PATIENTS),
        *(phone for p in PATIENTS for phone in p["phones"]),
    }
)
PERSONAL_FORMS = {"19121212-1212", "121212-1212"}


FORMATTERS = [formatter("text"), formatter("json")]


def private_values_in(records: list[logging.LogRecord]) -> list[str]:
    """The private values that appear in any of these log records, as either log format
    (`LOG_FORMAT=text` or `json`) writes them, tracebacks included."""
    found = []
    for record in records:
        for each in FORMATTERS:
            line = each.format(record)
            found += [value for value in [*PRIVATE, *PERSONAL_FORMS] if value in line]
    return found


@pytest.fixture(autouse=True)
def private_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Every test runs with our logging at DEBUG; no log line may hold a private value."""
    setup_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield
    if request.node.get_closest_marker("leaks_on_purpose"):
        return
    # caplog.records would hold this teardown's records only: check every phase
    records = [r for when in ("setup", "call") for r in caplog.get_records(when)]
    leaked = private_values_in(records + caplog.records)
    assert not leaked, f"private values in logs: {sorted(set(leaked))}"


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server (set TEST_POSTGRES_URL)")
    url = make_url(server)
    name = f"test_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
