"""Sandbox chats on Telegram, on the real runtime (`tests/support/telegram_harness.py`): test
patients instead of identity, the emulator's SMS shown in the chat, the agent's commands, every
message marked; and chats not listed never reach the agent or the sandbox's emulator.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from bot.bench.fake_bot_api import TOKEN, FakeBotApi
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.telegram.texts import SANDBOX_MARK
from dialogs.i18n import translations
from dialogs.machine import AWAITING_CODE
from tests.support.telegram_harness import (
    PERSONAL_NUMBER,
    PHONE,
    Harness,
    patches,
    real_bot,
    running,
)

SANDBOX = 31337
LIVE = 4242


def marked(api: FakeBotApi, chat: int) -> bool:
    return all((m.text or "").startswith(f"{SANDBOX_MARK}\n") for m in api.bot_messages(chat))


def first_appointment(h: Harness, chat: int) -> str:
    menu = h.api.with_buttons(chat)[-1]
    return next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))


async def to_confirm(h: Harness, chat: int) -> None:
    """From the appointment list: pick the first one that can be cancelled (number 1 starts
    within the cancellation deadline: shown, without a button)."""
    menu = h.api.with_buttons(chat)[-1]
    await h.send(h.api.user_press(chat, menu.message_id, first_appointment(h, chat)))
    assert "Do you want to cancel this appointment?" in (h.api.last(chat).text or "")


async def sandbox_list(h: Harness) -> None:
    await h.send(h.api.user_text(SANDBOX, "/start"))
    assert "pick a test patient" in (h.api.last(SANDBOX).text or "")
    await h.send(h.api.press(SANDBOX, "Astrid Testsson"))
    assert "Which appointment" in (h.api.last(SANDBOX).text or "")


async def test_two_step_cancellation_in_a_sandbox_only_deployment(tmp_path: Path) -> None:
    """No Leyr credentials: every chat is a sandbox chat, double taps and redelivered updates
    included."""
    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    async with (
        open_runtime(settings) as runtime,
        running(runtime.engine, agent=runtime.agent) as h,
    ):
        api = h.api
        await h.send(api.user_text(SANDBOX, "/sandbox_twostep"))
        assert "two steps" in (api.last(SANDBOX).text or "")
        await h.send(api.user_text(SANDBOX, "/start"))
        assert "test patient" in (api.last(SANDBOX).text or "")
        picker = api.with_buttons(SANDBOX)[-1]
        await h.send(api.user_press(SANDBOX, picker.message_id, picker.buttons()[0][1]))
        assert "Which appointment" in (api.last(SANDBOX).text or "")
        await h.send(api.user_press(SANDBOX, picker.message_id, first_appointment(h, SANDBOX)))
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


async def test_a_mixed_deployment_keeps_sandbox_and_leyr_chats_apart(tmp_path: Path) -> None:
    """Leyr credentials set (the clinic's Leyr played by a second emulator, in process) and one
    chat listed in SANDBOX_CHAT_IDS: that chat gets the sandbox and its agent commands; another
    chat gets the real dialog against Leyr, and its /sandbox... commands reach neither the agent
    nor the sandbox's emulator."""
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        assert not d.runtime.settings.sandbox_only
        assert d.agent is not None and d.sandbox is not d.leyr
        api = h.api
        # the listed chat: agent commands (in the agent's language), then a test patient's
        # list from the sandbox
        await h.send(api.user_text(SANDBOX, "/sandbox_twostep", language="fi"))
        assert translations("fi").gettext("sandbox_two_step") in (api.last(SANDBOX).text or "")
        await h.send(api.user_text(SANDBOX, "/sandbox_onestep"))
        assert "one step" in (api.last(SANDBOX).text or "")
        await h.send(api.user_text(SANDBOX, "/start"))
        picker = api.with_buttons(SANDBOX)[-1]
        await h.send(api.user_press(SANDBOX, picker.message_id, picker.buttons()[0][1]))
        assert first_appointment(h, SANDBOX)
        assert all((t or "").startswith(SANDBOX_MARK) for t in api.texts(SANDBOX))
        sandbox_calls, leyr_calls = len(d.sandbox.calls), len(d.leyr.calls)
        assert sandbox_calls > 0 and leyr_calls == 0

        # the other chat: agent commands are just unknown commands of the dialog
        for command in ("/sandbox_reset", "/sandbox_fail timeout", "/sandbox_twostep"):
            await h.send(api.user_text(LIVE, command))
        assert d.agent.chats and set(d.agent.chats) == {SANDBOX}
        assert d.sandbox.faults.queued == [] and d.leyr.faults.queued == []
        assert len(d.sandbox.calls) == sandbox_calls

        # ... and its patient proves who they are and cancels on "Leyr"
        await h.send(api.user_text(LIVE, "/start"))
        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE))
        await h.send(api.user_text(LIVE, PERSONAL_NUMBER))
        await h.send(api.user_press(LIVE, api.last(LIVE).message_id, first_appointment(h, LIVE)))
        await h.send(api.press(LIVE, "Yes"))
        [sms] = d.leyr.outbox(PHONE)  # two-step on this EHR: Leyr texted the patient
        await h.send(api.user_text(LIVE, sms.code))
        assert "Cancelled" in (api.last(LIVE).text or "")
        assert not any(SANDBOX_MARK in t for t in api.texts(LIVE))
    assert set(d.agent.chats) == {SANDBOX}
    assert len(d.sandbox.calls) == sandbox_calls  # the live chat never touched the sandbox
    assert d.sandbox.outbox() == []
    assert any(method == "PATCH" for method, _ in d.leyr.calls)  # the cancel went to "Leyr"


async def test_sandbox_two_step_cancellation(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        await sandbox_list(h)
        # the patient picker was edited into the list: one message so far
        assert len(h.api.bot_messages(SANDBOX)) == 1
        await to_confirm(h, SANDBOX)
        await h.send(h.api.press(SANDBOX, "Yes"))
        texts = h.api.texts(SANDBOX)
        assert "We have sent an SMS with a code" in texts[0]
        assert texts[1].startswith(f"{SANDBOX_MARK}\n📨 SMS to the test patient's phone")
        [sms] = d.sandbox.outbox()
        assert sms.code in texts[1]
        assert await d.state(SANDBOX) == AWAITING_CODE

        typed = h.api.user_text(SANDBOX, f"code: {sms.code[:3]} {sms.code[3:]}")
        await h.send(typed)
        assert h.api.chats[SANDBOX].messages[typed["message"]["message_id"]].deleted
        assert "✅ Cancelled" in (h.api.last(SANDBOX).text or "")
    assert marked(h.api, SANDBOX)
    assert patches(d.sandbox) == [sms.appointment_id, sms.pending_id]  # cancel, then confirm
    # every press answered; only the newest message keeps buttons
    assert len(h.api.answered) == len(h.api.sent("answerCallbackQuery")) == 3
    assert [m.message_id for m in h.api.with_buttons(SANDBOX)] == [h.api.last(SANDBOX).message_id]


async def test_sandbox_agent_commands_one_step_and_faults(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        await h.send(h.api.user_text(SANDBOX, "/sandbox_onestep"))
        english = translations("en")
        assert h.api.last(SANDBOX).text == f"{SANDBOX_MARK}\n{english.gettext('sandbox_one_step')}"
        await sandbox_list(h)
        await to_confirm(h, SANDBOX)
        await h.send(h.api.press(SANDBOX, "Yes"))
        assert "✅ Cancelled" in (h.api.last(SANDBOX).text or "")
        assert not any("SMS to the test patient" in t for t in h.api.texts(SANDBOX))

        for _ in range(3):  # a read is tried three times: each attempt meets a fault
            await h.send(h.api.user_text(SANDBOX, "/sandbox_fail timeout"))
        outcome = h.api.with_buttons(SANDBOX)[-1]
        await h.send(h.api.press(SANDBOX, "Cancel another"))
        assert "can't reach the clinic's system" in (outcome.text or "")
        await h.send(h.api.user_text(SANDBOX, "/sandbox_reset"))
        assert h.api.last(SANDBOX).text == f"{SANDBOX_MARK}\n{english.gettext('sandbox_reset')}"
        assert "every test patient has their appointments back" in (h.api.last(SANDBOX).text or "")
        # an unknown slash command is not the agent's: it goes to the dialog
        await h.send(h.api.user_text(SANDBOX, "/nonsense"))
        assert "I don't know that command" in (h.api.last(SANDBOX).text or "")
    assert d.agent is not None
    assert [name for _, name, _ in d.agent.calls] == [
        "sandbox_onestep",
        "start",  # asked first; not an agent command, so it went on to the dialog
        "sandbox_fail",
        "sandbox_fail",
        "sandbox_fail",
        "sandbox_reset",
        "nonsense",
    ]
    assert d.agent.calls[2][2] == ["timeout"]
    assert marked(h.api, SANDBOX)


async def test_non_sandbox_chats_never_reach_the_agent_or_the_emulator(tmp_path: Path) -> None:
    async with real_bot(tmp_path, frozenset({SANDBOX})) as (d, h):
        for command in ("/sandbox_reset", "/sandbox_fail timeout", "/sandbox_onestep", "/sandbox"):
            await h.send(h.api.user_text(LIVE, command))
            assert "I don't know that command" in (h.api.last(LIVE).text or "")
        await h.send(h.api.user_text(LIVE, "/start"))
        assert h.api.chats[LIVE].reply_keyboard is not None  # identify: share your phone
    assert d.agent is not None and d.agent.calls == [] and d.agent.chats == []
    assert d.sandbox.calls == [] and d.sandbox.faults.queued == []
    assert d.sandbox.ehrs["sandbox"].profile.cancellation == "two_step"  # not switched
    assert not any(SANDBOX_MARK in t for t in h.api.texts(LIVE))
