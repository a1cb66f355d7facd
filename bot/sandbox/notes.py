"""What the agent is shown in a sandbox chat after a step, besides the dialog's own replies: the
SMS the emulator "sent", and each injected fault with the Leyr call it hit and what the bot did.

Notes are kept as facts and put into words only when shown, in the chat's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.sandbox.faults import Attempt, Fault
from bot.sandbox.seed import ZONE
from bot.sandbox.texts import say
from dialogs.clinic import (
    ClinicError,
    ClinicUnavailable,
    CodeRejected,
    OutcomeUnknown,
    PendingGone,
)
from dialogs.i18n import Translator

WRITES = frozenset({"cancel", "confirm"})


@dataclass(frozen=True, slots=True)
class SmsNote:
    """A code the emulator texted to a test patient for the appointment starting at `start`."""

    start: datetime
    code: str

    def render(self, language: str) -> str:
        when = Translator(language, ZONE).when(self.start)
        return say(language, "sms", text=say(language, "sms_text", when=when, code=self.code))


@dataclass(slots=True)
class FaultNote:
    """An injected fault met by one clinic call (`operation`), and what the bot made of it."""

    operation: str
    fault: Fault
    route: str
    action: str
    attempts: int
    reread: str | None = None
    """After an unknown outcome: "did_reread" or "did_reread_failed" once the bot read again."""

    def render(self, language: str) -> str:
        action = say(language, self.action, attempts=self.attempts)
        if self.reread is not None:
            action += "\n" + say(language, self.reread)
        return say(
            language,
            "fault",
            fault=describe(self.fault, language, write=self.operation in WRITES),
            route=self.route,
            operation=say(language, f"op_{self.operation}"),
            action=action,
        )


Note = SmsNote | FaultNote


def describe(fault: Fault, language: str, *, write: bool = False) -> str:
    """The fault as what it is: a timeout is not an error answer, a 502 from the EHR not a 5xx
    without a body. `write`: say whether the EHR did the work before the answer went wrong."""
    key = f"fault_{fault.kind}"
    status = fault.status
    if fault.kind == "error_envelope" and fault.code == "EMR_ERROR":
        key = "fault_emr_error"
    if fault.kind == "server_error":
        status = 500 if fault.lands else 503
    landed = say(language, "fault_landed") if write and fault.lands else ""
    return say(
        language,
        key,
        status=status,
        code=fault.code,
        error_code=fault.error_code,
        landed=landed,
    )


def fault_note(
    operation: str, attempts: list[Attempt], error: ClinicError | None
) -> FaultNote | None:
    """The note for one clinic call, or None when it met no failing fault."""
    hits = [a for a in attempts if a.fault is not None and a.fault.kind != "latency"]
    if not hits:
        return None
    first = hits[0]
    assert first.fault is not None
    tries = sum(1 for a in attempts if a.route == first.route)
    return FaultNote(
        operation=operation,
        fault=first.fault,
        route=first.route,
        action=_action(operation in WRITES, error),
        attempts=tries,
    )


def _action(write: bool, error: ClinicError | None) -> str:
    """The text key saying what the bot did after the fault."""
    if error is None:
        return "did_retried" if not write else "did_nothing"
    if not write:
        return "did_read_gave_up" if isinstance(error, ClinicUnavailable) else "did_read_refused"
    if isinstance(error, OutcomeUnknown):
        return "did_unknown"
    if isinstance(error, CodeRejected):
        return "did_code_rejected"
    if isinstance(error, PendingGone):
        return "did_pending_gone"
    if isinstance(error, ClinicUnavailable):
        return "did_not_sent"
    return "did_write_refused"
