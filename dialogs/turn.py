"""One step in progress (a `Turn`): the state, the chat's context, what the step may use, and
what it has said so far. Steps (dialogs/steps) are plain functions of a Turn.

The bookkeeping every step shares lives here and stays small: saying and flushing texts with
their buttons, moving to another state (checked against `dialogs.machine.MOVES`), recording a
result or an audit row, and ending on the outcome screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dialogs import machine
from dialogs.clinic import (
    Appointment,
    Clinic,
    ClinicError,
    ClinicRefused,
    TestPatientDirectory,
    Window,
)
from dialogs.config import DialogConfig
from dialogs.context import DialogContext, Outcome, Result, Shown
from dialogs.i18n import Translator
from dialogs.replies import Audit, Option, Reply, StepResult


@dataclass(frozen=True, slots=True)
class Services:
    """What a step may use: the clinic, the clinic's knobs, a keyed digest for phones, and in
    sandbox chats the directory of test patients."""

    clinic: Clinic
    config: DialogConfig
    digest: Callable[[str], str]
    directory: TestPatientDirectory | None = None


def read_failure(error: ClinicError) -> str:
    """The ending when a read failed: the EHR answered with an error, or could not be reached."""
    return "clinic_error" if isinstance(error, ClinicRefused) else "unavailable"


StepAction = Callable[["Turn"], Awaitable[None]]
ButtonAction = Callable[["Turn", str], Awaitable[bool]]
TextAction = Callable[["Turn", str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    """One state's behaviour, together: its question (`prompt`), how it is entered from another
    step (default: move there, then ask), and what it does with a pressed button (False: not one
    of its buttons) or typed text. A missing handler means "please use the buttons"."""

    prompt: StepAction
    enter: StepAction | None = None
    button: ButtonAction | None = None
    text: TextAction | None = None


@dataclass(eq=False, slots=True)
class Turn:
    state: str
    ctx: DialogContext
    services: Services
    now: datetime
    steps: Mapping[str, Step]
    out: StepResult = field(default_factory=StepResult)
    texts: list[str] = field(default_factory=list)
    listed: list[Appointment] | ClinicError | None = None
    """The patient's appointments read in this step beside their identity check (or the error
    reading them met), for the list to show instead of reading them again; never stored."""

    @property
    def t(self) -> Translator:
        return Translator(self.ctx.language, self.services.config.zone)

    @property
    def config(self) -> DialogConfig:
        return self.services.config

    @property
    def horizon(self) -> Window:
        """The appointments a patient is shown start in this window: from now to the horizon."""
        return self.now, self.now + self.config.horizon

    @property
    def clinic_values(self) -> dict[str, object]:
        return {"clinic": self.config.clinic_name, "phone": self.config.clinic_phone}

    # -- moving ---------------------------------------------------------------------------------
    def move(self, dest: str) -> None:
        machine.check(self.state, dest)
        self.state = dest

    async def prompt(self) -> None:
        """Ask the current state's question, drawn from the context alone."""
        await self.steps[self.state].prompt(self)

    async def enter(self, state: str) -> None:
        step = self.steps[state]
        if step.enter is not None:
            await step.enter(self)
        else:
            self.move(state)
            await self.prompt()

    # -- output ---------------------------------------------------------------------------------
    def say(self, key: str, **values: object) -> None:
        self.texts.append(self.t(key, **values))

    def flush(self, options: Sequence[Sequence[Option]] = (), contact: str | None = None) -> None:
        if self.texts or options or contact:
            rows = tuple(tuple(row) for row in options if row)
            reply = Reply(text="\n\n".join(self.texts), options=rows, request_contact=contact)
            self.out.replies.append(reply)
            self.texts = []

    def menu(self, rows: Sequence[Sequence[tuple[str, str]]]) -> None:
        """Flush the pending texts with a fresh set of buttons; older buttons go stale."""
        self.ctx.generation += 1
        key = f"{self.ctx.generation}:"
        self.flush([[Option(key + code, label) for code, label in row] for row in rows])

    def item(self, shown: Shown | None, fallback_id: str = "") -> str:
        if shown is None:
            return fallback_id
        parts = [self.t.when(shown.start), shown.care_unit, shown.practitioner]
        return " · ".join(part for part in parts if part)

    def switch_row(self) -> list[list[tuple[str, str]]]:
        """In sandbox chats, a way for the agent to act as another test patient."""
        return [[("t", self.t("btn_switch_patient"))]] if self.services.directory else []

    # -- bookkeeping ----------------------------------------------------------------------------
    def result(
        self,
        appointment_id: str,
        outcome: Outcome,
        reason: str | None = None,
        reference: str | None = None,
    ) -> None:
        self.ctx.note = None
        self.ctx.results = [r for r in self.ctx.results if r.appointment_id != appointment_id]
        self.ctx.results.append(
            Result(
                appointment_id=appointment_id, outcome=outcome, reason=reason, reference=reference
            )
        )

    def audit(
        self,
        appointment_id: str,
        outcome: str,
        new_id: str | None = None,
        reference: str | None = None,
    ) -> None:
        self.out.audits.append(Audit(appointment_id, outcome, new_id, reference))

    def summary(self) -> list[str]:
        """One line a result: cancelled, or not (and why, with Leyr's reference)."""
        lines = []
        for result in self.ctx.results:
            item = self.item(self.ctx.shown(result.appointment_id), result.appointment_id)
            if result.outcome == "cancelled":
                lines.append(self.t("outcome_cancelled", item=item))
                continue
            key = "outcome_unknown" if result.outcome == "unknown" else "outcome_not_cancelled"
            line = self.t(key, item=item)
            if result.reason:
                line += "\n" + self.t(result.reason, **self.clinic_values)
            if result.reference:
                line += " " + self.t("reference", reference=result.reference)
            lines.append(line)
        return lines

    def reference(self, error: ClinicError) -> None:
        if error.reference:
            self.say("reference", reference=error.reference)

    async def unavailable(self, error: ClinicError) -> None:
        """Nothing changed: say so with Leyr's reference, and ask the same question again."""
        self.say("unavailable", **self.clinic_values)
        self.reference(error)
        await self.prompt()

    async def conclude(self, key: str, error: ClinicError | None, *, retry: bool = False) -> None:
        """End on the outcome screen with one sentence (`key`) instead of results."""
        self.ctx.results = []
        self.ctx.note = key
        self.ctx.note_reference = error.reference if error else None
        self.ctx.note_retry = retry
        await self.enter(machine.OUTCOME)
