"""A Telegram sandbox chat on the real runtime (SQLite, emulator, agent), as a support agent uses
it: the reset, the fault notes and the agent's texts in the chat's language."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from bot.bench.fake_bot_api import TOKEN
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.telegram.texts import SANDBOX_MARK
from tests.support.telegram_harness import Harness, running

SANDBOX = 31337


async def _no_sleep(_seconds: float) -> None:
    return None


@asynccontextmanager
async def _sandbox(tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    async with (
        open_runtime(settings, sandbox_sleep=_no_sleep) as runtime,
        running(runtime.engine, agent=runtime.agent) as h,
    ):
        yield h


async def _press(h: Harness, label: str) -> None:
    menu = h.api.with_buttons(SANDBOX)[-1]
    data = next(data for shown, data in menu.buttons() if label in shown)
    await h.send(h.api.user_press(SANDBOX, menu.message_id, data))


async def _first_appointment(h: Harness) -> None:
    menu = h.api.with_buttons(SANDBOX)[-1]
    data = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
    await h.send(h.api.user_press(SANDBOX, menu.message_id, data))


async def test_an_emr_error_on_the_cancel_is_told_as_what_it_was(tmp_path: Path) -> None:
    async with _sandbox(tmp_path) as h:
        await h.send(h.api.user_text(SANDBOX, "/start"))
        await _press(h, "Astrid")
        await _first_appointment(h)
        await h.send(h.api.user_text(SANDBOX, "/sandbox_fail emr_error"))
        assert "HTTP 502 EMR_ERROR" in (h.api.last(SANDBOX).text or "")
        await _press(h, "Yes, cancel")
        note = h.api.last(SANDBOX).text or ""
        assert note.startswith(f"{SANDBOX_MARK}\n🧪 Injected fault: EHR error (HTTP 502 EMR_ERROR")
        assert "PATCH /appointments/{id} (the cancellation)" in note
        assert "the bot re-reads the appointments" in note and "timeout" not in note


async def test_the_agents_texts_follow_the_chats_language(tmp_path: Path) -> None:
    async with _sandbox(tmp_path) as h:
        await h.send(h.api.user_text(SANDBOX, "/sandbox", language="sv"))
        assert "Sandlådans verktyg" in (h.api.last(SANDBOX).text or "")  # Telegram's language
        await h.send(h.api.user_text(SANDBOX, "/language"))
        await _press(h, "Svenska")
        await h.send(h.api.user_text(SANDBOX, "/sandbox", language="en"))
        assert "Sandlådans verktyg" in (h.api.last(SANDBOX).text or "")  # the chosen one wins
        await h.send(h.api.user_text(SANDBOX, "/start", language="en"))
        await _press(h, "Astrid")
        await _first_appointment(h)
        await _press(h, "Ja")
        sms = next(t for t in h.api.texts(SANDBOX) if "📨" in t)
        assert "SMS till testpatientens telefon:\nDin kod för att avboka din tid" in sms


async def test_after_a_reset_start_offers_the_test_patients_and_old_buttons_are_stale(
    tmp_path: Path,
) -> None:
    async with _sandbox(tmp_path) as h:
        await h.send(h.api.user_text(SANDBOX, "/start"))
        await _press(h, "Astrid")
        listing = h.api.with_buttons(SANDBOX)[-1]
        await h.send(h.api.user_text(SANDBOX, "/sandbox_reset"))
        assert "Sandbox reset" in (h.api.last(SANDBOX).text or "")
        old = next(data for label, data in listing.buttons() if re.match(r"\d+\. ", label))
        await h.send(h.api.user_press(SANDBOX, listing.message_id, old))
        shown = h.api.chats[SANDBOX].messages[listing.message_id].text or ""
        assert "earlier message" in shown  # answered in place: nothing of the old list acts
        await h.send(h.api.user_text(SANDBOX, "/start"))
        assert "pick a test patient" in (h.api.last(SANDBOX).text or "")
