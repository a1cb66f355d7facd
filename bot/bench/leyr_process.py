"""The Leyr emulator in its own process (`python -m bot sandbox --port 0 --patients N`) on
loopback, so its CPU is not the bot's, and its agent controls over HTTP: reset the data, set the
latency every Leyr call waits, count operations, read a patient's SMS codes."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator

import httpx

from bot.bench.child import Control, child
from bot.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/api)")


class LeyrControl(Control):
    """The emulator's base URL and its agent controls."""

    CONTROLS = "/_sandbox"

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
    argv = [sys.executable, "-m", "bot", "sandbox", "--port", "0"]
    argv += ["--patients", str(synthetic_patients), "--seed", str(seed)]
    headers = {
        "x-leyr-client-id": SANDBOX_CLIENT_ID,
        "x-leyr-client-secret": SANDBOX_CLIENT_SECRET,
    }
    async with (
        child(argv, env, LISTENING, "the Leyr emulator") as (base_url, process),
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http,
    ):
        yield LeyrControl(base_url, process, http)
