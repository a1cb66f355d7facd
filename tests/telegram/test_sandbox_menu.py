"""Agents find their commands in the command menu of sandbox chats only (chat-scoped), in the
chat's language; patients' menus never show them."""

from __future__ import annotations

from typing import Any

from bot.bench.fake_bot_api import FakeBotApi
from bot.telegram.commands import register_commands
from bot.telegram.texts import COMMAND_LANGUAGES
from tests.support.telegram_harness import ScriptedEngine, running

AGENT = [
    "sandbox",
    "sandbox_reset",
    "sandbox_onestep",
    "sandbox_twostep",
    "sandbox_fail",
    "sandbox_shape",
]
PATIENT = ["start", "help", "stop", "language", "forget"]


def _menus(api: FakeBotApi) -> dict[tuple[int | None, str], list[dict[str, Any]]]:
    """(chat of the scope or None for the default scope, language) -> the menu set."""
    menus = {}
    for params in api.sent("setMyCommands"):
        scope = params.get("scope") or {"type": "default"}
        chat = scope.get("chat_id") if scope["type"] == "chat" else None
        assert scope["type"] in ("chat", "default"), scope
        menus[chat, params.get("language_code", "")] = params["commands"]
    return menus


async def test_sandbox_chats_get_the_agents_commands_in_a_menu_of_their_own() -> None:
    api = FakeBotApi()
    async with running(ScriptedEngine(), api=api) as h:
        await register_commands(h.app.bot, frozenset({555, 777}))
    menus = _menus(api)
    assert set(menus) == {
        (chat, language) for chat in (None, 555, 777) for language in (*COMMAND_LANGUAGES, "")
    }
    for (chat, language), menu in menus.items():
        names = [c["command"] for c in menu]
        assert names == (PATIENT if chat is None else PATIENT + AGENT), (chat, language)
    english = {c["command"]: c["description"] for c in menus[555, "en"]}
    swedish = {c["command"]: c["description"] for c in menus[555, "sv"]}
    assert english["sandbox_reset"] == "Sandbox: a clean slate"
    assert swedish["sandbox_reset"] == "Sandlåda: börja om helt"
    assert menus[555, ""] == menus[555, "en"]


async def test_when_every_chat_is_a_sandbox_chat_the_default_menu_is_the_sandbox_menu() -> None:
    api = FakeBotApi()
    async with running(ScriptedEngine(), api=api) as h:
        await register_commands(h.app.bot, every_chat_sandbox=True)
    menus = _menus(api)
    assert set(menus) == {(None, language) for language in (*COMMAND_LANGUAGES, "")}
    assert all([c["command"] for c in menu] == PATIENT + AGENT for menu in menus.values())
