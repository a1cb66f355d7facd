"""What support agents get in sandbox chats: test patients instead of identity, the emulator's SMS
shown in the chat, and commands to reset the data, switch one-step/two-step and inject faults.

Only chats the runtime marks as sandbox chats are ever given an agent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import KINDS, Fault
from bot.sandbox.shapes import SWITCHES
from bot.settings import SANDBOX_EMR
from dialogs.clinic import (
    Appointment,
    CancelOutcome,
    Capabilities,
    Clinic,
    PatientRecord,
    TestPatient,
)

FAULTS = ("timeout", "reset", "server_error", "error_envelope", "emr_error", "malformed")

HELP = (
    "Sandbox tools (agents only):\n"
    "/sandbox_reset: fresh test data, no pending codes, no faults\n"
    "/sandbox_onestep, /sandbox_twostep: how the sandbox EHR cancels\n"
    f"/sandbox_fail KIND: the next Leyr call fails; KIND is one of {', '.join(FAULTS)}\n"
    "/sandbox_shape NAME: switch one way Leyr's answers look on or off (no NAME: list them)\n"
    "/start: pick a test patient (after /sandbox_reset) and begin"
)


class SandboxAgent:
    def __init__(self, emulator: Emulator, emr: str = SANDBOX_EMR) -> None:
        self._emulator = emulator
        self._emr = emr
        self._inbox: defaultdict[int, list[str]] = defaultdict(list)

    async def test_patients(self) -> list[TestPatient]:
        return [TestPatient(p.personal_number, p.label) for p in self._emulator.test_patients()]

    def relay(self, chat_id: int, clinic: Clinic) -> Clinic:
        """The chat's clinic, noting each SMS code the emulator sends because of this chat."""
        return _SmsRelay(clinic, self, chat_id)

    def _outbox_size(self) -> int:
        return len(self._emulator.outbox())

    def _note_sms(self, chat_id: int, since: int, appointment_ids: Sequence[str]) -> None:
        wanted = set(appointment_ids)
        for sms in self._emulator.outbox()[since:]:
            if sms.appointment_id in wanted:
                self._inbox[chat_id].append(sms.text)

    async def sms_for(self, chat_id: int) -> list[str]:
        """The SMS texts sent because of this chat since the last call (then forgotten)."""
        return self._inbox.pop(chat_id, [])

    async def command(self, chat_id: int, name: str, args: list[str]) -> str | None:
        """Handle an agent command; None when `name` is not one (the dialog gets it then)."""
        if name == "sandbox":
            return HELP
        if name == "sandbox_reset":
            self._emulator.reset()
            self._inbox.pop(chat_id, None)
            return "Sandbox data reset: every test patient has their appointments back."
        if name in ("sandbox_onestep", "sandbox_twostep"):
            mode = "one_step" if name == "sandbox_onestep" else "two_step"
            self._emulator.set_profile(self._emr, cancellation=mode)
            return f"The sandbox EHR now cancels in {mode.replace('_', ' ')}."
        if name == "sandbox_fail":
            kind = args[0].lower() if args else ""
            if kind not in FAULTS:
                return f"Usage: /sandbox_fail KIND, with KIND one of {', '.join(FAULTS)}"
            self._emulator.inject(_fault(kind))
            return f"The next Leyr call will fail with: {kind}."
        if name == "sandbox_shape":
            return self._shape(args[0].lower() if args else "")
        return None

    def _shape(self, switch: str) -> str:
        shapes = self._emulator.shapes
        if switch not in SWITCHES:
            on = set(shapes.on())
            return "Answer shapes (/sandbox_shape NAME switches one):\n" + "\n".join(
                f"{'[on] ' if name in on else ''}{name}: {what}" for name, what in SWITCHES.items()
            )
        shapes.set(switch, switch not in shapes.on())
        return f"{switch} is now {'on' if switch in shapes.on() else 'off'}."


def _fault(kind: str) -> Fault:
    if kind == "emr_error":
        return Fault(kind="error_envelope", code="EMR_ERROR", status=502, error_code="EMR_ERROR")
    return Fault(kind=next(k for k in KINDS if k == kind))


class _SmsRelay:
    def __init__(self, inner: Clinic, agent: SandboxAgent, chat_id: int) -> None:
        self._inner = inner
        self._agent = agent
        self._chat_id = chat_id

    def capabilities(self) -> Capabilities:
        return self._inner.capabilities()

    async def find_patient(self, personal_number: str) -> PatientRecord:
        return await self._inner.find_patient(personal_number)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        return await self._inner.list_appointments(patient_id, start, end)

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        since = self._agent._outbox_size()
        try:
            return await self._inner.cancel(appointment_ids, comment)
        finally:  # a lost answer may still have sent the SMS
            self._agent._note_sms(self._chat_id, since, appointment_ids)

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        return await self._inner.confirm(pending_id, code)
