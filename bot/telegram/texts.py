"""The Telegram adapter's own words, from the same gettext catalogs as the dialog's: command
menus, the apology after an internal error, the answer in group chats, the "one moment" to a
flooding chat, the chat's id for /whoami, and the sandbox marks."""

from __future__ import annotations

from dialogs.i18n import ALIASES, LANGUAGES, language_for, translations

SANDBOX_MARK = "🧪 SANDBOX"
"""The first line of every message the bot sends in a sandbox chat."""

WHOAMI = "whoami"
"""Answered in every private chat with that chat's id, so a support agent can have it listed in
SANDBOX_CHAT_IDS. Not in the menu: patients have no use for it."""

MENU = ("start", "help", "stop", "language", "forget")
"""The commands of the menu, in its order."""

COMMAND_LANGUAGES = (*LANGUAGES, *ALIASES)
"""Telegram language codes with their own command menu (set_my_commands language_code): ours,
and Norwegian and Nynorsk with bokmål's. English is also the default for everyone else."""


def commands(language_code: str) -> tuple[tuple[str, str], ...]:
    """(command, description) pairs for one language's command menu."""
    catalog = translations(language_for(language_code))
    return tuple((name, catalog.gettext(f"command_{name}")) for name in MENU)


def text(key: str, language_code: str | None, **values: object) -> str:
    """One of the adapter's texts in the language Telegram reports for the user."""
    return translations(language_for(language_code)).gettext(f"adapter_{key}").format(**values)
