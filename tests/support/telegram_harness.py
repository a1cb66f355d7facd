"""Running the real `telegram.ext.Application` against the fake Bot API (respx), for the Telegram
adapter's tests: updates go in as Bot API JSON, and the chats show what the patient would see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import respx
from telegram import Update

from bot.engine import Handled, Sender
from bot.telegram.app import build_application
from bot.telegram.handlers import AgentTools, AnyApplication, DialogEngine, TelegramAdapter
from bot.telegram.ordering import ChatOrderedProcessor
from dialogs import Services, run_step
from dialogs.clinic import Appointment, CancelOutcome, ClinicUnavailable, PatientRecord
from dialogs.context import DialogContext
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.i18n import language_for
from dialogs.machine import IDLE, asks_contact, awaits_code
from dialogs.replies import Option, Reply
from tests.fake_bot_api import TOKEN, FakeBotApi, mount
from tests.support.fake_clinic import CODE, NOW, Directory, FakeClinic, config, digest, services

CLINIC = "Test Clinic"
CLINIC_PHONE = "+46 8 123 456 00"


@dataclass
class Harness:
    api: FakeBotApi
    app: AnyApplication
    adapter: TelegramAdapter

    def update(self, data: dict[str, Any]) -> Update:
        update = Update.de_json(data, self.app.bot)
        assert update is not None
        return update

    async def send(self, data: dict[str, Any]) -> None:
        """Process one update directly (no update processor), to completion."""
        await self.app.process_update(self.update(data))

    async def feed(self, data: dict[str, Any]) -> None:
        """Queue one update as the poller would: it goes through the update processor."""
        await self.app.update_queue.put(self.update(data))

    async def drained(self) -> None:
        """Wait until every queued update has been processed."""
        await asyncio.wait_for(self.app.update_queue.join(), timeout=10)

    async def until(self, condition: Callable[[], object], within: float = 5.0) -> None:
        """Wait until `condition()` holds, re-checking after every Bot API call."""
        changed = asyncio.Event()
        self.api.listeners.append(changed.set)
        try:
            async with asyncio.timeout(within):
                while not condition():
                    changed.clear()
                    await changed.wait()
        finally:
            self.api.listeners.remove(changed.set)

    @property
    def processor(self) -> ChatOrderedProcessor:
        processor = self.app.update_processor
        assert isinstance(processor, ChatOrderedProcessor)
        return processor


@asynccontextmanager
async def running(
    engine: DialogEngine,
    *,
    agent: AgentTools | None = None,
    concurrency: int = 8,
    api: FakeBotApi | None = None,
) -> AsyncIterator[Harness]:
    """The application, initialized and started (without polling), on the respx fake API."""
    api = api or FakeBotApi()
    with respx.mock(assert_all_called=False) as router:
        mount(router, api)
        adapter = TelegramAdapter(engine, agent, clinic_name=CLINIC, clinic_phone=CLINIC_PHONE)
        app = build_application(TOKEN, "https://api.telegram.org", adapter, concurrency=concurrency)
        async with app:
            await app.start()
            try:
                yield Harness(api, app, adapter)
            finally:
                if app.running:
                    await app.stop()
                if adapter.scheduler is not None:
                    adapter.scheduler.cancel_all()


def label(event: Event) -> str:
    match event:
        case Text(text=text):
            return text
        case Button(data=data):
            return f"button:{data}"
        case Command(name=name):
            return f"/{name}"
        case Contact(own=own):
            return f"contact:{'own' if own else 'foreign'}"
        case Tick():
            return "tick"
    raise AssertionError(event)


Script = Callable[[Sender, Event], Handled]


def echo(sender: Sender, event: Event) -> Handled:
    """One message with one button that echoes the event."""
    return Handled(replies=[Reply(f"echo {label(event)}", options=((Option("1:ok", "OK"),),))])


@dataclass
class ScriptedEngine:
    """An engine whose steps are scripted, with gates to hold a step until the test opens it."""

    script: Script = echo
    seen: list[tuple[int, str, int | None]] = field(default_factory=list)  # chat, label, update
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    completed: dict[str, asyncio.Event] = field(default_factory=dict)
    ui: dict[int, int | None] = field(default_factory=dict)
    deliveries: int = 0
    """How often `delivered` was called (each is a write in the real engine)."""
    fail_with: BaseException | None = None
    senders: list[Sender] = field(default_factory=list)
    sandbox_chats: set[int] = field(default_factory=set)

    def is_sandbox(self, chat_id: int) -> bool:
        return chat_id in self.sandbox_chats

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def reached(self, name: str) -> asyncio.Event:
        return self.arrived.setdefault(name, asyncio.Event())

    def done(self, name: str) -> asyncio.Event:
        return self.completed.setdefault(name, asyncio.Event())

    async def handle(
        self, sender: Sender, event: Event, *, update_id: int | None = None
    ) -> Handled:
        name = label(event)
        self.seen.append((sender.chat_id, name, update_id))
        self.senders.append(sender)
        self.started.append(name)
        self.reached(name).set()
        if name in self.gates:
            await self.gates[name].wait()
        if self.fail_with is not None:
            raise self.fail_with
        handled = self.script(sender, event)
        handled.ui_message_id = self.ui.get(sender.chat_id)
        self.finished.append(name)
        self.done(name).set()
        return handled

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None:
        self.ui[chat_id] = ui_message_id
        self.deliveries += 1


# -- the real dialog, with storage and clinic in memory --------------------------------------------


@dataclass
class _Saved:
    state: str
    context: dict[str, Any]
    last_update_id: int | None
    ui_message_id: int | None


@dataclass
class MemoryEngine:
    """`bot.engine.Engine`'s contract over the real dialog (`run_step`), storage in a dict:
    exactly-once by update id, the chat's live buttons message, links per Telegram user."""

    services_for: Callable[[int], Services]
    is_sandbox: Callable[[int], bool]
    clock: Callable[[], datetime] = lambda: NOW
    saved: dict[int, _Saved] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)
    audits: list[tuple[int, str]] = field(default_factory=list)
    events: list[tuple[int, Event]] = field(default_factory=list)

    async def handle(
        self, sender: Sender, event: Event, *, update_id: int | None = None
    ) -> Handled:
        chat_id = sender.chat_id
        sandbox = self.is_sandbox(chat_id)
        saved = self.saved.get(chat_id)
        last = saved.last_update_id if saved else None
        if update_id is not None and last is not None and update_id <= last:
            ui = saved.ui_message_id if saved else None
            state = saved.state if saved else IDLE
            return Handled(
                duplicate=True,
                ui_message_id=ui,
                sandbox=sandbox,
                state=state,
                asks_contact=asks_contact(state),
                awaits_code=awaits_code(state),
            )
        self.events.append((chat_id, event))
        if saved is not None:
            state, ctx = saved.state, DialogContext.load(saved.context)
        else:
            state, ctx = IDLE, DialogContext(language=language_for(sender.language_code))
            if not sandbox:
                ctx.patient_id = self.links.get(sender.user_id)
                ctx.linked_at = self.clock() if ctx.patient_id else None
        new_state, result = await run_step(
            state, ctx, event, self.services_for(chat_id), self.clock()
        )
        if result.linked_patient is not None and not sandbox:
            self.links[sender.user_id] = result.linked_patient
        if result.unlinked and not sandbox:
            self.links.pop(sender.user_id, None)
        self.audits.extend((chat_id, audit.outcome) for audit in result.audits)
        ui = saved.ui_message_id if saved else None
        self.saved[chat_id] = _Saved(
            new_state, ctx.dump(), update_id if update_id is not None else last, ui
        )
        return Handled(
            replies=result.replies,
            delete_user_message=result.delete_user_message,
            wake_at=result.wake_at,
            ui_message_id=ui,
            sandbox=sandbox,
            state=new_state,
            asks_contact=result.asks_contact,
            awaits_code=result.awaits_code,
        )

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None:
        self.saved[chat_id].ui_message_id = ui_message_id

    def state(self, chat_id: int) -> str:
        return self.saved[chat_id].state


class _Relay:
    """The sandbox chat's clinic: notes the SMS code "sent" for each two-step cancellation."""

    def __init__(self, clinic: FakeClinic, inbox: list[str]) -> None:
        self._clinic = clinic
        self._inbox = inbox

    async def find_patient(self, personal_number: str) -> PatientRecord:
        return await self._clinic.find_patient(personal_number)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        return await self._clinic.list_appointments(patient_id, start, end)

    async def cancel(
        self, appointment_ids: Sequence[str], comment: str | None
    ) -> list[CancelOutcome]:
        outcomes = await self._clinic.cancel(appointment_ids, comment)
        for outcome in outcomes:
            if outcome.status == "awaiting_confirmation":
                self._inbox.append(f"Your code to cancel the appointment: {CODE}")
        return outcomes

    async def confirm(self, pending_id: str, code: str) -> CancelOutcome:
        return await self._clinic.confirm(pending_id, code)


@dataclass
class FakeAgent:
    """`bot.sandbox.agent.SandboxAgent`'s contract over a FakeClinic."""

    clinic: FakeClinic
    calls: list[tuple[int, str, list[str]]] = field(default_factory=list)
    inbox: dict[int, list[str]] = field(default_factory=dict)

    def relay(self, chat_id: int) -> _Relay:
        return _Relay(self.clinic, self.inbox.setdefault(chat_id, []))

    async def command(self, chat_id: int, name: str, args: list[str]) -> str | None:
        self.calls.append((chat_id, name, args))
        if name == "sandbox_reset":
            fresh = FakeClinic(two_step=self.clinic.two_step)
            self.clinic.appointments, self.clinic.pending = fresh.appointments, {}
            return "Sandbox data reset."
        if name in ("sandbox_onestep", "sandbox_twostep"):
            self.clinic.two_step = name == "sandbox_twostep"
            return f"The sandbox EHR now cancels in {name.removeprefix('sandbox_')}."
        if name == "sandbox_fail":
            self.clinic.fail_next.append(ClinicUnavailable("ref-fault", "TIMEOUT"))
            return "The next Leyr call will fail."
        return None

    async def sms_for(self, chat_id: int) -> list[str]:
        texts = list(self.inbox.get(chat_id, []))
        self.inbox.get(chat_id, []).clear()
        return texts


@dataclass
class Dialog:
    """A sandbox clinic (with its agent) and a live clinic, and the engine routing chats."""

    sandbox_clinic: FakeClinic
    live_clinic: FakeClinic
    agent: FakeAgent
    engine: MemoryEngine
    sandbox_chats: frozenset[int]


def dialog(sandbox_chats: frozenset[int], *, two_step: bool = True) -> Dialog:
    sandbox_clinic = FakeClinic(two_step=two_step)
    live_clinic = FakeClinic(two_step=two_step)
    agent = FakeAgent(sandbox_clinic)

    def is_sandbox(chat_id: int) -> bool:
        return chat_id in sandbox_chats

    def services_for(chat_id: int) -> Services:
        if is_sandbox(chat_id):
            return Services(
                clinic=agent.relay(chat_id),
                config=config(),
                digest=digest,
                directory=Directory(),
            )
        return services(live_clinic)

    engine = MemoryEngine(services_for, is_sandbox)
    return Dialog(sandbox_clinic, live_clinic, agent, engine, sandbox_chats)
