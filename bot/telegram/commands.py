"""The command menu Telegram shows next to the text field, per language (`setMyCommands` with a
`language_code`), plus the default (English) for every other language.

Sandbox chats get a menu of their own (chat-scoped, `BotCommandScopeChat`), the patients'
commands followed by the agents': patients never see the agents' commands. When every chat is a
sandbox chat, the default menus are the sandbox menus."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeChat
from telegram.error import TelegramError

from bot.sandbox.agent import agent_commands
from bot.telegram.texts import COMMAND_LANGUAGES, commands

log = logging.getLogger(__name__)


def bot_commands(language: str, *, sandbox: bool = False) -> list[BotCommand]:
    shown = [*commands(language), *(agent_commands(language) if sandbox else ())]
    return [BotCommand(name, description) for name, description in shown]


async def register_commands(
    bot: Bot, sandbox_chats: Collection[int] = (), *, every_chat_sandbox: bool = False
) -> None:
    """Set the menus; a failure is logged and the bot runs on (the menu is a convenience)."""
    scopes: list[tuple[BotCommandScope | None, bool]] = [(None, every_chat_sandbox)]
    if not every_chat_sandbox:
        scopes += [(BotCommandScopeChat(chat_id), True) for chat_id in sorted(sandbox_chats)]
    try:
        for scope, sandbox in scopes:
            for language in COMMAND_LANGUAGES:
                await bot.set_my_commands(
                    bot_commands(language, sandbox=sandbox), scope=scope, language_code=language
                )
            await bot.set_my_commands(bot_commands("en", sandbox=sandbox), scope=scope)
    except TelegramError as error:
        log.warning("could not register the command menu: %s", type(error).__name__)
