"""Running the real `telegram.ext.Application` against the fake Bot API (respx), for the Telegram
adapter's tests: updates go in as Bot API JSON, and the chats show what the patient would see.

Behind the adapter is either the real bot (`real_bot`: the runtime with its engine, SQLite,
Leyr clients and sandbox agent, Leyr played by emulators) or, for the adapter's own mechanics,
a `ScriptedEngine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import respx
from pydantic import SecretStr
from telegram import Update

from bot.bench.fake_bot_api import TOKEN, FakeBotApi, mount
from bot.engine import Handled, Sender
from bot.runtime import Runtime, open_runtime
from bot.sandbox.agent import SandboxAgent
from bot.sandbox.emulator import Emulator
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_EMR, Settings
from bot.telegram.app import build_application
from bot.telegram.handlers import AgentTools, AnyApplication, DialogEngine, TelegramAdapter
from bot.telegram.ordering import ChatOrderedProcessor
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.parsing import command_parts
from dialogs.replies import Option, Reply
from tests.support.clock import Clock, no_sleep

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
    typing_after: float = 60.0,
) -> AsyncIterator[Harness]:
    """The application, initialized and started (without polling), on the respx fake API."""
    api = api or FakeBotApi()
    with respx.mock(assert_all_called=False) as router:
        mount(router, api)
        adapter = TelegramAdapter(
            engine,
            agent,
            clinic_name=CLINIC,
            clinic_phone=CLINIC_PHONE,
            typing_after=typing_after,
        )
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
    """An engine whose steps are scripted, with gates to hold a step until the test opens it.

    A double on purpose: the adapter's tests hold a step half way (ordering, shutdown) and hand
    the adapter results the real dialog gives only deep in a conversation, or never (a step that
    raises, a duplicate with unsent replies, an edited message gone)."""

    script: Script = echo
    seen: list[tuple[int, str, int | None]] = field(default_factory=list)  # chat, label, update
    replays: list[int | None] = field(default_factory=list)  # update ids handled as replayed
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
        self, sender: Sender, event: Event, *, update_id: int | None = None, replayed: bool = False
    ) -> Handled:
        name = label(event)
        self.seen.append((sender.chat_id, name, update_id))
        if replayed:
            self.replays.append(update_id)
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


# -- the real bot behind the adapter -------------------------------------------------------------

CLINIC_ID, CLINIC_SECRET = "clinic-id", "clinic-secret"
PSEUDONYM_KEY = "a-real-secret-of-at-least-32-characters"
# The emulator's test patients (bot.sandbox.seed): Astrid has many appointments, the first of them
# a few hours away (inside the cancellation deadline); Bengt has one; Cecilia has none.
PERSONAL_NUMBER, PHONE = "191212121212", "+46701234567"
BENGT = ("198112189876", "+46702345678")
CECILIA = ("194910179854", "+46703456789")


@dataclass
class AgentSpy:
    """The runtime's `SandboxAgent`, noting which chats reached it and with which commands."""

    inner: SandboxAgent
    calls: list[tuple[int, str, list[str]]] = field(default_factory=list)
    chats: list[int] = field(default_factory=list)

    async def command(self, chat_id: int, text: str, language_code: str | None) -> str | None:
        self.chats.append(chat_id)
        parts = command_parts(text)
        if parts is not None:
            self.calls.append((chat_id, *parts))
        return await self.inner.command(chat_id, text, language_code)

    async def notes_for(self, chat_id: int, language_code: str | None) -> list[str]:
        self.chats.append(chat_id)
        return await self.inner.notes_for(chat_id, language_code)


@dataclass
class Deployment:
    """The real runtime (`bot.runtime.open_runtime`: engine, SQLite in tmp, Leyr clients, the
    sandbox agent) of a deployment with Leyr credentials: the clinic's Leyr is an emulator reached
    through the real Leyr client, and the chats listed as sandbox chats reach the runtime's own
    emulator. Both run on `clock`, as the engine does."""

    runtime: Runtime
    leyr: Emulator
    agent: AgentSpy | None
    clock: Clock

    @property
    def sandbox(self) -> Emulator:
        assert self.runtime.emulator is not None, "no sandbox chats listed"
        return self.runtime.emulator

    async def state(self, chat_id: int) -> str:
        snapshot = await self.runtime.store.load(chat_id)
        assert snapshot is not None
        return snapshot.state

    async def linked(self, user_id: int) -> str | None:
        """The patient this Telegram user proved to be."""
        link = await self.runtime.store.linked_patient(user_id)
        return link[0] if link is not None else None

    async def outcomes(self, chat_id: int) -> list[str]:
        return [row.outcome for row in await self.runtime.store.audits(chat_id)]


def patches(emulator: Emulator) -> list[str]:
    """The ids (or "appointments" for a bulk) of every PATCH the emulator was sent, in order."""
    return [path.rsplit("/", 1)[-1] for method, path in emulator.calls if method == "PATCH"]


@asynccontextmanager
async def real_bot(
    tmp_path: Path,
    sandbox_chats: frozenset[int] = frozenset(),
    *,
    two_step: bool = True,
    **settings_given: Any,
) -> AsyncIterator[tuple[Deployment, Harness]]:
    """The Telegram application on the real runtime; `two_step` is how both EHRs cancel;
    `settings_given`: settings besides the harness's own."""
    clock = Clock(datetime.now(UTC))  # wake-ups are timed on the wall clock: keep them ahead
    leyr = Emulator(
        seed=5, now=clock, sleep=no_sleep, client_id=CLINIC_ID, client_secret=CLINIC_SECRET
    )
    sandbox = Emulator(seed=5, now=clock, sleep=no_sleep)
    for emulator in (leyr, sandbox):
        emulator.set_profile(SANDBOX_EMR, cancellation="two_step" if two_step else "one_step")
    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        clinic_name=CLINIC,
        clinic_phone=CLINIC_PHONE,
        leyr_base_url="https://leyr.example/api",
        leyr_client_id=CLINIC_ID,
        leyr_client_secret=SecretStr(CLINIC_SECRET),
        leyr_emr=SANDBOX_EMR,
        leyr_care_unit_id=SANDBOX_CARE_UNIT,
        pseudonym_key=SecretStr(PSEUDONYM_KEY),
        sandbox_chat_ids=sandbox_chats,
        **settings_given,
    )
    async with open_runtime(
        settings,
        emulator=sandbox,
        clock=clock,
        sandbox_sleep=no_sleep,
        leyr_transport=leyr.transport(),
    ) as runtime:
        agent = AgentSpy(runtime.agent) if runtime.agent is not None else None
        async with running(runtime.engine, agent=agent) as h:
            yield Deployment(runtime, leyr, agent, clock), h
