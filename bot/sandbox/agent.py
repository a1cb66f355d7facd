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
from bot.settings import CHAIN_SEPARATOR, SANDBOX_EMR
from dialogs.clinic import Appointment, CancelOutcome, Clinic, PatientRecord, TestPatient
from dialogs.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations

FAULTS = ("timeout", "reset", "server_error", "error_envelope", "emr_error", "malformed")


class SandboxAgent:
    def __init__(self, emulator: Emulator, emr: str = SANDBOX_EMR, country: str = "SE") -> None:
        """`emr`: the sandbox EHR the chats use; `country`: whose test patients are offered."""
        self._emulator = emulator
        self._emr = emr
        self._country = country
        self._inbox: defaultdict[int, list[str]] = defaultdict(list)

    async def test_patients(self) -> list[TestPatient]:
        offered = self._emulator.test_patients(self._country)
        return [TestPatient(p.personal_number, p.label) for p in offered]

    def relay(self, chat_id: int, clinic: Clinic) -> Clinic:
        """The chat's clinic, noting each SMS code the emulator sends because of this chat."""
        return _SmsRelay(clinic, self, chat_id)

    def _outbox_size(self) -> int:
        return len(self._emulator.outbox())

    def _note_sms(self, chat_id: int, since: int, appointment_ids: Sequence[str]) -> None:
        # a chain's ids name their care unit first: the emulator's SMS names the Leyr id
        wanted = {i.partition(CHAIN_SEPARATOR)[2] or i for i in appointment_ids}
        for sms in self._emulator.outbox()[since:]:
            if sms.appointment_id in wanted:
                self._inbox[chat_id].append(sms.text)

    async def sms_for(self, chat_id: int) -> list[str]:
        """The SMS texts sent because of this chat since the last call (then forgotten)."""
        return self._inbox.pop(chat_id, [])

    async def command(
        self, chat_id: int, name: str, args: list[str], language: str = DEFAULT_LANGUAGE
    ) -> str | None:
        """Handle an agent command, answering in `language`; None when `name` is not one (the
        dialog gets it then)."""
        say = translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext
        kinds = ", ".join(FAULTS)
        if name == "sandbox":
            return say("agent_help").format(kinds=kinds)
        if name == "sandbox_reset":
            self._emulator.reset()
            self._inbox.pop(chat_id, None)
            return say("agent_reset")
        if name in ("sandbox_onestep", "sandbox_twostep"):
            mode = "one_step" if name == "sandbox_onestep" else "two_step"
            self._emulator.set_profile(self._emr, cancellation=mode)
            return say(f"agent_{mode}")
        if name == "sandbox_fail":
            kind = args[0].lower() if args else ""
            if kind not in FAULTS:
                return say("agent_fail_usage").format(kinds=kinds)
            self._emulator.inject(_fault(kind))
            return say("agent_fail_next").format(kind=kind)
        return None


def _fault(kind: str) -> Fault:
    if kind == "emr_error":
        return Fault(kind="error_envelope", code="EMR_ERROR", status=502, error_code="EMR_ERROR")
    return Fault(kind=next(k for k in KINDS if k == kind))


class _SmsRelay:
    def __init__(self, inner: Clinic, agent: SandboxAgent, chat_id: int) -> None:
        self._inner = inner
        self._agent = agent
        self._chat_id = chat_id

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
