"""One step of the cancellation dialog: an event in, replies out, the clinic reached through
`dialogs.clinic.Clinic`. The model of `dialogs.machine.MACHINE`; no Telegram, HTTP or SQL here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dialogs import machine as m
from dialogs.clinic import (
    Appointment,
    Clinic,
    ClinicError,
    ClinicRefused,
    ClinicUnavailable,
    CodeRejected,
    NotSupported,
    OutcomeUnknown,
    PatientNotFound,
    PendingGone,
    TestPatientDirectory,
)
from dialogs.config import DialogConfig
from dialogs.context import DialogContext, Pending, Result, Shown, recent
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.i18n import CATALOGS, Translator
from dialogs.parsing import MAX_INPUT, e164, personal_number, sms_code
from dialogs.replies import Audit, Option, Reply, StepResult

BOOKED = "booked"
CANCELLED = "cancelled"
AWAITING = "awaiting_confirmation"
LANGUAGE_PREFIX = "L:"
# Leyr error codes that say the EHR itself failed, not the request: trying again may work.
RETRYABLE = frozenset({None, "EMR_ERROR", "UNKNOWN_ERROR"})


@dataclass(frozen=True, slots=True)
class Services:
    """What a step may use: the clinic, the clinic's knobs, a keyed digest for phones, and in
    sandbox chats the directory of test patients."""

    clinic: Clinic
    config: DialogConfig
    digest: Callable[[str], str]
    directory: TestPatientDirectory | None = None


@dataclass(eq=False)
class Conversation:
    """The dialog's model: the current state, the chat's context and this step's output.

    Compared by identity (`eq=False`): the shared machine finds its models with `in` and
    `list.remove`, so value equality would make every step compare itself field by field with
    all the steps in flight, and would take two alike chats for one."""

    state: str
    ctx: DialogContext
    services: Services
    now: datetime
    before_write: Callable[[], Awaitable[None]] | None = None
    out: StepResult = field(default_factory=StepResult)
    _texts: list[str] = field(default_factory=list)

    @property
    def t(self) -> Translator:
        return Translator(self.ctx.language, self.services.config.zone)

    @property
    def config(self) -> DialogConfig:
        return self.services.config

    async def fire(self, trigger: str) -> None:
        await getattr(self, trigger)()

    # -- entry ----------------------------------------------------------------------------------
    async def handle(self, event: Event) -> StepResult:
        self._expire_codes()
        match event:
            case Command(name="start"):
                await self._start()
            case Command(name="stop"):
                await self._stop()
            case Command(name="help"):
                self._say("help", clinic=self.config.clinic_name, phone=self.config.clinic_phone)
                await self._prompt()
            case Command(name="language"):
                self._language_menu()
            case Command():
                self._say("unknown_command")
                self._say("help", clinic=self.config.clinic_name, phone=self.config.clinic_phone)
                await self._prompt()
            case Button(data=data) if data.startswith(LANGUAGE_PREFIX):
                await self._set_language(data.removeprefix(LANGUAGE_PREFIX))
            case Button(data=data):
                await self._button(data)
            case Contact():
                await self._contact(event)
            case Text(text=text):
                await self._text(text)
            case Tick():
                if self._texts:  # a code just expired: say so, with what can be done now
                    await self._prompt()
        self._flush()
        return self.out

    # -- output helpers -------------------------------------------------------------------------
    def _say(self, key: str, **values: object) -> None:
        self._texts.append(self.t(key, **values))

    def _flush(self, options: Sequence[Sequence[Option]] = (), contact: str | None = None) -> None:
        if self._texts or options or contact:
            text = "\n\n".join(self._texts)
            self.out.replies.append(
                Reply(text=text, options=_rows(options), request_contact=contact)
            )
            self._texts = []

    def _option(self, code: str, label: str) -> Option:
        return Option(key=f"{self.ctx.generation}:{code}", label=label)

    def _menu(self, rows: Sequence[Sequence[tuple[str, str]]]) -> None:
        """Flush the pending texts with a fresh set of buttons; older buttons go stale."""
        self.ctx.generation += 1
        self._flush([[self._option(code, label) for code, label in row] for row in rows])

    def _item(self, shown: Shown | None, fallback_id: str = "") -> str:
        if shown is None:
            return fallback_id
        parts = [self.t.when(shown.start), shown.care_unit, shown.practitioner]
        return " · ".join(part for part in parts if part)

    def _short(self, shown: Shown) -> str:
        return self.t.short(shown.start)

    # -- prompts: the current state's question, drawn from the context alone ---------------------
    async def _prompt(self) -> None:
        match self.state:
            case m.IDENTIFY_CONTACT:
                self._say("ask_contact")
                self._flush(contact=self.t("share_button"))
            case m.IDENTIFY_NUMBER:
                self._say("ask_number", format=self._id_format())
                self._flush()
            case m.PICK_TEST_PATIENT:
                await self._offer_test_patients()
            case m.CHOOSE:
                self._render_list()
            case m.CONFIRM:
                self._render_confirm()
            case m.REASON:
                self._say("ask_reason", max=self.config.comment_max_length)
                self._menu([[("k", self.t("btn_skip"))]])
            case m.AWAITING_CODE:
                self._render_code()
            case m.OUTCOME:
                self._render_outcome()
            case _:
                self._say("idle")
                self._flush()

    def _id_format(self) -> str:
        return self.t(f"id_format_{self.config.id_kind}")

    def _language_menu(self) -> None:
        self._say("language_prompt")
        self._flush(
            [
                [Option(key=f"{LANGUAGE_PREFIX}{code}", label=cat.NAME)]
                for code, cat in CATALOGS.items()
            ]
        )

    async def _set_language(self, code: str) -> None:
        if code in CATALOGS:
            self.ctx.language = code
            self._say("language_set")
        await self._prompt()

    # -- commands -------------------------------------------------------------------------------
    async def _start(self) -> None:
        self._abandon_pending("why_stopped")
        if self.ctx.patient_id:
            await self._load_list()
        elif self.services.directory is not None:
            await self._offer_test_patients()
        else:
            self._say("welcome", clinic=self.config.clinic_name)
            await self.fire("ask_contact")
            await self._prompt()

    async def _stop(self) -> None:
        in_progress = self.state not in (m.IDLE, m.OUTCOME)
        waiting = self.state == m.AWAITING_CODE
        self._abandon_pending("why_stopped")
        self.ctx.selected, self.ctx.comment, self.ctx.multi = [], None, False
        await self.fire("stop")
        summary = self._summary_lines() if waiting else []
        self._texts.extend(summary)
        if any(r.outcome != "cancelled" for r in self.ctx.results) and summary:
            values = {"clinic": self.config.clinic_name, "phone": self.config.clinic_phone}
            self._say("outcome_call", **values)
        self.ctx.results = []
        self._say("stopped" if summary else "stopped_nothing" if in_progress else "stopped_idle")
        self._flush()

    def _abandon_pending(self, reason: str) -> None:
        """Stop waiting for codes. The EHR keeps each pending cancellation until its code
        expires, so it is parked: the list offers to take it up again, tries and all."""
        for pending in self.ctx.pending:
            self._result(pending.original_id, "not_cancelled", reason)
            self._audit(pending.original_id, "abandoned", new_id=pending.new_id)
            self._park(pending)
        self.ctx.pending = []

    def _park(self, pending: Pending) -> None:
        others = [p for p in self.ctx.parked if p.original_id != pending.original_id]
        self.ctx.parked = [*others, pending]

    def _unpark(self, original_id: str) -> Pending | None:
        found = next((p for p in self.ctx.parked if p.original_id == original_id), None)
        self.ctx.parked = [p for p in self.ctx.parked if p.original_id != original_id]
        return found

    # -- input dispatch -------------------------------------------------------------------------
    async def _button(self, data: str) -> None:
        generation, _, code = data.partition(":")
        if not code or generation != str(self.ctx.generation) or len(data) > 64:
            self._say("stale_button")
            await self._prompt()
            return
        handler = {
            m.PICK_TEST_PATIENT: self._button_test_patient,
            m.CHOOSE: self._button_choose,
            m.CONFIRM: self._button_confirm,
            m.REASON: self._button_reason,
            m.AWAITING_CODE: self._button_code,
            m.OUTCOME: self._button_outcome,
        }.get(self.state)
        if handler is None or not await handler(code):
            self._say("stale_button")
            await self._prompt()

    async def _text(self, raw: str) -> None:
        text = _clean(raw)
        match self.state:
            case m.IDLE:
                await self._start()
            case m.IDENTIFY_NUMBER:
                await self._identify(text)
            case m.CHOOSE if text.isdigit() and len(text) < 4:
                if not await self._button_choose(f"a{int(text) - 1}"):
                    self._say("use_buttons")
                    await self._prompt()
            case m.CONFIRM if _is_word(text, self.t, "words_yes"):
                await self._button_confirm("y")
            case m.CONFIRM if _is_word(text, self.t, "words_no"):
                await self._button_confirm("n")
            case m.REASON:
                await self._reason(text)
            case m.AWAITING_CODE:
                await self._code(text)
            case m.IDENTIFY_CONTACT:
                await self._prompt()
            case _:
                self._say("use_buttons")
                await self._prompt()

    # -- identify -------------------------------------------------------------------------------
    async def _contact(self, contact: Contact) -> None:
        if self.state != m.IDENTIFY_CONTACT:
            self._say("use_buttons")
            await self._prompt()
            return
        if not contact.own:
            self._say("contact_not_own")
            await self._prompt()
            return
        phone = e164(contact.phone, self.config.region)
        if phone is None:
            self._say("contact_unreadable")
            await self._prompt()
            return
        self.ctx.phone_digest = self.services.digest(phone)
        await self.fire("contact_accepted")
        await self._prompt()

    def _identity_locked(self) -> bool:
        since = self.now - timedelta(hours=1)
        self.ctx.identity_failures = recent(self.ctx.identity_failures, since)
        return len(self.ctx.identity_failures) >= self.config.identity_attempts_per_hour

    async def _identify(self, text: str) -> None:
        if self._identity_locked():
            self._say(
                "identity_locked", clinic=self.config.clinic_name, phone=self.config.clinic_phone
            )
            self._flush()
            return
        number = personal_number(text, self.config.id_kind)
        if number is None:
            self._say("number_invalid", format=self._id_format())
            self._flush()
            return
        self.out.delete_user_message = True
        try:
            record = await self.services.clinic.find_patient(number)
        except PatientNotFound:
            record = None
        except NotSupported as error:
            await self._conclude_with("not_supported_identify", error)
            return
        except ClinicError as error:
            self._say(
                "identity_error" if isinstance(error, ClinicRefused) else "unavailable",
                clinic=self.config.clinic_name,
                phone=self.config.clinic_phone,
            )
            self._reference(error)
            self._flush()
            return
        phones = {self.services.digest(p) for p in (record.phones if record else ())}
        if record is None or self.ctx.phone_digest not in phones:
            self.ctx.identity_failures.append(self.now)
            key = "identity_locked" if self._identity_locked() else "identity_failed"
            self._say(key, clinic=self.config.clinic_name, phone=self.config.clinic_phone)
            self._flush()
            return
        await self._link(record.patient_id)

    async def _link(self, patient_id: str) -> None:
        self.ctx.patient_id = patient_id
        self.ctx.phone_digest = None
        self.ctx.identity_failures = []
        self.out.linked_patient = patient_id
        await self._load_list()

    async def _offer_test_patients(self) -> None:
        assert self.services.directory is not None
        patients = await self.services.directory.test_patients()
        if self.state != m.PICK_TEST_PATIENT:
            await self.fire("offer_test_patients")
        self._say("pick_test_patient")
        self._menu([[(f"p{i}", p.label)] for i, p in enumerate(patients)])

    async def _button_test_patient(self, code: str) -> bool:
        if self.services.directory is None or not code.startswith("p"):
            return False
        patients = await self.services.directory.test_patients()
        index = _index(code[1:], len(patients))
        if index is None:
            return False
        try:
            record = await self.services.clinic.find_patient(patients[index].personal_number)
        except ClinicError as error:
            await self._conclude_with(_failure_key(error), error, retry=True)
            return True
        await self._link(record.patient_id)
        return True

    # -- choose ---------------------------------------------------------------------------------
    async def _load_list(self) -> None:
        assert self.ctx.patient_id is not None
        self.ctx.results, self.ctx.selected, self.ctx.multi = [], [], False
        self.ctx.comment = None
        try:
            appointments = await self.services.clinic.list_appointments(
                self.ctx.patient_id, self.now, self.now + self.config.horizon
            )
        except NotSupported as error:
            await self._conclude_with("not_supported_list", error)
            return
        except ClinicError as error:
            await self._conclude_with(_failure_key(error), error, retry=True)
            return
        self.ctx.reread_needed = False
        self.ctx.appointments = self._shown(appointments)
        if not self.ctx.appointments:
            await self._conclude_with("no_appointments", None)
            return
        await self.fire("show_list")
        await self._prompt()

    def _shown(self, appointments: list[Appointment]) -> list[Shown]:
        pending = {(a.start, a.resource_id): a.id for a in appointments if a.status == AWAITING}
        shown = []
        for a in sorted(appointments, key=lambda a: a.start):
            if a.status in (CANCELLED, AWAITING) or a.start <= self.now:
                continue
            blocked = None
            if a.status != BOOKED:
                blocked = "status"
            elif a.start - self.now < self.config.cancellation_deadline:
                blocked = "deadline"
            shown.append(
                Shown(
                    id=a.id,
                    start=a.start,
                    status=a.status,
                    care_unit=a.care_unit,
                    practitioner=a.practitioner,
                    resource_id=a.resource_id,
                    blocked=blocked,
                    pending_id=pending.get((a.start, a.resource_id)),
                )
            )
        return shown

    def _render_list(self) -> None:
        lines = [self.t("list_header", clinic=self.config.clinic_name)]
        for number, shown in enumerate(self.ctx.appointments, start=1):
            mark = {"deadline": "🔒 ", "status": f"({shown.status}) "}.get(shown.blocked or "", "")
            wait = " ⏳" if shown.awaiting else ""
            lines.append(f"{number}. {mark}{self._item(shown)}{wait}")
        self._texts.append("\n".join(lines))
        blocked = {a.blocked for a in self.ctx.appointments}
        if "deadline" in blocked:
            hours = f"{self.config.cancellation_deadline.total_seconds() / 3600:g}"
            self._say("list_deadline_note", hours=hours, phone=self.config.clinic_phone)
        if "status" in blocked:
            self._say("list_status_note")
        if any(a.awaiting for a in self.ctx.appointments):
            self._say("list_pending_note")
        choosable = [
            (i, a)
            for i, a in enumerate(self.ctx.appointments)
            if a.cancellable and not (self.ctx.multi and a.awaiting)
        ]
        if not choosable:
            self._say(
                "none_cancellable", clinic=self.config.clinic_name, phone=self.config.clinic_phone
            )
            self._menu(self._switch_row())
            return
        self._say("list_choose_several" if self.ctx.multi else "list_choose")
        rows: list[list[tuple[str, str]]] = []
        for i, a in choosable:
            tick = ("☑️ " if a.id in self.ctx.selected else "⬜ ") if self.ctx.multi else ""
            wait = " ⏳" if a.awaiting else ""
            rows.append([(f"a{i}", f"{tick}{i + 1}. {self._short(a)}{wait}")])
        if self.ctx.multi:
            count = len(self.ctx.selected)
            rows.append(
                [
                    ("c", self.t.plural("btn_continue", count)),
                    ("1", self.t("btn_one_at_a_time")),
                ]
            )
        elif len(choosable) > 1:
            rows.append([("m", self.t("btn_several"))])
        self._menu(rows + self._switch_row())

    def _switch_row(self) -> list[list[tuple[str, str]]]:
        """In sandbox chats, a way for the agent to act as another test patient."""
        return [[("t", self.t("btn_switch_patient"))]] if self.services.directory else []

    async def _switch_patient(self) -> bool:
        if self.services.directory is None:
            return False
        self.ctx.patient_id, self.ctx.results, self.ctx.note = None, [], None
        await self._offer_test_patients()
        return True

    async def _button_choose(self, code: str) -> bool:
        if code == "t":
            return await self._switch_patient()
        if code == "m":
            self.ctx.multi, self.ctx.selected = True, []
        elif code == "1":
            self.ctx.multi, self.ctx.selected = False, []
        elif code == "c":
            if not self.ctx.selected:
                self._say("nothing_selected")
            else:
                await self.fire("pick")
        elif code.startswith("a"):
            index = _index(code[1:], len(self.ctx.appointments))
            if index is None or not self.ctx.appointments[index].cancellable:
                return False
            shown = self.ctx.appointments[index]
            chosen = shown.id
            if shown.pending_id is not None:
                if self.ctx.multi:
                    return False
                await self._resume(shown.id, shown.pending_id)
                return True
            if not self.ctx.multi:
                self.ctx.selected = [chosen]
                await self.fire("pick")
            elif chosen in self.ctx.selected:
                self.ctx.selected.remove(chosen)
            elif len(self.ctx.selected) >= self.config.max_bulk:
                self._say("too_many_selected", max=self.config.max_bulk)
            else:
                self.ctx.selected.append(chosen)
        else:
            return False
        await self._prompt()
        return True

    # -- confirm --------------------------------------------------------------------------------
    def _render_confirm(self) -> None:
        items = "\n".join(f"• {self._item(self.ctx.shown(i), i)}" for i in self.ctx.selected)
        if len(self.ctx.selected) == 1:
            self._say("confirm_one", items=items)
        else:
            self._say("confirm_many", count=len(self.ctx.selected), items=items)
        if self.ctx.comment:
            self._say("confirm_reason", comment=self.ctx.comment)
        self._menu(
            [
                [("y", self.t("btn_yes"))],
                [("r", self.t("btn_reason")), ("n", self.t("btn_no"))],
            ]
        )

    async def _button_confirm(self, code: str) -> bool:
        if code == "y":
            await self._cancel(list(self.ctx.selected))
        elif code == "r":
            await self.fire("ask_reason")
            await self._prompt()
        elif code == "n":
            self.ctx.selected, self.ctx.comment = [], None
            self._say("kept")
            await self.fire("show_list")
            await self._prompt()
        else:
            return False
        return True

    async def _reason(self, text: str) -> None:
        if len(text) > self.config.comment_max_length:
            self._say("reason_too_long", max=self.config.comment_max_length)
            self._flush()
            return
        self.ctx.comment = text or None
        await self.fire("reason_given")
        await self._prompt()

    async def _button_reason(self, code: str) -> bool:
        if code != "k":
            return False
        self.ctx.comment = None
        await self.fire("reason_given")
        await self._prompt()
        return True

    # -- cancel ---------------------------------------------------------------------------------
    async def _cancel(self, ids: list[str]) -> None:
        targets = [
            i
            for i in ids
            if (s := self.ctx.shown(i)) is not None and s.cancellable and not s.awaiting
        ]
        if not targets:
            await self._load_list()
            return
        if self.ctx.reread_needed:
            remaining = await self._reread(targets, None)
            if not remaining:
                await self._after_cancel()
                return
            targets = remaining
        for target in targets:  # any cancel may text a code: all count against one daily cap
            if not self._may_text(target):
                self._result(target, "not_cancelled", "why_code_limit")
        targets = [t for t in targets if self._may_text(t)]
        if not targets:
            await self._after_cancel()
            return
        self._count_texts(targets)
        await self._guard_write()
        try:
            outcomes = await self.services.clinic.cancel(targets, self.ctx.comment)
        except OutcomeUnknown as error:
            await self._settle(targets, error.reference)
            await self._after_cancel()
            return
        except NotSupported as error:
            await self._conclude_with("not_supported_cancel", error)
            return
        except ClinicError as error:
            if _nothing_happened(error):
                self._uncount_texts(targets)
                await self._unavailable(error)
                return
            for target in targets:
                self._result(target, "not_cancelled", _refusal(error), error.reference)
                self._audit(target, "failed", reference=error.reference)
            await self._after_cancel()
            return
        answered = {o.requested_id: o for o in outcomes}
        for target in targets:
            outcome = answered.get(target)
            if outcome is None:
                self._result(target, "unknown")
                self._audit(target, "unknown")
                self.ctx.reread_needed = True
            elif outcome.status == CANCELLED:
                self._result(target, "cancelled")
                self._audit(target, "cancelled", new_id=_new(outcome.id, target))
            elif outcome.status == AWAITING:
                self._await(target, outcome.id)
            else:
                self._result(target, "not_cancelled", "why_not_cancellable")
                self._audit(target, "failed")
        await self._after_cancel()

    def _texts_today(self, appointment_id: str) -> list[date]:
        today = self.now.astimezone(self.config.zone).date()
        return [d for d in self.ctx.resends.get(appointment_id, []) if d == today]

    def _may_text(self, appointment_id: str) -> bool:
        return len(self._texts_today(appointment_id)) < self.config.code_resends_per_day

    def _count_texts(self, appointment_ids: list[str]) -> None:
        """Just before a cancel PATCH: each may make the EHR text a code."""
        today = self.now.astimezone(self.config.zone).date()
        for appointment_id in appointment_ids:
            self.ctx.resends[appointment_id] = [*self._texts_today(appointment_id), today]

    def _uncount_texts(self, appointment_ids: list[str]) -> None:
        """The PATCH never reached the EHR: no code was texted."""
        for appointment_id in appointment_ids:
            self.ctx.resends[appointment_id] = self._texts_today(appointment_id)[1:]

    async def _resume(self, original_id: str, pending_id: str) -> None:
        """Take up a cancellation the EHR still holds for a code, e.g. after /start: its parked
        tries and expiry when we know them, else a fresh count. No new SMS is asked for."""
        parked = self._unpark(original_id)
        pending = Pending(
            original_id=original_id,
            new_id=pending_id,
            expires_at=self.now + self.config.code_expiry,
            attempts_left=self.config.code_max_attempts,
        )
        if parked is not None and parked.new_id == pending_id:
            pending = parked
        pending.resumed = True
        if pending.dead is None and self.now >= pending.expires_at:
            pending.dead = "expired"
        self.ctx.selected, self.ctx.multi, self.ctx.results = [], False, []
        self.ctx.pending = [pending]
        if pending.dead is None:
            self.out.wake_at = pending.expires_at
        await self.fire("await_code")
        await self._prompt()

    def _await(self, original_id: str, new_id: str, *, first: bool = False) -> None:
        self._unpark(original_id)
        self.ctx.pending = [p for p in self.ctx.pending if p.original_id != original_id]
        pending = Pending(
            original_id=original_id,
            new_id=new_id,
            expires_at=self.now + self.config.code_expiry,
            attempts_left=self.config.code_max_attempts,
        )
        self.ctx.pending.insert(0 if first else len(self.ctx.pending), pending)
        self._audit(original_id, "awaiting_confirmation", new_id=new_id)
        self.out.wake_at = min(p.expires_at for p in self.ctx.pending)

    async def _after_cancel(self) -> None:
        retry = any(r.reason == "why_error" for r in self.ctx.results)
        self.ctx.selected, self.ctx.multi = [], False
        self.ctx.comment = self.ctx.comment if retry else None  # kept for "Try again"
        if self.ctx.pending:
            await self.fire("await_code")
        else:
            await self.fire("conclude")
        await self._prompt()

    async def _read_back(
        self,
    ) -> tuple[dict[str, Appointment], dict[tuple[datetime, str | None], str]]:
        """The EHR's appointments again, after a write that may have landed unseen: by id, and
        the pending cancellations by (start, practitioner), which is how one is found for its
        original. Clears `reread_needed`; raises ClinicError when the read fails."""
        assert self.ctx.patient_id is not None
        listed = await self.services.clinic.list_appointments(
            self.ctx.patient_id, self.now - timedelta(days=1), self.now + self.config.horizon
        )
        self.ctx.reread_needed = False
        by_id = {a.id: a for a in listed}
        waiting = {(a.start, a.resource_id): a.id for a in listed if a.status == AWAITING}
        return by_id, waiting

    async def _reread(self, targets: list[str], reference: str | None) -> list[str] | None:
        """After a lost answer, read the appointments again and take what the EHR says: record
        the cancelled and the pending ones, and return those still plainly booked. None when
        the re-read failed too (then every target's outcome is unknown)."""
        try:
            by_id, waiting = await self._read_back()
        except ClinicError:
            for target in targets:
                self._result(target, "unknown", reference=reference)
                self._audit(target, "unknown", reference=reference)
            self.ctx.reread_needed = True
            return None
        booked = []
        for target in targets:
            current = by_id.get(target)
            if current is None or current.status == CANCELLED:
                self._result(target, "cancelled")
                self._audit(target, "cancelled", reference=reference)
            elif (current.start, current.resource_id) in waiting:
                self._await(target, waiting[current.start, current.resource_id])
            elif current.status == BOOKED:
                booked.append(target)
            else:
                self._result(target, "not_cancelled", "why_not_cancellable", reference)
                self._audit(target, "failed", reference=reference)
        return booked

    async def _settle(self, targets: list[str], reference: str | None) -> None:
        """Re-read after a lost answer; what is still booked was not cancelled."""
        for target in await self._reread(targets, reference) or []:
            self._result(target, "not_cancelled", "why_unavailable", reference)
            self._audit(target, "failed", reference=reference)

    # -- awaiting code --------------------------------------------------------------------------
    def _expire_codes(self) -> None:
        if self.state != m.AWAITING_CODE or not self.ctx.pending:
            return
        head = self.ctx.pending[0]
        if head.dead is None and self.now >= head.expires_at:
            head.dead = "expired"
            self._audit(head.original_id, "expired", new_id=head.new_id)
            self._say("code_expired")

    def _render_code(self) -> None:
        head = self.ctx.pending[0]
        item = self._item(self.ctx.shown(head.original_id), head.original_id)
        if head.dead is not None:
            self._say("outcome_not_cancelled", item=item)
            self._say("why_expired" if head.dead == "expired" else "why_locked")
            self._menu([[("s", self.t("btn_resend"))], [("x", self.t("btn_keep_pending"))]])
            return
        untried = head.attempts_left == self.config.code_max_attempts  # not after a wrong code
        if untried or (head.resumed and not self._texts):
            key = "ask_code_next" if self.ctx.results else "ask_code"
            self._say("ask_code_resume" if head.resumed else key, item=item)
        self._menu([[("s", self.t("btn_resend")), ("x", self.t("btn_keep_pending"))]])

    async def _code(self, text: str) -> None:
        head = self.ctx.pending[0]
        if head.dead is not None:
            await self._prompt()
            return
        code = sms_code(text)
        if code is None:
            self._texts.append(self.t.plural("code_not_found", head.attempts_left))
            self._flush()
            return
        self.out.delete_user_message = True
        if self.ctx.reread_needed and not await self._still_pending(head):
            return
        await self._guard_write()
        try:
            outcome = await self.services.clinic.confirm(head.new_id, code)
        except CodeRejected as error:
            head.attempts_left -= 1
            self._audit(
                head.original_id, "code_rejected", new_id=head.new_id, reference=error.reference
            )
            if head.attempts_left <= 0:
                head.dead = "locked"
                self._say("code_locked")
            else:
                self._texts.append(self.t.plural("code_wrong", head.attempts_left))
            await self._prompt()
            return
        except PendingGone as error:
            head.dead = "expired"
            self._audit(head.original_id, "expired", new_id=head.new_id, reference=error.reference)
            self._say("code_expired")
            await self._prompt()
            return
        except OutcomeUnknown as error:
            self.ctx.pending.pop(0)
            await self._settle([head.original_id], error.reference)
            await self._next_pending()
            return
        except ClinicError as error:
            if _nothing_happened(error):
                await self._unavailable(error)
                return
            self.ctx.pending.pop(0)
            self._result(head.original_id, "not_cancelled", _refusal(error), error.reference)
            self._audit(head.original_id, "failed", new_id=head.new_id, reference=error.reference)
            await self._next_pending()
            return
        self.ctx.pending.pop(0)
        if outcome.status == CANCELLED:
            self._result(head.original_id, "cancelled")
            self._audit(head.original_id, "cancelled", new_id=head.new_id)
        else:
            self._result(head.original_id, "unknown")
            self._audit(head.original_id, "unknown", new_id=head.new_id)
            self.ctx.reread_needed = True
        await self._next_pending()

    async def _guard_write(self) -> None:
        """Just before a write to the EHR: have the engine store that one may be under way. A
        crash before this step is saved then leads to a re-read, never to a second write."""
        if self.before_write is not None:
            await self.before_write()

    async def _still_pending(self, head: Pending, *, resending: bool = False) -> bool:
        """A write for `head` may have happened unseen (a crash mid-step, a lost answer): read
        the EHR before writing again. True when `head` still waits for its code (its pending id
        brought up to date) and, when `resending`, no re-send already happened; otherwise the
        step is concluded here and False returned."""
        try:
            by_id, pending_ids = await self._read_back()
        except ClinicError as error:
            await self._unavailable(error)
            return False
        current = by_id.get(head.original_id)
        waiting = None
        if current is not None:
            waiting = pending_ids.get((current.start, current.resource_id))
        if current is None or current.status == CANCELLED:
            self.ctx.pending.pop(0)
            self._result(head.original_id, "cancelled")
            self._audit(head.original_id, "cancelled", new_id=head.new_id)
            await self._next_pending()
            return False
        if waiting is None:
            if resending and current.status == BOOKED:
                return True  # nothing pending any more: the re-send starts a new one
            head.dead = "expired"
            self._audit(head.original_id, "expired", new_id=head.new_id)
            self._say("code_expired")
            await self._prompt()
            return False
        if resending and waiting != head.new_id:
            self.ctx.pending.pop(0)
            self._await(head.original_id, waiting, first=True)
            await self._next_pending()
            return False
        head.new_id = waiting
        return True

    async def _next_pending(self) -> None:
        if self.ctx.pending:
            self._texts.extend(self._summary_lines()[-1:])  # what just happened, then the next
            await self.fire("await_code")
        else:
            await self.fire("conclude")
        await self._prompt()

    async def _button_code(self, code: str) -> bool:
        head = self.ctx.pending[0]
        if code == "x":
            self.ctx.pending.pop(0)
            self._result(head.original_id, "not_cancelled", "why_kept")
            self._audit(head.original_id, "abandoned", new_id=head.new_id)
            self._park(head)
            await self._next_pending()
            return True
        if code != "s":
            return False
        if not self._may_text(head.original_id):
            self._say(
                "resend_limit", clinic=self.config.clinic_name, phone=self.config.clinic_phone
            )
            await self._prompt()
            return True
        self._count_texts([head.original_id])
        if self.ctx.reread_needed and not await self._still_pending(head, resending=True):
            return True
        await self._guard_write()
        try:
            outcomes = await self.services.clinic.cancel([head.original_id], None)
        except ClinicError as error:
            if _nothing_happened(error):
                self._uncount_texts([head.original_id])
                await self._unavailable(error)
                return True
            self.ctx.pending.pop(0)
            if isinstance(error, OutcomeUnknown):
                await self._settle([head.original_id], error.reference)
            else:
                self._result(head.original_id, "not_cancelled", _refusal(error), error.reference)
                self._audit(head.original_id, "failed", reference=error.reference)
            await self._next_pending()
            return True
        self.ctx.pending.pop(0)
        outcome = outcomes[0] if outcomes else None
        if outcome is not None and outcome.status == AWAITING:
            self._await(head.original_id, outcome.id, first=True)
        elif outcome is not None and outcome.status == CANCELLED:
            self._result(head.original_id, "cancelled")
            self._audit(head.original_id, "cancelled")
        else:
            self._result(head.original_id, "not_cancelled", "why_not_cancellable")
            self._audit(head.original_id, "failed")
        await self._next_pending()
        return True

    # -- outcome --------------------------------------------------------------------------------
    async def _conclude_with(
        self, key: str, error: ClinicError | None, retry: bool = False
    ) -> None:
        self.ctx.results = []
        self.ctx.note = key
        self.ctx.note_reference = error.reference if error else None
        self.ctx.note_retry = retry
        await self.fire("conclude")
        await self._prompt()

    def _summary_lines(self) -> list[str]:
        values = {"clinic": self.config.clinic_name, "phone": self.config.clinic_phone}
        lines = []
        for result in self.ctx.results:
            item = self._item(self.ctx.shown(result.appointment_id), result.appointment_id)
            if result.outcome == "cancelled":
                lines.append(self.t("outcome_cancelled", item=item))
                continue
            key = "outcome_unknown" if result.outcome == "unknown" else "outcome_not_cancelled"
            line = self.t(key, item=item)
            if result.reason:
                line += "\n" + self.t(result.reason, **values)
            if result.reference:
                line += " " + self.t("reference", reference=result.reference)
            lines.append(line)
        return lines

    def _render_outcome(self) -> None:
        values = {"clinic": self.config.clinic_name, "phone": self.config.clinic_phone}
        rows: list[list[tuple[str, str]]] = []
        if self.ctx.note:
            self._say(self.ctx.note, **values)
            if self.ctx.note_reference:
                self._say("reference", reference=self.ctx.note_reference)
            if self.ctx.note_retry:
                rows.append([("o", self.t("btn_retry"))])
        else:
            self._texts.append("\n".join(self._summary_lines()))
            if any(r.outcome != "cancelled" for r in self.ctx.results):
                self._say("outcome_call", **values)
            if any(r.outcome == "unknown" for r in self.ctx.results):
                rows.append([("g", self.t("btn_check_again"))])
            if any(r.reason == "why_error" for r in self.ctx.results):
                rows.append([("r", self.t("btn_retry"))])
            rows.append([("o", self.t("btn_another"))])
        self._menu(rows + self._switch_row())

    async def _button_outcome(self, code: str) -> bool:
        if code == "t":
            return await self._switch_patient()
        if code == "o":
            self.ctx.note = None
            await self._start()  # lists the appointments, or identifies first if not linked
        elif code == "g":
            unknown = [r.appointment_id for r in self.ctx.results if r.outcome == "unknown"]
            self.ctx.results = [r for r in self.ctx.results if r.outcome != "unknown"]
            await self._settle(unknown, None)
            await self._after_cancel()
        elif code == "r":
            failed = [r.appointment_id for r in self.ctx.results if r.reason == "why_error"]
            if not failed:
                return False
            self.ctx.results = []
            await self._cancel(failed)
        else:
            return False
        return True

    # -- bookkeeping ----------------------------------------------------------------------------
    def _result(
        self,
        appointment_id: str,
        outcome: str,
        reason: str | None = None,
        reference: str | None = None,
    ) -> None:
        self.ctx.note = None
        self.ctx.results = [r for r in self.ctx.results if r.appointment_id != appointment_id]
        self.ctx.results.append(
            Result.model_validate(
                {
                    "appointment_id": appointment_id,
                    "outcome": outcome,
                    "reason": reason,
                    "reference": reference,
                }
            )
        )

    def _audit(
        self,
        appointment_id: str,
        outcome: str,
        new_id: str | None = None,
        reference: str | None = None,
    ) -> None:
        self.out.audits.append(Audit(appointment_id, outcome, new_id, reference))

    async def _unavailable(self, error: ClinicError) -> None:
        """Nothing changed: say so with Leyr's reference, and ask the same question again."""
        self._say("unavailable", clinic=self.config.clinic_name, phone=self.config.clinic_phone)
        self._reference(error)
        await self._prompt()

    def _reference(self, error: ClinicError) -> None:
        if error.reference:
            self._say("reference", reference=error.reference)


def _rows(options: Sequence[Sequence[Option]]) -> tuple[tuple[Option, ...], ...]:
    return tuple(tuple(row) for row in options if row)


def _index(text: str, size: int) -> int | None:
    if not text.isdigit() or len(text) > 3:
        return None
    index = int(text)
    return index if 0 <= index < size else None


def _new(returned_id: str, requested_id: str) -> str | None:
    return returned_id if returned_id != requested_id else None


def _nothing_happened(error: ClinicError) -> bool:
    return isinstance(error, ClinicUnavailable)


def _failure_key(error: ClinicError) -> str:
    """The ending when a read failed: the EHR answered with an error, or could not be reached."""
    return "clinic_error" if isinstance(error, ClinicRefused) else "unavailable"


def _refusal(error: ClinicError) -> str:
    """Why a write the EHR answered with an error did not cancel: worth a retry, or not."""
    return "why_error" if error.code in RETRYABLE else "why_refused"


def _clean(raw: str) -> str:
    """Untrusted text made safe to echo and compare: bounded, no control characters."""
    text = unicodedata.normalize("NFKC", raw[: MAX_INPUT * 4])
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n ")
    return re.sub(r"\s+", " ", text).strip()


def _is_word(text: str, t: Translator, key: str) -> bool:
    words = {w.strip().casefold() for w in t(key).split(",")}
    return text.casefold().strip(" .!") in words


async def run_step(
    state: str,
    ctx: DialogContext,
    event: Event,
    services: Services,
    now: datetime,
    *,
    before_write: Callable[[], Awaitable[None]] | None = None,
) -> tuple[str, StepResult]:
    """Run one event through the dialog. `ctx` is updated in place; the new state is returned.
    `before_write` is awaited just before any write to the EHR (at most one per step)."""
    conversation = Conversation(
        state=state if state in m.STATES else m.IDLE,
        ctx=ctx,
        services=services,
        now=now,
        before_write=before_write,
    )
    with m.on_machine(conversation):
        result = await conversation.handle(event)
    return conversation.state, result
