"""Two replicas, one poller, through the real service: `python -m bot run` processes share one
database, poll a fake Bot API (each through its own URL prefix, so the test knows who polls) and
cancel through the Leyr emulator over HTTP.

PostgreSQL: patients walk the two-step cancellation in lockstep; in every round, after a seeded
random delay, the active replica is killed with SIGKILL (before, while or after it handles the
round's updates, its Leyr writes included), the standby takes over and a fresh standby is
started. Every patient's dialog must finish, no update lost or stepped twice, every cancel and
confirm applied once; only one replica ever polls at a time. SQLite: a second replica is
refused at start."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.bench.fake_bot_api import FakeBotApi, FakeBotServer
from bot.bench.loopback import serving
from bot.sandbox.emulator import Emulator
from bot.sandbox.seed import synthetic_patients
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bot.store import open_store
from tests.support.service_process import bot_environment, bot_process

pytestmark = pytest.mark.slow

SEED = 20261127
PATIENTS = 4
COHORTS = 2
WITHIN = 45.0
KEY = "failover-test-key"
Act = Callable[[FakeBotApi, int, dict[str, Any], Emulator], dict[str, Any]]


def _first_appointment(
    api: FakeBotApi, chat: int, patient: dict[str, Any], emulator: Emulator
) -> dict[str, Any]:
    menu = api.with_buttons(chat)[-1]
    data = next(d for label, d in menu.buttons() if re.match(r"\d+\. ", label))
    return api.user_press(chat, menu.message_id, data)


def _code(
    api: FakeBotApi, chat: int, patient: dict[str, Any], emulator: Emulator
) -> dict[str, Any]:
    return api.user_text(chat, emulator.outbox(patient["phones"][0])[-1].code)


STEPS: list[tuple[Act, str]] = [
    (lambda api, chat, p, e: api.user_text(chat, "/start"), r"share your phone"),
    (
        lambda api, chat, p, e: api.user_contact(
            chat, p["phones"][0].lstrip("+"), contact_user_id=chat
        ),
        r"personal identity number",
    ),
    (lambda api, chat, p, e: api.user_text(chat, p["pn"]), r"Which appointment"),
    (_first_appointment, r"Do you want to cancel"),
    (lambda api, chat, p, e: api.press(chat, "Yes, cancel"), r"Type the code"),
    (_code, r"Cancelled"),
    (lambda api, chat, p, e: api.press(chat, "Cancel another appointment"), r"Which appointment"),
]


@dataclass
class ReplicaTags:
    """The fake Bot API behind per-replica URL prefixes (`/r3/bot<token>/...`): records which
    replica sent each getUpdates, and when it arrived."""

    app: ASGIApp
    polls: list[tuple[float, int]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            tagged = re.match(r"^/r(\d+)(/.*)$", scope["path"])
            assert tagged, scope["path"]
            path = tagged[2]
            scope = {**scope, "path": path, "raw_path": path.encode()}
            if path.endswith("/getUpdates"):
                self.polls.append((time.monotonic(), int(tagged[1])))
        with contextlib.suppress(ClientDisconnect):  # a replica killed mid-request
            await self.app(scope, receive, send)

    def first_poll(self, replica: int, after: float = 0.0) -> float | None:
        return next((t for t, r in self.polls if r == replica and t >= after), None)


@dataclass
class CountingLeyr:
    """The emulator's ASGI app, counting the PATCHes it applied per appointment id."""

    emulator: Emulator
    applied: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(ClientDisconnect):  # a replica killed mid-request
            await self._call(scope, receive, send)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PATCH":
            await self.emulator.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.emulator.app(scope, receive, hold)
        self.applied[scope["path"].rsplit("/", 1)[-1]] += 1
        for message in held:
            await send(message)


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Replicas:
    env: dict[str, str]
    api_url: str
    tmp_path: Path
    stack: AsyncExitStack
    processes: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)

    async def start(self) -> int:
        number = len(self.processes) + 1
        env = {**self.env, "TELEGRAM_API_URL": f"{self.api_url}/r{number}"}
        self.processes[number] = await self.stack.enter_async_context(
            bot_process(env, self.tmp_path, f"replica-{number}.log")
        )
        return number

    def log(self, number: int) -> str:
        return _text(self.tmp_path / f"replica-{number}.log")

    def logs(self) -> str:
        return "\n".join(self.log(number) for number in self.processes)

    async def wait_log(self, number: int, pattern: str) -> None:
        async with asyncio.timeout(WITHIN):
            while not re.search(pattern, self.log(number)):
                if self.processes[number].returncode is not None:
                    raise AssertionError(self.log(number))
                await asyncio.sleep(0.05)

    async def kill(self, number: int) -> float:
        process = self.processes[number]
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.wait_for(process.wait(), WITHIN)
        return killed


@asynccontextmanager
async def world(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[FakeBotServer, ReplicaTags, CountingLeyr, Replicas]]:
    server = FakeBotServer(FakeBotApi())
    tags = ReplicaTags(server.app)
    leyr = CountingLeyr(Emulator(seed=SEED, synthetic_patients=PATIENTS * COHORTS))
    async with (
        AsyncExitStack() as stack,
        serving(tags, before_exit=server.close) as api_url,
        serving(leyr) as leyr_url,
    ):
        env = {
            **bot_environment(api_url, tmp_path),
            "DATABASE_URL": database_url,
            "LEYR_BASE_URL": f"{leyr_url}/api",
            "LEYR_CLIENT_ID": SANDBOX_CLIENT_ID,
            "LEYR_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "LEYR_EMR": "sandbox",
            "LEYR_CARE_UNIT_ID": SANDBOX_CARE_UNIT,
            "PSEUDONYM_KEY": KEY,
        }
        yield server, tags, leyr, Replicas(env, api_url, tmp_path, stack)


def _answered(api: FakeBotApi, chat: int, since: int, pattern: str) -> bool:
    return any(
        call.method in ("sendMessage", "editMessageText")
        and str(call.params.get("chat_id")) == str(chat)
        and re.search(pattern, str(call.params.get("text", "")))
        for call in api.calls[since:]
    )


async def test_sqlite_refuses_a_second_replica_at_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    async with world(url, tmp_path) as (server, tags, _leyr, replicas):
        first = await replicas.start()
        await server.wait_for(lambda: tags.first_poll(first), WITHIN)
        second = await replicas.start()
        status = await asyncio.wait_for(replicas.processes[second].wait(), WITHIN)
        assert status == 2
        assert "SQLite runs one replica only" in replicas.log(second)
        assert tags.first_poll(second) is None
        replicas.processes[first].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(replicas.processes[first].wait(), WITHIN) == 0


@pytest.mark.postgres
async def test_sigkill_of_the_active_replica_mid_dialog_the_standby_finishes_every_dialog(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("two replicas need PostgreSQL (SQLite: test_sqlite_refuses_a_second_replica)")
    rng = random.Random(SEED)
    patients = synthetic_patients(PATIENTS * COHORTS)
    takeovers: list[float] = []
    sent: dict[int, list[int]] = {}
    async with world(database_url, tmp_path) as (server, tags, leyr, replicas):
        api = server.api
        active = await replicas.start()
        await server.wait_for(lambda: tags.first_poll(active), WITHIN)
        standby = await replicas.start()
        await replicas.wait_log(standby, r"standby: another replica polls")
        for cohort in range(COHORTS):
            chats = {
                900_000 + cohort * PATIENTS + n: patients[cohort * PATIENTS + n]
                for n in range(PATIENTS)
            }
            for act, answer in STEPS:
                since = len(api.calls)
                for chat, patient in chats.items():
                    sent.setdefault(chat, []).append(
                        act(api, chat, patient, leyr.emulator)["update_id"]
                    )
                await asyncio.sleep(rng.uniform(0.0, 0.3))  # a seeded moment mid-round
                killed = await replicas.kill(active)
                active, standby = standby, await replicas.start()
                took = await server.wait_for(partial(tags.first_poll, active, killed), WITHIN)
                takeovers.append(took - killed)
                for chat in chats:
                    await server.wait_for(partial(_answered, api, chat, since, answer), WITHIN)
                await replicas.wait_log(standby, r"standby: another replica polls")
        logs = replicas.logs()

    # only one replica polled at a time: polls came in replica order, each after the kill
    order = [replica for _, replica in tags.polls]
    assert order == sorted(order)
    lost = duplicated = 0
    for chat, updates in sent.items():
        for update_id in updates:
            stepped = len(re.findall(rf"step chat={chat} update={update_id} ", logs))
            again = len(re.findall(rf"duplicate update chat={chat} update={update_id} ", logs))
            duplicated += max(0, stepped - 1)
            lost += stepped + again == 0
    assert (lost, duplicated) == (0, 0)
    for chat, patient in zip(sent, patients, strict=True):
        [sms] = leyr.emulator.outbox(patient["phones"][0])
        original = leyr.emulator.appointment("sandbox", sms.appointment_id)
        assert original is not None and original.status == "cancelled", chat
        assert leyr.emulator.cancel_count(sms.appointment_id) == 1, chat
        assert leyr.applied[sms.appointment_id] == 1 and leyr.applied[sms.pending_id] == 1
    store = await open_store(database_url, pseudonym_key=KEY, migrate_schema=False)
    try:
        for chat in sent:
            outcomes = Counter(a.outcome for a in await store.audits(chat))
            assert outcomes == {"awaiting_confirmation": 1, "cancelled": 1}, (chat, outcomes)
    finally:
        await store.close()
    assert "Traceback" not in logs
    for patient in patients:
        assert patient["pn"] not in logs and patient["phones"][0].lstrip("+") not in logs
    print(
        f"\nfailover: {len(takeovers)} SIGKILLs of the active replica, {len(replicas.processes)} "
        f"processes, {sum(map(len, sent.values()))} patient updates; takeover (kill to the "
        f"standby's first getUpdates) p50 {statistics.median(takeovers):.2f} s, max "
        f"{max(takeovers):.2f} s; updates lost: {lost}, stepped twice: {duplicated}"
    )
