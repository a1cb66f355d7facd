"""The Telegram adapter on the real runtime: `bot.runtime.open_runtime` (storage in SQLite, the
in-process Leyr emulator, the SandboxAgent), driven through the real Application and respx.

Skipped while the runtime's parts (store, Leyr client, emulator) are not importable.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.telegram.texts import SANDBOX_MARK
from tests.fake_bot_api import TOKEN
from tests.telegram_harness import Harness, running

runtime_module = pytest.importorskip("bot.runtime")

SANDBOX = 31337


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        **values,  # type: ignore[arg-type]
    )


def _first_appointment(h: Harness, chat: int) -> str:
    menu = h.api.with_buttons(chat)[-1]
    return next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))


async def test_two_step_cancellation_in_a_sandbox_chat(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with (
        runtime_module.open_runtime(settings) as runtime,
        running(runtime.engine, agent=runtime.agent, is_sandbox=settings.is_sandbox_chat) as h,
    ):
        api = h.api
        await h.send(api.user_text(SANDBOX, "/sandbox_twostep"))
        assert "two step" in (api.last(SANDBOX).text or "")
        await h.send(api.user_text(SANDBOX, "/start"))
        assert "test patient" in (api.last(SANDBOX).text or "")
        picker = api.with_buttons(SANDBOX)[-1]
        await h.send(api.user_press(SANDBOX, picker.message_id, picker.buttons()[0][1]))
        assert "Which appointment" in (api.last(SANDBOX).text or "")
        await h.send(api.user_press(SANDBOX, picker.message_id, _first_appointment(h, SANDBOX)))
        confirm = api.with_buttons(SANDBOX)[-1]
        yes = next(data for label, data in confirm.buttons() if label.startswith("Yes"))
        first = api.user_press(SANDBOX, confirm.message_id, yes)
        second = api.user_press(SANDBOX, confirm.message_id, yes)  # a double tap
        await h.feed(first)
        await h.feed(second)
        await h.drained()
        sms = [t for t in api.texts(SANDBOX) if "SMS to the test patient" in t]
        assert len(sms) == 1, api.texts(SANDBOX)  # one cancellation, one SMS
        code = re.search(r"\b(\d{4,8})\b", sms[0].split("\n", 2)[-1])
        assert code, sms[0]

        await h.send(first)  # redelivered: already processed, nothing happens
        typed = api.user_text(SANDBOX, f"my code is {code.group(1)}")
        await h.send(typed)
        assert api.chats[SANDBOX].messages[typed["message"]["message_id"]].deleted
        assert "Cancelled" in (api.last(SANDBOX).text or "")
        assert all((t or "").startswith(SANDBOX_MARK) for t in api.texts(SANDBOX))
        assert len(api.with_buttons(SANDBOX)) == 1
