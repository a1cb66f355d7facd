"""`python -m bot run` refusing to start: one line on stderr naming the setting, exit status 2.

Each run is a subprocess on loopback only: the Bot API is a closed local port or the fake server,
and the database is opened before any call to Telegram.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.bench.fake_bot_api import TOKEN, fake_bot_api_server
from tests.support.paths import REPO

TIMEOUT_SECONDS = 60.0

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LEYR_", "TELEGRAM_", "SANDBOX_", "DATABASE_", "PSEUDONYM_", "LOG_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{_closed_port()}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        LOG_LEVEL="INFO",
    )
    env.update(values)
    return env


async def _run(env: dict[str, str], tmp_path: Path) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=str(tmp_path),  # no .env from the repo
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    assert process.returncode is not None
    return process.returncode, (out + err).decode().splitlines()


async def test_a_bad_database_url_is_one_line(tmp_path: Path) -> None:
    status, lines = await _run(_environment(tmp_path, DATABASE_URL="mysql://x"), tmp_path)
    assert status == 2, lines
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], lines


async def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://bot:hunter2secret@127.0.0.1:{_closed_port()}/bot"
    status, lines = await _run(_environment(tmp_path, DATABASE_URL=url), tmp_path)
    assert status == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("configuration error: ") and "DATABASE_URL" in lines[0]
    assert "hunter2secret" not in lines[0]


async def test_an_unwritable_sqlite_file_is_one_line(tmp_path: Path) -> None:
    """The folder is checked before the database is opened: the line says what is wrong, and
    no failing connection is left to race the event loop's end (it once printed a thread's
    traceback ending "Event loop is closed", 2 runs in 20)."""
    folder = tmp_path / "missing" / "dir"
    url = f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"
    status, lines = await _run(_environment(tmp_path, DATABASE_URL=url), tmp_path)
    assert status == 2, lines
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], lines
    assert lines[0].endswith(f"the folder {folder} does not exist"), lines


async def test_a_token_refused_by_telegram_is_one_line_at_info(tmp_path: Path) -> None:
    """The database is migrated first (alembic would log a line per plugin at INFO), then
    Telegram refuses the token."""
    async with fake_bot_api_server() as (_server, api_url):
        env = _environment(
            tmp_path, TELEGRAM_BOT_TOKEN="999999:not-the-fake-apis-token", TELEGRAM_API_URL=api_url
        )
        status, lines = await _run(env, tmp_path)
    assert status == 2, lines
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0], lines
    assert (tmp_path / "bot.sqlite3").exists()
