"""The Leyr emulator in its own process (`python -m bot sandbox --port 0 --patients N`) on
loopback, so its CPU is not the bot's, and its agent controls over HTTP: reset the data, set the
latency every Leyr call waits, count operations, read a patient's SMS codes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psutil

from bot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/api)")


@dataclass
class LeyrControl:
    """The emulator's base URL and its agent controls."""

    base_url: str
    process: psutil.Process
    http: httpx.AsyncClient

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    async def reset(self) -> None:
        """Every appointment back, no pending codes, an empty SMS outbox."""
        await self._call("POST", "reset")

    async def set_latency(self, ms: int) -> None:
        """How long every Leyr call waits before it is answered."""
        await self._call("PUT", "latency", json={"ms": ms})

    async def operations(self) -> dict[str, int]:
        """Leyr operations carried out so far, by kind (list, cancel, confirm, ...)."""
        counted: dict[str, int] = await self._call("GET", "operations")
        return counted

    async def sms_codes(self, phone: str) -> list[str]:
        """The codes sent to `phone` since the last reset, oldest first."""
        sent = await self._call("GET", "outbox", params={"phone": phone})
        return [str(sms["code"]) for sms in sent]

    def cpu_seconds(self) -> float:
        """The emulator process's CPU time so far."""
        times = self.process.cpu_times()
        return float(times.user + times.system)


@contextlib.asynccontextmanager
async def leyr_process(synthetic_patients: int, *, seed: int = 1) -> AsyncIterator[LeyrControl]:
    """The emulator serving `synthetic_patients` synthetic patients, stopped on exit."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LEYR_", "SANDBOX_"))},
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        "0",
        "--patients",
        str(synthetic_patients),
        "--seed",
        str(seed),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        base_url = await _listening(process)
        headers = {
            "x-leyr-client-id": SANDBOX_CLIENT_ID,
            "x-leyr-client-secret": SANDBOX_CLIENT_SECRET,
        }
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
            yield LeyrControl(base_url, psutil.Process(process.pid), http)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _listening(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(STARTUP_SECONDS):
        while True:
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("the Leyr emulator exited before it was listening")
            found = LISTENING.search(line.decode(errors="replace"))
            if found:
                return found.group(1)
