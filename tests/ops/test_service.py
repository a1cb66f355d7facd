"""End to end: `python -m bot run` as a subprocess, polling a fake Bot API server on loopback.

A patient in a sandbox chat cancels an appointment in two steps (start, pick a test patient,
choose, confirm, read the SMS code, type it, see "Cancelled"); then SIGTERM stops the bot cleanly.
Everything is on 127.0.0.1 and bounded in time; waits poll the fake API's state, never sleep.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from bot.bench.fake_bot_api import TOKEN, ApiError, FakeBotApi, FakeBotServer, fake_bot_api_server
from bot.sandbox.emulator import Emulator
from bot.sandbox.server import make_server
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.support.service_process import bot_environment, bot_process

CHAT = 424242
STARTUP_SECONDS = 60.0
STEP_SECONDS = 30.0

pytestmark = pytest.mark.slow


def _output(path: Path) -> str:
    return path.read_text(errors="replace")


async def sigterm(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), STEP_SECONDS)


async def expect(server: FakeBotServer, pattern: str) -> str:
    """The newest bot message in CHAT matching `pattern`, waiting for it (bounded)."""

    def shown() -> str | None:
        for message in reversed(server.api.bot_messages(CHAT)):
            if re.search(pattern, message.text or ""):
                return message.text
        return None

    found: str = await server.wait_for(shown, STEP_SECONDS)
    return found


async def test_two_step_cancellation_over_the_bot_api_then_sigterm(tmp_path: Path) -> None:
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        async with bot_process(bot_environment(api_url, tmp_path), tmp_path) as process:
            await _conversation(server, api, process, tmp_path / "bot.log")
            returncode = await sigterm(process)
        output = _output(tmp_path / "bot.log")
        assert returncode == 0, output
        assert "Traceback" not in output, output
        assert TOKEN not in output
        # every update was confirmed to the Bot API: none would be fetched again
        assert api.pending_updates() == 0
        assert api.confirmed_offset > 0
        assert {"en", "sv", ""} <= set(api.commands)
        assert api.webhook_deleted == 1
        allowed = [c.get("allowed_updates") for c in api.sent("getUpdates")]
        assert all(a == ["message", "callback_query"] for a in allowed), allowed


async def _conversation(
    server: FakeBotServer, api: FakeBotApi, process: asyncio.subprocess.Process, log_path: Path
) -> None:
    exited = asyncio.ensure_future(process.wait())
    polling = asyncio.ensure_future(
        server.wait_for(lambda: api.sent("getUpdates"), STARTUP_SECONDS)
    )
    await asyncio.wait({exited, polling}, return_when=asyncio.FIRST_COMPLETED)
    if exited.done():  # it died at start: say why instead of waiting
        polling.cancel()
        raise AssertionError(_output(log_path))
    exited.cancel()
    await polling

    def last_text() -> str:
        messages = api.bot_messages(CHAT)
        return messages[-1].text or "" if messages else ""

    api.user_text(CHAT, "/sandbox_twostep")
    await expect(server, r"two.?step")

    api.user_text(CHAT, "/start")
    await expect(server, r"test patient")
    api.press(CHAT, "")  # the first test patient
    await expect(server, r"Which appointment")
    assert all(m.text and m.text.startswith("🧪 SANDBOX") for m in api.bot_messages(CHAT))

    menu = api.with_buttons(CHAT)[-1]
    first = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
    api.user_press(CHAT, menu.message_id, first)
    await expect(server, r"Do you want to cancel")
    api.press(CHAT, "Yes")
    sms = await expect(server, r"SMS to the test patient")
    code_match = re.search(r"\b(\d{4,8})\b", sms.split("\n", 2)[-1])
    assert code_match, sms
    await expect(server, r"Type the code")

    typed = api.user_text(CHAT, f"the code is {code_match.group(1)}")
    await expect(server, r"Cancelled")
    message_id = typed["message"]["message_id"]
    await server.wait_for(lambda: api.chats[CHAT].messages[message_id].deleted, STEP_SECONDS)
    assert "Cancelled" in last_text()
    # only the newest message keeps buttons (the code prompt's buttons are retired)
    await server.wait_for(lambda: len(api.with_buttons(CHAT)) == 1, STEP_SECONDS)
    assert api.with_buttons(CHAT)[0].message_id == api.bot_messages(CHAT)[-1].message_id
    # every button press was answered
    assert len(api.answered) == len(api.sent("answerCallbackQuery")) >= 3


async def test_a_patient_on_leyr_over_http_cancels_in_two_steps(tmp_path: Path) -> None:
    """Not a sandbox chat: Leyr is the emulator served over HTTP on loopback, and the patient
    proves who they are with their own phone and personal number."""
    emulator = Emulator(seed=11)
    leyr = make_server("127.0.0.1", 0, emulator)
    leyr_task = asyncio.create_task(leyr.serve())
    async with asyncio.timeout(STARTUP_SECONDS):
        while not leyr.started:  # noqa: ASYNC110 - uvicorn has no readiness event
            await asyncio.sleep(0.01)
    leyr_port = leyr.servers[0].sockets[0].getsockname()[1]
    try:
        async with fake_bot_api_server() as (server, api_url):
            api = server.api
            env = {
                **bot_environment(api_url, tmp_path),
                "LEYR_BASE_URL": f"http://127.0.0.1:{leyr_port}/api",
                "LEYR_CLIENT_ID": SANDBOX_CLIENT_ID,
                "LEYR_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                "LEYR_EMR": "sandbox",
                "LEYR_CARE_UNIT_ID": SANDBOX_CARE_UNIT,
                "PSEUDONYM_KEY": "e2e-key",
            }
            async with bot_process(env, tmp_path) as process:
                await server.wait_for(lambda: api.sent("getUpdates"), STARTUP_SECONDS)
                api.user_text(CHAT, "/start")
                await expect(server, r"share your phone number")
                api.user_contact(CHAT, "46701234567", contact_user_id=CHAT)
                await expect(server, r"personal identity number")
                api.user_text(CHAT, "19121212-1212")
                await expect(server, r"Which appointment")
                assert not any("SANDBOX" in (m.text or "") for m in api.bot_messages(CHAT))
                menu = api.with_buttons(CHAT)[-1]
                first = next(d for label, d in menu.buttons() if re.match(r"\d+\. ", label))
                api.user_press(CHAT, menu.message_id, first)
                await expect(server, r"Do you want to cancel")
                api.press(CHAT, "Yes")
                await expect(server, r"Type the code")
                [sms] = emulator.outbox("+46701234567")
                api.user_text(CHAT, f"code: {sms.code[:3]} {sms.code[3:]}")
                await expect(server, r"Cancelled")
                original = emulator.appointment("sandbox", sms.appointment_id)
                assert original is not None and original.status == "cancelled"
                returncode = await sigterm(process)
            output = _output(tmp_path / "bot.log")
            assert returncode == 0, output
            for private in ("191212121212", "46701234567", sms.code, SANDBOX_CLIENT_SECRET):
                assert private not in output
    finally:
        leyr.should_exit = True
        leyr.force_exit = True
        await asyncio.wait_for(leyr_task, 10)


async def test_the_service_rides_out_bot_api_failures_and_answers_after(tmp_path: Path) -> None:
    """getUpdates answers 502, 409 Conflict and 500; sendMessage a 502: the service keeps
    running, backs off, and the patient's message is answered once the API recovers."""
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        api.fail_next("getUpdates", ApiError(502, "Bad Gateway"))
        api.fail_next(
            "getUpdates", ApiError(409, "Conflict: terminated by other getUpdates request")
        )
        api.fail_next("getUpdates", ApiError(500, "Internal Server Error"))
        api.fail_next("sendMessage", ApiError(502, "Bad Gateway"))
        async with bot_process(bot_environment(api_url, tmp_path), tmp_path) as process:
            api.user_text(CHAT, "/help")
            await server.wait_for(
                lambda: any("/start" in (m.text or "") for m in api.bot_messages(CHAT)),
                STARTUP_SECONDS,
            )
            assert process.returncode is None
            returncode = await sigterm(process)
        output = _output(tmp_path / "bot.log")
        assert returncode == 0, output
        assert len(api.sent("getUpdates")) >= 4 and len(api.sent("sendMessage")) >= 2
        assert TOKEN not in output
