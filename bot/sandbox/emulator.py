"""The Leyr emulator: in-memory EHRs, SMS outbox, faults, and an httpx transport to reach it
in-process exactly as over the network (a lost answer raises the same httpx errors)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from bot.sandbox.app import build_app
from bot.sandbox.ehr import PROFILES, Ehr, Profile, Record, Sms, TestPatient, seed, test_patients
from bot.sandbox.faults import Fault, FaultPlan, SimulatedNetworkFault
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

Sleep = Callable[[float], Awaitable[None]]


class Emulator:
    def __init__(
        self,
        seed: int = 1,
        now: Callable[[], datetime] | None = None,
        sleep: Sleep = asyncio.sleep,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
    ) -> None:
        self.seed = seed
        self.now = now or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.client_id = client_id
        self.client_secret = client_secret
        self.care_unit = SANDBOX_CARE_UNIT
        self.calls: list[tuple[str, str]] = []
        self.faults = FaultPlan(queued=[])
        self._outbox: list[Sms] = []
        self.ehrs: dict[str, Ehr] = {}
        self.reset()
        self.app = build_app(self)

    def reset(self) -> None:
        rng = random.Random(self.seed)  # noqa: S311 - deterministic test data
        self._outbox.clear()
        self.faults = FaultPlan(queued=[])
        data = seed(self.now())
        self.ehrs = {
            emr: Ehr(
                Profile(p.cancellation, p.listing),
                self.now,
                random.Random(rng.random()),  # noqa: S311
                self._outbox,
                {k: Record(**vars(r)) for k, r in data.items()},
            )
            for emr, p in PROFILES.items()
        }

    def transport(self) -> EmulatorTransport:
        return EmulatorTransport(self)

    def outbox(self, phone: str | None = None) -> list[Sms]:
        return [s for s in self._outbox if phone is None or s.phone == phone]

    def set_profile(
        self, emr: str, cancellation: str | None = None, listing: bool | None = None
    ) -> None:
        profile = self.ehrs[emr].profile
        if cancellation is not None:
            if cancellation not in ("one_step", "two_step"):
                raise ValueError("cancellation is one_step or two_step")
            profile.cancellation = cancellation
        if listing is not None:
            profile.listing = bool(listing)

    def inject(self, fault: Fault) -> None:
        self.faults.queued.append(fault)

    def clear_faults(self) -> None:
        self.faults.queued.clear()
        self.faults.probability = 0.0

    def set_latency(self, ms: int) -> None:
        self.faults.latency_ms = max(0, ms)

    def set_random_faults(self, probability: float, seed: int) -> None:
        self.faults.set_random(probability, seed)

    def test_patients(self) -> list[TestPatient]:
        return test_patients()

    def appointment(self, emr: str, appointment_id: str) -> Record | None:
        return self.ehrs[emr].appointments.get(appointment_id)

    async def wait(self, ms: int) -> None:
        if ms > 0:
            await self.sleep(ms / 1000)


class EmulatorTransport(httpx.AsyncBaseTransport):
    """Reach the emulator in-process; simulated network faults become httpx's own errors."""

    def __init__(self, emulator: Emulator) -> None:
        self._inner = httpx.ASGITransport(app=emulator.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except SimulatedNetworkFault as fault:
            if fault.kind == "timeout":
                raise httpx.ReadTimeout("sandbox: simulated timeout", request=request) from None
            raise httpx.RemoteProtocolError(
                "sandbox: simulated connection reset", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
