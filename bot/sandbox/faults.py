"""Fault injection for the emulator: make the next Leyr calls slow, lost, broken or refused, and
let a caller in the same process see which of its calls met which fault (`watching`)."""

from __future__ import annotations

import random
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["latency", "timeout", "reset", "server_error", "error_envelope", "malformed"]
ALL_KINDS: tuple[Kind, ...] = (
    "latency",
    "timeout",
    "reset",
    "server_error",
    "error_envelope",
    "malformed",
)
# The kinds that make a call fail (what random mode and agents pick from).
KINDS: tuple[Kind, ...] = ("timeout", "reset", "server_error", "error_envelope", "malformed")
NETWORK_KINDS = ("timeout", "reset")


@dataclass
class Fault:
    """`applied`: whether a write lands before the fault. Default: yes for timeout, reset and
    malformed (the answer is lost after the write landed), no for server_error and
    error_envelope."""

    kind: Kind
    applied: bool | None = None
    code: str = "BAD_REQUEST"
    status: int = 400
    error_code: str = "BAD_INPUT"
    ms: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.count < 1 or self.ms < 0:
            raise ValueError("count must be >= 1 and ms >= 0")

    @property
    def lands(self) -> bool:
        if self.applied is not None:
            return self.applied
        return self.kind in ("timeout", "reset", "malformed", "latency")


Message = MutableMapping[str, Any]


class SimulatedNetworkFault(Exception):
    """Raised outside the Starlette app for timeout/reset, carrying the withheld answer; the
    in-process transport turns it into an httpx error, the server into a hang or a cut."""

    def __init__(self, kind: str, messages: list[Message] | None = None) -> None:
        self.kind = kind
        self.messages = messages or []
        super().__init__(kind)


@dataclass
class FaultPlan:
    queued: list[Fault] = field(default_factory=list)
    latency_ms: int = 0
    probability: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311
    injected: int = 0

    def next(self) -> Fault | None:
        """The fault for the next API call, if any (consumes one use of a queued fault)."""
        if self.queued:
            fault = self.queued[0]
            fault.count -= 1
            if fault.count <= 0:
                self.queued.pop(0)
            self.injected += 1
            return fault
        if self.probability > 0 and self.rng.random() < self.probability:
            self.injected += 1
            return Fault(kind=self.rng.choice(KINDS))
        return None

    def set_random(self, probability: float, seed: int) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self.probability = probability
        self.rng = random.Random(seed)  # noqa: S311 - deterministic test faults

    def clear(self) -> None:
        self.queued.clear()
        self.probability = 0.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One API call the emulator answered: its route ("PATCH /appointments/{id}") and the fault
    it met, if any."""

    route: str
    fault: Fault | None


_WATCHED: ContextVar[list[Attempt] | None] = ContextVar("sandbox_attempts", default=None)


@contextmanager
def watching() -> Iterator[list[Attempt]]:
    """The API calls the emulator answers for this task (in process) while the block runs."""
    seen: list[Attempt] = []
    token = _WATCHED.set(seen)
    try:
        yield seen
    finally:
        _WATCHED.reset(token)


def note_attempt(route: str, fault: Fault | None) -> None:
    seen = _WATCHED.get()
    if seen is not None:
        seen.append(Attempt(route, fault))
