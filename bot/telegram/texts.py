"""The Telegram adapter's own words (the dialog's are in `dialogs.catalogs`): command menus, the
apology after an internal error, the answer in group chats, the "one moment" to a flooding
chat, the chat's id for /whoami, and the sandbox marks."""

from __future__ import annotations

from dialogs.i18n import language_for

SANDBOX_MARK = "🧪 SANDBOX"
"""The first line of every message the bot sends in a sandbox chat."""

WHOAMI = "whoami"
"""Answered in every private chat with that chat's id, so a support agent can have it listed in
SANDBOX_CHAT_IDS. Not in the menu: patients have no use for it."""

COMMAND_LANGUAGES = ("en", "sv")
"""Languages with their own command menu (set_my_commands language_code); English is also the
default for everyone else."""

_COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("start", "See your appointments and cancel one"),
        ("help", "What this bot does"),
        ("stop", "Stop what is going on now"),
        ("language", "Change language"),
    ),
    "sv": (
        ("start", "Se dina bokningar och avboka"),
        ("help", "Vad den här boten gör"),
        ("stop", "Avbryt det som pågår nu"),
        ("language", "Byt språk"),
    ),
}

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "error": (
            "Sorry, something went wrong on our side and your last message was not handled. "
            "Please try again, or send /start. If it keeps happening, call {clinic} at {phone}."
        ),
        "private_only": "I only work in a private chat. Please write to me directly: @{bot}",
        "unshown": (
            "Your last message was handled, but its answer could not be shown. "
            "Send /start to see where things stand."
        ),
        "busy": "One moment, please: I am still on your earlier messages.",
        "sms": "📨 SMS to the test patient's phone:\n{text}",
        "whoami": "This chat's id is {chat_id} (for SANDBOX_CHAT_IDS).",
    },
    "sv": {
        "error": (
            "Tyvärr gick något fel hos oss och ditt senaste meddelande hanterades inte. "
            "Försök igen, eller skicka /start. Om det fortsätter, ring {clinic} på {phone}."
        ),
        "private_only": "Jag fungerar bara i en privat chatt. Skriv till mig direkt: @{bot}",
        "unshown": (
            "Ditt senaste meddelande hanterades, men svaret kunde inte visas. "
            "Skicka /start för att se hur det står till."
        ),
        "busy": "Ett ögonblick, tack: jag arbetar fortfarande med dina tidigare meddelanden.",
        "sms": "📨 SMS till testpatientens telefon:\n{text}",
        "whoami": "Den här chattens id är {chat_id} (för SANDBOX_CHAT_IDS).",
    },
}


def commands(language: str) -> tuple[tuple[str, str], ...]:
    """(command, description) pairs for one language's command menu."""
    return _COMMANDS.get(language, _COMMANDS["en"])


def text(key: str, language_code: str | None, **values: object) -> str:
    """One of the adapter's texts in the language Telegram reports for the user."""
    language = language_for(language_code)
    return _TEXTS.get(language, _TEXTS["en"])[key].format(**values)
