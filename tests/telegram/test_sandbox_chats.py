"""The Telegram adapter on the real runtime: `bot.runtime.open_runtime` (storage in SQLite, the
in-process Leyr emulator, the SandboxAgent), driven through the real Application and respx.

Skipped while the runtime's parts (store, Leyr client, emulator) are not importable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.sandbox.agent import SandboxAgent
from bot.sandbox.emulator import Emulator
from bot.settings import SANDBOX_CARE_UNIT, Settings
from bot.telegram.texts import SANDBOX_MARK
from tests.fake_bot_api import TOKEN
from tests.support.telegram_harness import Harness, running

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
        running(runtime.engine, agent=runtime.agent) as h,
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


LIVE = 4242
CLINIC_ID, CLINIC_SECRET = "clinic-id", "clinic-secret"
PERSONAL_NUMBER, PHONE = "191212121212", "+46701234567"  # a test patient of the emulator


@dataclass
class AgentSpy:
    """The runtime's SandboxAgent, noting which chats reached it."""

    inner: SandboxAgent
    chats: list[int] = field(default_factory=list)

    async def command(self, chat_id: int, name: str, args: list[str]) -> str | None:
        self.chats.append(chat_id)
        return await self.inner.command(chat_id, name, args)

    async def sms_for(self, chat_id: int) -> list[str]:
        self.chats.append(chat_id)
        return await self.inner.sms_for(chat_id)


async def test_a_mixed_deployment_keeps_sandbox_and_leyr_chats_apart(tmp_path: Path) -> None:
    """Leyr credentials set (the clinic's Leyr played by a second emulator, in process) and one
    chat listed in SANDBOX_CHAT_IDS: that chat gets the sandbox and its agent commands; another
    chat gets the real dialog against Leyr, and its /sandbox... commands reach neither the agent
    nor the sandbox's emulator."""
    leyr = Emulator(seed=5, client_id=CLINIC_ID, client_secret=CLINIC_SECRET)
    settings = _settings(
        tmp_path,
        leyr_base_url="https://leyr.example/api",
        leyr_client_id=CLINIC_ID,
        leyr_client_secret=SecretStr(CLINIC_SECRET),
        leyr_emr="sandbox",
        leyr_care_unit_id=SANDBOX_CARE_UNIT,
        pseudonym_key=SecretStr("a-real-secret-of-at-least-32-characters"),
        sandbox_chat_ids=frozenset({SANDBOX}),
    )
    assert not settings.sandbox_only
    async with runtime_module.open_runtime(settings, leyr_transport=leyr.transport()) as runtime:
        assert runtime.agent is not None and runtime.emulator is not None
        assert runtime.emulator is not leyr
        sandbox = runtime.emulator
        spy = AgentSpy(runtime.agent)
        async with running(runtime.engine, agent=spy) as h:
            api = h.api
            # the listed chat: agent commands, then a test patient's list from the sandbox
            await h.send(api.user_text(SANDBOX, "/sandbox_onestep"))
            assert "one step" in (api.last(SANDBOX).text or "")
            await h.send(api.user_text(SANDBOX, "/start"))
            picker = api.with_buttons(SANDBOX)[-1]
            await h.send(api.user_press(SANDBOX, picker.message_id, picker.buttons()[0][1]))
            assert _first_appointment(h, SANDBOX)
            assert all((t or "").startswith(SANDBOX_MARK) for t in api.texts(SANDBOX))
            sandbox_calls, leyr_calls = len(sandbox.calls), len(leyr.calls)
            assert sandbox_calls > 0 and leyr_calls == 0

            # the other chat: agent commands are just unknown commands of the dialog
            for command in ("/sandbox_reset", "/sandbox_fail timeout", "/sandbox_twostep"):
                await h.send(api.user_text(LIVE, command))
            assert spy.chats and set(spy.chats) == {SANDBOX}
            assert sandbox.faults.queued == [] and leyr.faults.queued == []
            assert len(sandbox.calls) == sandbox_calls

            # ... and its patient proves who they are and cancels on "Leyr"
            await h.send(api.user_text(LIVE, "/start"))
            await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE))
            await h.send(api.user_text(LIVE, PERSONAL_NUMBER))
            await h.send(
                api.user_press(LIVE, api.last(LIVE).message_id, _first_appointment(h, LIVE))
            )
            await h.send(api.press(LIVE, "Yes"))
            [sms] = leyr.outbox(PHONE)  # two-step on this EHR: Leyr texted the patient
            await h.send(api.user_text(LIVE, sms.code))
            assert "Cancelled" in (api.last(LIVE).text or "")
            assert not any(SANDBOX_MARK in t for t in api.texts(LIVE))
    assert set(spy.chats) == {SANDBOX}
    assert len(sandbox.calls) == sandbox_calls  # the live chat never touched the sandbox
    assert sandbox.outbox() == []
    assert any(method == "PATCH" for method, _ in leyr.calls)  # the cancel went to "Leyr"
