"""The Leyr emulator: in-memory EHRs, SMS outbox, faults, and an httpx transport to reach it
in-process exactly as over the network."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.sandbox.app import build_app
from bot.sandbox.ehr import PROFILES, Cancellation, Ehr, Record, Sms
from bot.sandbox.faults import Fault, FaultPlan
from bot.sandbox.seed import TestPatient, appointments, directory, test_patients
from bot.sandbox.shapes import Shapes
from bot.sandbox.transport import EmulatorTransport
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
        *,
        synthetic_patients: int = 0,
    ) -> None:
        """`synthetic_patients`: how many synthetic patients (`bot.sandbox.seed`) each EHR holds
        besides the test patients, for load tests."""
        if synthetic_patients < 0:
            raise ValueError("synthetic_patients must be >= 0")
        self.seed = seed
        self.synthetic_patients = synthetic_patients
        self.patients = directory(synthetic_patients)
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.client_id = client_id
        self.client_secret = client_secret
        self.care_unit = SANDBOX_CARE_UNIT
        self.calls: list[tuple[str, str]] = []
        self.operations: Counter[str] = Counter()
        self.cancel_patches: dict[str, int] = {}
        self.faults = FaultPlan()
        self._outbox: list[Sms] = []
        self.ehrs: dict[str, Ehr] = {}
        self.reset()
        self.app = build_app(self)

    def reset(self) -> None:
        """Fresh seeded data for every EHR, default profiles and shapes, empty outbox, no faults.

        `calls` and `operations` keep counting across resets (a whole test run's traffic); the
        per-appointment cancel counts start over with the data."""
        rng = random.Random(self.seed)  # noqa: S311 - deterministic test data
        self._outbox.clear()
        self.faults = FaultPlan()
        self.shapes = Shapes()
        self.cancel_patches.clear()
        data = appointments(self.now(), self.synthetic_patients)
        self.ehrs = {
            emr: Ehr(
                dataclasses.replace(p),
                self.now,
                random.Random(rng.getrandbits(64)),  # noqa: S311
                self._outbox,
                {k: dataclasses.replace(r) for k, r in data.items()},
                patients=self.patients,
            )
            for emr, p in PROFILES.items()
        }

    def transport(self) -> EmulatorTransport:
        return EmulatorTransport(self.app)

    def outbox(self, phone: str | None = None) -> list[Sms]:
        return [s for s in self._outbox if phone is None or s.phone == phone]

    def set_profile(
        self, emr: str, cancellation: str | None = None, listing: bool | None = None
    ) -> None:
        profile = self.ehrs[emr].profile
        if cancellation is not None:
            modes: dict[str, Cancellation] = {"one_step": "one_step", "two_step": "two_step"}
            if cancellation not in modes:
                raise ValueError("cancellation is one_step or two_step")
            profile.cancellation = modes[cancellation]
        if listing is not None:
            profile.listing = bool(listing)

    def inject(self, fault: Fault) -> None:
        self.faults.queued.append(dataclasses.replace(fault))

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, ms: int) -> None:
        self.faults.latency_ms = max(0, int(ms))

    def set_random_faults(self, probability: float, seed: int) -> None:
        self.faults.set_random(probability, seed)

    def test_patients(self, country: str | None = None) -> list[TestPatient]:
        return test_patients(country)

    def appointment(self, emr: str, appointment_id: str) -> Record | None:
        return self.ehrs[emr].appointments.get(appointment_id)

    def cancel_count(self, appointment_id: str) -> int:
        """How many cancel PATCHes (single or bulk) named this appointment."""
        return self.cancel_patches.get(appointment_id, 0)

    async def wait(self, ms: int) -> None:
        if ms > 0:
            await self.sleep(ms / 1000)


__all__ = ["Emulator", "EmulatorTransport", "Fault", "Sms", "TestPatient"]
