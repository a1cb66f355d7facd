"""SIGKILL at every dialog state and at random moments: nothing lost, nothing done twice.

`python -m bot run` polls a fake Bot API and cancels through the Leyr emulator over HTTP, both
served by this test on loopback. A patient walks the whole dialog (start, share phone, personal
number, choose, add a reason, type it, confirm, type the SMS code, start over), and in each run
the bot is killed with SIGKILL once, at a planned moment of one step:

* `fetched`: as getUpdates hands it the patient's update (fetched, not yet handled);
* `replied`: as it sends the step's first reply (the step is stored, its replies half sent);
* `write_before` / `write_after`: as its cancel or confirm PATCH reaches the emulator, before
  the emulator applies it, or after it was applied but before the answer (the step not saved);
* `random`: a seeded random delay after the patient's update appeared.

Then it is started again on the same database and the patient carries on. Each run checks that
every patient message got its answer and was stepped at most once (the engine logs one "step"
line per stored step; a redelivered stored one is logged as "duplicate"), that the dialog ended
where it should, that the emulator applied exactly one cancel and one confirm, and that the
audit rows say so once. Steps that ran before the kill of a crashed step are never applied again.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from bot.bench.fake_bot_api import FakeBotApi, FakeBotServer, fake_bot_api_server
from bot.bench.loopback import serving
from bot.sandbox.emulator import Emulator
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bot.store import open_store
from tests.support.service_process import bot_environment, bot_process

pytestmark = pytest.mark.slow

PHONE = "+46701234567"
PERSONAL_NUMBER = "19121212-1212"
STEP_SECONDS = 30.0
SEED = 20261125
RANDOM_RUNS = 32


@dataclass(frozen=True)
class Step:
    state: str  # the dialog's state when the patient acts
    act: Callable[[FakeBotApi, int, Emulator], dict[str, Any]]
    answer: str  # a pattern the bot's reply to this step shows
    writes: bool = False


def _first_appointment(api: FakeBotApi, chat: int, emulator: Emulator) -> dict[str, Any]:
    menu = api.with_buttons(chat)[-1]
    data = next(d for label, d in menu.buttons() if re.match(r"\d+\. ", label))
    return api.user_press(chat, menu.message_id, data)


def _code(api: FakeBotApi, chat: int, emulator: Emulator) -> dict[str, Any]:
    return api.user_text(chat, f"my code is {emulator.outbox(PHONE)[-1].code}")


STEPS = [
    Step("idle", lambda api, chat, e: api.user_text(chat, "/start"), r"share your phone"),
    Step(
        "identify_contact",
        lambda api, chat, e: api.user_contact(chat, PHONE.lstrip("+"), contact_user_id=chat),
        r"personal identity number",
    ),
    Step(
        "identify_number",
        lambda api, chat, e: api.user_text(chat, PERSONAL_NUMBER),
        r"Which appointment",
    ),
    Step("choose", _first_appointment, r"Do you want to cancel"),
    Step("confirm", lambda api, chat, e: api.press(chat, "Add a reason"), r"short reason"),
    Step(
        "reason",
        lambda api, chat, e: api.user_text(chat, "Feeling better"),
        r"sent to the clinic with the cancellation",
    ),
    Step("confirm", lambda api, chat, e: api.press(chat, "Yes, cancel"), r"Type the code", True),
    Step("awaiting_code", _code, r"Cancelled", True),
    Step(
        "outcome",
        lambda api, chat, e: api.press(chat, "Cancel another appointment"),
        r"Which appointment",
    ),
]


@dataclass(frozen=True)
class Plan:
    step: int
    moment: str
    delay: float = 0.0

    def __str__(self) -> str:
        extra = f" after {self.delay * 1000:.0f} ms" if self.moment == "random" else ""
        return f"kill at step {self.step} ({STEPS[self.step].state}): {self.moment}{extra}"


def plans() -> list[Plan]:
    """Every step at `fetched` and `replied`, every write before and after it lands, and
    seeded random moments."""
    planned = [Plan(i, moment) for i in range(len(STEPS)) for moment in ("fetched", "replied")]
    planned += [
        Plan(i, moment)
        for i, step in enumerate(STEPS)
        if step.writes
        for moment in ("write_before", "write_after")
    ]
    rng = random.Random(SEED)
    planned += [
        Plan(rng.randrange(len(STEPS)), "random", rng.uniform(0.0, 0.12))
        for _ in range(RANDOM_RUNS)
    ]
    return planned


class Killer:
    """Kills the bot at the armed moment (from inside the fake servers' request handling)."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.armed: str | None = None
        self.update_id: int | None = None
        self.chat: int | None = None
        self.calls_before = 0
        self.fired = asyncio.Event()

    def arm(self, moment: str, chat: int, calls_before: int) -> None:
        self.armed, self.chat, self.calls_before = moment, chat, calls_before
        self.update_id = None
        self.fired.clear()

    def kill(self) -> None:
        if self.armed is None:
            return
        self.armed = None
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        self.fired.set()

    def on_bot_api_call(self, api: FakeBotApi) -> None:
        if self.armed == "fetched" and self.update_id is not None:
            call = api.calls[-1]
            if call.method == "getUpdates" and self.update_id in api.unconfirmed():
                self.kill()
        elif self.armed == "replied" and self.update_id is not None:
            for call in api.calls[self.calls_before :]:
                if call.method in ("sendMessage", "editMessageText") and str(
                    call.params.get("chat_id")
                ) == str(self.chat):
                    self.kill()
                    return


@dataclass
class LeyrWithKills:
    """The emulator's ASGI app; counts the PATCHes it applied, and kills the bot around one."""

    emulator: Emulator
    killer: Killer
    applied: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PATCH":
            await self.emulator.app(scope, receive, send)
            return
        if self.killer.armed == "write_before":
            self.killer.kill()
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.emulator.app(scope, receive, hold)
        self.applied[scope["path"].rsplit("/", 1)[-1]] += 1
        if self.killer.armed == "write_after":
            self.killer.kill()
        for message in held:
            await send(message)


@dataclass
class Bot:
    """The bot process, restarted after each kill; every incarnation logs to its own file."""

    env: dict[str, str]
    tmp_path: Path
    killer: Killer
    stack: AsyncExitStack
    incarnations: int = 0

    async def start(self) -> None:
        self.incarnations += 1
        name = f"bot-{self.incarnations}.log"
        self.killer.process = await self.stack.enter_async_context(
            bot_process(self.env, self.tmp_path, name)
        )

    async def wait_dead(self) -> None:
        assert self.killer.process is not None
        await asyncio.wait_for(self.killer.process.wait(), STEP_SECONDS)
        assert self.killer.process.returncode == -signal.SIGKILL

    def logs(self) -> str:
        return "\n".join(
            (self.tmp_path / f"bot-{n}.log").read_text(errors="replace")
            for n in range(1, self.incarnations + 1)
        )


@asynccontextmanager
async def world(
    tmp_path: Path,
) -> AsyncIterator[tuple[FakeBotServer, LeyrWithKills, Bot]]:
    killer = Killer()
    leyr = LeyrWithKills(Emulator(seed=SEED), killer)
    async with (
        AsyncExitStack() as stack,
        fake_bot_api_server() as (server, api_url),
        serving(leyr) as leyr_url,
    ):
        server.api.listeners.append(lambda: killer.on_bot_api_call(server.api))
        env = {
            **bot_environment(api_url, tmp_path),
            "LEYR_BASE_URL": f"{leyr_url}/api",
            "LEYR_CLIENT_ID": SANDBOX_CLIENT_ID,
            "LEYR_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "LEYR_EMR": "sandbox",
            "LEYR_CARE_UNIT_ID": SANDBOX_CARE_UNIT,
            "PSEUDONYM_KEY": "crash-test-key",
        }
        bot = Bot(env, tmp_path, killer, stack)
        await bot.start()
        yield server, leyr, bot


def answered(api: FakeBotApi, chat: int, since: int, pattern: str) -> bool:
    return any(
        call.method in ("sendMessage", "editMessageText")
        and str(call.params.get("chat_id")) == str(chat)
        and re.search(pattern, str(call.params.get("text", "")))
        for call in api.calls[since:]
    )


async def walk(
    server: FakeBotServer, leyr: LeyrWithKills, bot: Bot, chat: int, plan: Plan
) -> list[int]:
    """One patient through every step, with the planned kill; the patient's update ids."""
    api, killer = server.api, bot.killer
    updates = []
    for index, step in enumerate(STEPS):
        since = len(api.calls)
        planned = index == plan.step
        if planned:
            killer.arm(plan.moment, chat, since)
        update = step.act(api, chat, leyr.emulator)
        updates.append(update["update_id"])
        if planned:
            killer.update_id = update["update_id"]
            if plan.moment == "random":
                asyncio.get_running_loop().call_later(plan.delay, killer.kill)
            await asyncio.wait_for(killer.fired.wait(), STEP_SECONDS)
            await bot.wait_dead()
            await bot.start()
        await server.wait_for(partial(answered, api, chat, since, step.answer), STEP_SECONDS)
    return updates


async def test_sigkill_at_every_state_and_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    runs = plans()
    assert len(runs) >= 50
    assert {STEPS[p.step].state for p in runs} >= {
        "idle",
        "identify_contact",
        "identify_number",
        "choose",
        "confirm",
        "reason",
        "awaiting_code",
        "outcome",
    }
    async with world(tmp_path) as (server, leyr, bot):
        for number, plan in enumerate(runs):
            leyr.emulator.reset()
            leyr.applied.clear()
            chat = 700_000 + number
            updates = await walk(server, leyr, bot, chat, plan)
            [sms] = leyr.emulator.outbox(PHONE)
            original = leyr.emulator.appointment("sandbox", sms.appointment_id)
            assert original is not None and original.status == "cancelled", plan
            assert leyr.emulator.cancel_count(sms.appointment_id) == 1, plan
            assert leyr.applied[sms.appointment_id] == 1, (plan, leyr.applied)
            assert leyr.applied[sms.pending_id] == 1, (plan, leyr.applied)
            logs = bot.logs()
            for update_id in updates:
                stepped = len(re.findall(rf"step chat={chat} update={update_id} ", logs))
                again = len(re.findall(rf"duplicate update chat={chat} update={update_id} ", logs))
                assert stepped <= 1, (plan, update_id)
                assert stepped + again >= 1, (plan, update_id)
        assert bot.incarnations == len(runs) + 1
        store = await open_store(
            bot.env["DATABASE_URL"], pseudonym_key="crash-test-key", migrate_schema=False
        )
        try:
            for number, plan in enumerate(runs):
                outcomes = Counter(a.outcome for a in await store.audits(700_000 + number))
                assert outcomes == {"awaiting_confirmation": 1, "cancelled": 1}, (plan, outcomes)
        finally:
            await store.close()
        logs = bot.logs()
        assert "Traceback" not in logs
        for private in ("191212121212", "46701234567", SANDBOX_CLIENT_SECRET):
            assert private not in logs
    moments = Counter(p.moment for p in runs)
    print(
        f"\n{len(runs)} SIGKILLs ({dict(moments)}), {bot.incarnations} processes, "
        f"{len(runs) * len(STEPS)} patient messages: none lost, none stepped twice; "
        f"{logs.count('duplicate update')} redelivered after a kill, "
        f"{logs.count('replies=unsent')} of them with replies sent again; "
        f"{len(runs)} cancels and {len(runs)} confirms applied once each"
    )
