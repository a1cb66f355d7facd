"""Leyr faults at random on 20% of calls across 500 dialogs (real engine, storage, Leyr client and
emulator): every dialog ends definitively, nothing is cancelled or texted twice, and the audit
rows agree with the emulator."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.engine import Handled, Sender
from bot.runtime import open_runtime
from bot.sandbox.emulator import Emulator
from bot.settings import load_settings
from dialogs.events import Button, Command, Event, Text
from tests.support.clock import no_sleep

DIALOGS = 500
FAULT_RATE = 0.2
MAX_STEPS = 40
RETRIES = 3
DEFINITIVE = ("✅ Cancelled", "❌ Not cancelled", "can't reach", "does not allow", "no upcoming")

pytestmark = pytest.mark.slow


def options(handled: Handled) -> list[tuple[str, str]]:
    return [(o.label, o.key) for r in handled.replies for row in r.options for o in row]


def text(handled: Handled) -> str:
    return "\n".join(r.text for r in handled.replies)


def next_event(
    handled: Handled, emulator: Emulator, phone: str, retries: list[int]
) -> Event | None:
    """What a patient does next, or None when the dialog has ended definitively."""
    choices = options(handled)

    def button(pattern: str) -> Event | None:
        for label, key in choices:
            if re.search(pattern, label):
                return Button(key)
        return None

    match handled.state:
        case "pick_test_patient":
            return button("many appointments")
        case "choose":
            return button(r"^\d+\. ")
        case "confirm":
            return button("Yes, cancel")
        case "awaiting_code":
            if "Not cancelled" in text(handled) or not emulator.outbox(phone):
                return button("Send a new code") or button("Don't cancel")
            return Text(f"code {emulator.outbox(phone)[-1].code}")
        case "outcome":
            if "❓" in text(handled):
                return button("Check again")
            again = button("Try again")
            if again is not None and retries[0] < RETRIES:  # a patient tries again, a few times
                retries[0] += 1
                return again
            if any(word in text(handled) for word in DEFINITIVE):
                return None
            return again
        case _:
            return Command("start")


async def test_500_dialogs_with_random_leyr_faults(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    )
    emulator = Emulator(seed=3, sleep=no_sleep)
    stack = AsyncExitStack()
    runtime = await stack.enter_async_context(
        open_runtime(settings, all_sandbox=True, emulator=emulator, sandbox_sleep=no_sleep)
    )
    engine, store = runtime.engine, runtime.store
    first = emulator.test_patients()[0]
    main_phone = "+46701234567"
    assert first.personal_number == "191212121212"
    endings: Counter[str] = Counter()
    faults = 0
    try:
        for number in range(DIALOGS):
            emulator.reset()
            emulator.set_profile("sandbox", cancellation="two_step" if number % 2 else "one_step")
            emulator.set_random_faults(FAULT_RATE, seed=number)
            chat = 100_000 + number
            sender = Sender(chat_id=chat, user_id=chat, language_code="en")
            handled = await engine.handle(sender, Command("start"))
            retries = [0]
            for _ in range(MAX_STEPS):
                event = next_event(handled, emulator, main_phone, retries)
                if event is None:
                    break
                handled = await engine.handle(sender, event)
            else:
                pytest.fail(f"dialog {number} never ended: {handled.state}\n{text(handled)}")
            ending = text(handled)
            endings[next(w for w in DEFINITIVE if w in ending)] += 1
            faults += emulator.faults.injected
            ehr = emulator.ehrs["sandbox"]
            assert all(count <= 1 for count in ehr.cancel_calls.values()), (
                number,
                ehr.cancel_calls,
            )
            texted = Counter(s.appointment_id for s in emulator.outbox())
            assert all(count <= 1 for count in texted.values()), (number, texted)
            cancelled = {a for a, r in ehr.appointments.items() if r.status == "cancelled"}
            audited = {  # the sandbox is a chain: its ids name the care unit first
                row.appointment_id.partition("|")[2]
                for row in await store.audits(chat)
                if row.outcome == "cancelled"
            }
            assert audited == cancelled - {"a-006"}, (number, audited, cancelled)  # a-006: seeded
    finally:
        await stack.aclose()
    assert sum(endings.values()) == DIALOGS
    rate = faults / len(emulator.calls)
    assert endings["✅ Cancelled"] > DIALOGS / 2 and 0.15 < rate < 0.25, (endings, faults, rate)
    summary = (
        f"{DIALOGS} dialogs, {len(emulator.calls)} Leyr calls, {faults} faults: {dict(endings)}"
    )
    print("\n" + summary)
