"""Hostile input, property-based: random and huge text, odd unicode, forged and oversized button
data, buttons from other chats and old messages, another patient's appointment ids, foreign
contacts, unknown commands, in any order. No crash, every input answered, and no Leyr write for
an appointment the chat's patient does not own."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine, Sender
from bot.runtime import open_runtime
from bot.sandbox.emulator import Emulator
from bot.settings import load_settings
from dialogs.events import Button, Command, Contact, Event, Text, Tick

pytestmark = pytest.mark.slow

EXAMPLES = 400
EVENTS_PER_EXAMPLE = 25  # 10,000 events in all
CHAT, OTHER_CHAT = 501, 502
OTHER_PATIENT_APPOINTMENT = "a-008"  # booked for p-1002, never for the chat's patient

texts = st.one_of(
    st.text(max_size=50),
    st.text(min_size=3000, max_size=5000),
    st.sampled_from(
        ["1", "2", "99", "-1", "yes", "ja", "no", "191212121212", "123456", "\u202e", "\x00"]
    ),
    st.from_regex(r"[0-9 \-]{1,20}", fullmatch=True),
)
keys = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda g, c: f"{g}:{c}",
        st.integers(-2, 40),
        st.sampled_from([*"acmyrnksxogp1", "a0", "a1", "a9", "p0", "p2", "a999"]),
    ),
    st.just("L:xx"),
    st.just("L:sv"),
    st.just(f"1:{OTHER_PATIENT_APPOINTMENT}"),
)
events = st.one_of(
    texts.map(Text),
    keys.map(Button),
    st.sampled_from(["start", "help", "stop", "language", "sandbox_reset", "admin", "x" * 200]).map(
        Command
    ),
    st.builds(Contact, st.text(max_size=30), st.booleans()),
    st.just(Tick()),
)


def test_ten_thousand_hostile_events(tmp_path: Path) -> None:
    emulator = Emulator(seed=9)
    emulator.set_profile("sandbox", cancellation="one_step")

    bot_settings = load_settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    )
    stack = AsyncExitStack()

    async def setup() -> Engine:
        runtime = await stack.enter_async_context(
            open_runtime(bot_settings, all_sandbox=True, emulator=emulator)
        )
        return runtime.engine

    loop = asyncio.new_event_loop()
    engine = loop.run_until_complete(setup())
    handled_count = [0]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.tuples(st.booleans(), events),
            min_size=EVENTS_PER_EXAMPLE,
            max_size=EVENTS_PER_EXAMPLE,
        )
    )
    def run(script: list[tuple[bool, Event]]) -> None:
        async def play() -> None:
            for other, event in script:
                chat = OTHER_CHAT if other else CHAT
                handled = await engine.handle(Sender(chat, chat, "en"), event)
                handled_count[0] += 1
                if not isinstance(event, Tick):
                    assert handled.replies, f"{event!r} got no answer"
                for reply in handled.replies:
                    assert len(reply.text) < 4096
                    for row in reply.options:
                        for option in row:
                            assert len(option.key.encode()) < 64

        loop.run_until_complete(play())

    try:
        run()
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
    patched = [path for method, path in emulator.calls if method == "PATCH"]
    assert not any(path.endswith(OTHER_PATIENT_APPOINTMENT) for path in patched)
    assert emulator.ehrs["sandbox"].appointments[OTHER_PATIENT_APPOINTMENT].status == "booked"
    assert handled_count[0] >= EXAMPLES * EVENTS_PER_EXAMPLE
