"""The sandbox tests' emulator: seeded, on a clock of their own, its sleeps noted; and an httpx
client that reaches it in process with the sandbox's credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox.emulator import Emulator
from tests.support.clock import Clock, Sleeps
from tests.support.emulator_http import HEADERS, START


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def emulator(clock: Clock, sleeps: Sleeps) -> Emulator:
    return Emulator(seed=5, now=clock, sleep=sleeps)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
    ) as c:
        yield c
