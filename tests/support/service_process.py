"""`python -m bot run` as a subprocess for end-to-end tests: its environment (a fake Bot API
URL, a SQLite file, no settings inherited from the developer's shell) and its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bot.bench.fake_bot_api import TOKEN
from tests.support.paths import REPO


def bot_environment(api_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LEYR_", "TELEGRAM_", "SANDBOX_", "DATABASE_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.asynccontextmanager
async def bot_process(
    env: dict[str, str], tmp_path: Path, log_name: str = "bot.log"
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` with its output in tmp_path/`log_name`; killed if a test leaves it."""
    with (tmp_path / log_name).open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=str(tmp_path),  # no .env from the repo
            env={**env, "PYTHONPATH": str(REPO)},
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
