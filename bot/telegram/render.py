"""Dialog replies as Telegram message parts: text (plain, no parse mode, so nothing needs
escaping), inline keyboards from options, and the share-my-phone reply keyboard.

Button data is the dialog's opaque `Option.key`; Telegram allows 1-64 bytes and we insist on
fewer than 64, so an over-long key is a bug that fails loudly here rather than at Telegram.
"""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.telegram.texts import SANDBOX_MARK
from dialogs.replies import Option, Reply

MAX_TEXT_UTF16 = 4096
"""Telegram's limit on a message's text, counted in UTF-16 code units."""
MAX_BUTTON_DATA = 64
EMPTY_TEXT = "…"


class ButtonDataTooLong(ValueError):
    """An option key that Telegram would refuse as callback data."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = MAX_TEXT_UTF16) -> str:
    """The text, cut to Telegram's limit (with an ellipsis) and never empty."""
    if not text.strip():
        return EMPTY_TEXT
    if utf16_len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit - 1:
            break
        kept.append(char)
        used += width
    return "".join(kept) + "…"


def message_text(reply_text: str, *, sandbox: bool) -> str:
    """What the chat shows: the reply's text, marked in sandbox chats, within the limit."""
    return fit(f"{SANDBOX_MARK}\n{reply_text}" if sandbox else reply_text)


def button_data(option: Option) -> str:
    data = option.key
    if not data or len(data.encode("utf-8")) >= MAX_BUTTON_DATA:
        raise ButtonDataTooLong(f"option key of {len(data.encode('utf-8'))} bytes")
    return data


def inline_keyboard(options: tuple[tuple[Option, ...], ...]) -> InlineKeyboardMarkup | None:
    """One row of buttons per row of options; None when there are none."""
    rows = [
        [InlineKeyboardButton(option.label, callback_data=button_data(option)) for option in row]
        for row in options
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def contact_keyboard(label: str) -> ReplyKeyboardMarkup:
    """The one button that shares the patient's own phone number."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


NewMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def new_message_markup(reply: Reply, *, remove_reply_keyboard: bool) -> NewMarkup:
    """The markup for a reply sent as a new message. A message carries one markup: buttons, the
    contact keyboard, or (for a plain text, once identification is behind us) the removal of a
    contact keyboard that may still be shown."""
    if reply.request_contact:
        return contact_keyboard(reply.request_contact)
    inline = inline_keyboard(reply.options)
    if inline is not None:
        return inline
    return ReplyKeyboardRemove() if remove_reply_keyboard else None
