"""`/sandbox_reset` is a clean slate for the agent: the emulator's data, codes and faults, and the
chat's own stored dialog, test patient and limits; the next /start offers the test patients."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.console import CONSOLE_CHAT
from bot.store import ChatSnapshot
from tests.sandbox.chat import sandbox_chat


async def test_a_reset_forgets_the_chats_dialog_patient_and_limits(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path, code_resends_per_day=1) as chat:
        await chat.send("/start")
        await chat.choose("Astrid")
        await chat.first_appointment()
        await chat.choose("Yes, cancel")
        assert "We have sent an SMS" in chat.screen
        assert "Send a new code" not in chat.menu  # the day's one SMS was used

        answer = await chat.send("/sandbox_reset")
        assert "Sandbox reset" in answer and "/start" in answer
        snapshot = await chat.runtime.store.load(CONSOLE_CHAT)
        assert snapshot is not None and snapshot.state == "idle"
        assert set(snapshot.context) <= {"language", "generation"}  # no patient, no limits

        await chat.send("/start")
        assert "pick a test patient" in chat.screen  # as the help promises
        await chat.choose("Astrid")
        await chat.first_appointment()
        await chat.choose("Yes, cancel")
        assert "We have sent an SMS" in chat.screen
        assert "can't send more SMS codes" not in chat.screen


async def test_a_reset_keeps_the_language_and_makes_old_buttons_stale(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await chat.send("/start")
        await chat.send("/language")
        await chat.choose("Svenska")
        before = await chat.runtime.store.load(CONSOLE_CHAT)
        assert before is not None
        await chat.send("/sandbox_reset")
        after = await chat.runtime.store.load(CONSOLE_CHAT)
        assert after is not None
        assert after.context["language"] == "sv"
        assert after.context["generation"] > before.context["generation"]
        assert after.last_update_id == before.last_update_id


async def test_a_reset_unlinks_the_chats_user(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        store = chat.runtime.store
        await store.save(
            # a link left from when this chat was not a sandbox chat
            ChatSnapshot(CONSOLE_CHAT, "idle"),
            expected_version=None,
            link=(CONSOLE_CHAT, "p-1001", datetime.now(UTC)),
        )
        linked = await store.linked_patient(CONSOLE_CHAT)
        assert linked is not None and linked[0] == "p-1001"
        await chat.send("/sandbox_reset")
        assert await store.linked_patient(CONSOLE_CHAT) is None
