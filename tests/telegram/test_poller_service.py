"""The inbox poller inside `python -m bot run` (a subprocess, against the fake Bot API on
loopback): Telegram's ids going backwards after a quiet week, while the bot runs and across a
restart, are new messages for the engine too; an update the library cannot parse is logged by id
and type, confirmed and skipped while the others flow, and SIGTERM still ends without a
traceback."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.bench.fake_bot_api import FakeBotServer, fake_bot_api_server
from tests.support.service_process import bot_environment, bot_process

CHAT, OTHER = 515151, 626262
WITHIN = 30.0

pytestmark = pytest.mark.slow


async def answered(server: FakeBotServer, chat: int, count: int) -> None:
    """Wait until the bot has sent `count` messages to `chat` in all."""
    await server.wait_for(lambda: len(server.api.bot_messages(chat)) >= count, WITHIN)


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


async def stop(process: asyncio.subprocess.Process, log: Path) -> str:
    process.send_signal(signal.SIGTERM)
    status = await asyncio.wait_for(process.wait(), WITHIN)
    output = _read(log)
    assert status == 0, output
    assert "Traceback" not in output, output
    return output


def unparseable_poll(server: FakeBotServer, chat: int) -> dict[str, Any]:
    """A message with a poll as an older Bot API server sends it: PTB requires a field it lacks."""
    update = server.api.user_text(chat, "placeholder")
    message = update["message"]
    del message["text"]
    message["poll"] = {
        "id": "p1",
        "question": "Pick one",
        "options": [{"text": "19121212-1212", "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    return update


async def test_ids_that_go_backwards_are_handled_while_running_and_after_a_restart(
    tmp_path: Path,
) -> None:
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        env = bot_environment(api_url, tmp_path)
        async with bot_process(env, tmp_path, "first.log") as process:
            api.user_text(CHAT, "/start")
            await answered(server, CHAT, 1)
            high = api.user_text(CHAT, "/help")["update_id"]
            await answered(server, CHAT, 2)
            await server.wait_for(lambda: api.confirmed_offset == high + 1, WITHIN)
            api.next_update_ids(10)  # a quiet week: Telegram starts again, lower
            api.user_text(CHAT, "/help")
            await answered(server, CHAT, 3)
            output = await stop(process, tmp_path / "first.log")
        assert "update ids went backwards" in output
        # the chat's last handled number stays above anything Telegram sends next
        api.next_update_ids(1)
        async with bot_process(env, tmp_path, "second.log") as process:
            api.user_text(CHAT, "/help")
            await answered(server, CHAT, 4)
            api.user_text(OTHER, "/help")
            await answered(server, OTHER, 1)
            output = await stop(process, tmp_path / "second.log")
        assert "duplicate update" not in output
        assert len(api.sent("getUpdates")) < 40  # long polls, never a spin


async def test_an_unparseable_update_is_skipped_and_sigterm_is_clean(tmp_path: Path) -> None:
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        log = tmp_path / "bot.log"
        async with bot_process(bot_environment(api_url, tmp_path), tmp_path) as process:
            broken = unparseable_poll(server, CHAT)["update_id"]
            api.user_text(OTHER, "/start")
            await answered(server, OTHER, 1)
            after = api.user_text(CHAT, "/start")["update_id"]
            await answered(server, CHAT, 1)
            await server.wait_for(lambda: api.confirmed_offset > after, WITHIN)
            output = await stop(process, log)
        assert f"update={broken} type=message" in output
        assert api.returned[broken] == 1
        assert api.pending_updates() == 0
        assert "19121212" not in output


async def test_a_flooding_chat_is_slowed_on_its_own(tmp_path: Path) -> None:
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        async with bot_process(bot_environment(api_url, tmp_path), tmp_path) as process:
            flood = [api.user_text(CHAT, "/start") for _ in range(20)]
            flood += [api.user_text(CHAT, f"hello {i}") for i in range(30)]
            api.user_text(OTHER, "/help")
            await answered(server, OTHER, 1)
            await server.wait_for(
                lambda: api.confirmed_offset > flood[-1]["update_id"] and not api.pending_updates(),
                WITHIN,
            )
            await server.wait_for(lambda: any("One moment" in t for t in api.texts(CHAT)), WITHIN)
            await stop(process, tmp_path / "bot.log")
        sent = [c for c in api.sent("sendMessage") if c["chat_id"] == CHAT]
        assert sum("One moment" in c["text"] for c in sent) == 1
        assert len(sent) <= 11  # its burst of ten, and the one "one moment"
