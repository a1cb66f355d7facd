"""A helper process of the benchmark (the Leyr emulator, the fake Bot API): started, waited for
until it says where it listens, reached over HTTP, measured, and stopped again."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import psutil

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


@dataclass
class Control:
    """A running helper: its base URL, its process, and an HTTP client for its controls, which
    live under `CONTROLS` (a path below the base URL)."""

    CONTROLS: ClassVar[str] = ""

    base_url: str
    process: psutil.Process
    http: httpx.AsyncClient

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"{self.CONTROLS}/{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)


@asynccontextmanager
async def child(
    argv: Sequence[str], env: dict[str, str], listening: re.Pattern[str], what: str
) -> AsyncIterator[tuple[str, psutil.Process]]:
    """Start `argv`, wait for the line `listening` matches (its group 1 is the base URL), and
    stop the process on exit (SIGTERM, then SIGKILL after `STOP_SECONDS`)."""
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, env=env)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(STARTUP_SECONDS):
            while True:
                line = await process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{what} exited before it was listening")
                found = listening.search(line.decode(errors="replace"))
                if found:
                    break
        yield found.group(1), psutil.Process(process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
