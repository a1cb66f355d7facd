"""The command menu Telegram shows next to the text field, per language (`setMyCommands` with a
`language_code`), plus the default (English) for every other language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.telegram.texts import COMMAND_LANGUAGES, commands

log = logging.getLogger(__name__)


def bot_commands(language: str) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands(language)]


async def register_commands(bot: Bot) -> None:
    """Set the menus; a failure is logged and the bot runs on (the menu is a convenience)."""
    try:
        for language in COMMAND_LANGUAGES:
            await bot.set_my_commands(bot_commands(language), language_code=language)
        await bot.set_my_commands(bot_commands("en"))
    except TelegramError as error:
        log.warning("could not register the command menu: %s", type(error).__name__)
