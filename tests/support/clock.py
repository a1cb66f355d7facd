"""Time for tests: a clock that moves only when a test moves it, and sleeps that never wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class Clock:
    """A callable clock (`now=clock`): it reads `now` and moves only when a test sets it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sleeps:
    """An injected sleep that returns at once and notes each delay it was asked for."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def no_sleep(_: float) -> None:
    """An injected sleep that returns at once."""
