"""Fault injection for the emulator: make the next Leyr calls slow, lost, broken or refused."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["latency", "timeout", "reset", "server_error", "error_envelope", "malformed"]
KINDS: tuple[Kind, ...] = ("timeout", "reset", "server_error", "error_envelope", "malformed")


@dataclass
class Fault:
    """`applied`: whether a write lands before the fault (default: the answer is lost after it
    landed for timeout, reset and malformed; nothing lands for server_error and error_envelope)."""

    kind: Kind
    applied: bool | None = None
    code: str = "BAD_REQUEST"
    status: int = 400
    error_code: str = "BAD_INPUT"
    ms: int = 0
    count: int = 1

    @property
    def lands(self) -> bool:
        if self.applied is not None:
            return self.applied
        return self.kind in ("timeout", "reset", "malformed", "latency")


class SimulatedNetworkFault(Exception):
    """Raised by the app for timeout/reset; the transport turns it into an httpx error."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        super().__init__(kind)


@dataclass
class FaultPlan:
    queued: list[Fault]
    latency_ms: int = 0
    probability: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311
    injected: int = 0

    def next(self) -> Fault | None:
        if self.queued:
            fault = self.queued[0]
            fault.count -= 1
            if fault.count <= 0:
                self.queued.pop(0)
            self.injected += 1
            return fault
        if self.probability and self.rng.random() < self.probability:
            self.injected += 1
            return Fault(kind=self.rng.choice(KINDS))
        return None

    def set_random(self, probability: float, seed: int) -> None:
        self.probability = probability
        self.rng = random.Random(seed)  # noqa: S311 - deterministic test faults
