"""Per-chat admission: a chat that floods the bot is slowed on its own.

Every update of a chat is admitted while the chat has tokens: a bucket of `BURST` that refills at
`RATE` per second (a patient, who waits for each answer, never comes near it). Beyond that the
chat's updates are skipped, and the chat is told once, politely, to wait ("one moment") until
it is admitted again. A /start that arrives while the chat's previous update, also a /start, is
still waiting or running is skipped as well: it would only show the same list again.

Skipped updates are handled as far as the bot is concerned (the poller drops them from its
inbox); the other chats' updates never wait behind them. Only chats with updates in flight or
tokens to win back are remembered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Update

from bot.telegram.ordering import chat_key

BURST = 10
"""Updates a chat may send at once."""
RATE = 1.0
"""Tokens a chat wins back per second."""
SWEEP_EVERY = 1000
"""Admissions between two sweeps of the chats with nothing left to remember."""


@dataclass(slots=True)
class _Chat:
    tokens: float
    at: float
    in_flight: int = 0
    start_waiting: bool = False
    told: bool = False


def _is_start(update: Update) -> bool:
    message = update.message
    text = message.text if message is not None else None
    return text is not None and text.split("@", 1)[0].split(maxsplit=1)[:1] == ["/start"]


class Admission:
    def __init__(
        self,
        busy: Callable[[int, str | None], None],
        *,
        burst: int = BURST,
        rate: float = RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`busy(chat_id, language_code)` tells a chat to wait (at most once per flood)."""
        self._busy = busy
        self._burst = burst
        self._rate = rate
        self._clock = clock
        self._chats: dict[int, _Chat] = {}
        self._admitted = 0

    @property
    def chats(self) -> int:
        """How many chats are remembered."""
        return len(self._chats)

    def admit(self, update: Update) -> bool:
        """Whether to handle the update; False: skip it."""
        key = chat_key(update)
        if key is None:
            return True
        now = self._clock()
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = _Chat(tokens=self._burst, at=now)
        chat.tokens = min(self._burst, chat.tokens + (now - chat.at) * self._rate)
        chat.at = now
        start = _is_start(update)
        if start and chat.start_waiting and chat.in_flight:
            return False
        if chat.tokens < 1:
            if not chat.told:
                chat.told = True
                user = update.effective_user
                self._busy(key, user.language_code if user is not None else None)
            return False
        chat.tokens -= 1
        chat.told = False
        chat.in_flight += 1
        chat.start_waiting = start
        self._admitted += 1
        if self._admitted % SWEEP_EVERY == 0:
            self._sweep(now)
        return True

    def finished(self, update: object) -> None:
        """An admitted update's handling ended."""
        key = chat_key(update) if isinstance(update, Update) else None
        chat = self._chats.get(key) if key is not None else None
        if chat is not None and chat.in_flight:
            chat.in_flight -= 1
            if not chat.in_flight:
                chat.start_waiting = False

    def _sweep(self, now: float) -> None:
        for key in [
            key
            for key, chat in self._chats.items()
            if not chat.in_flight and chat.tokens + (now - chat.at) * self._rate >= self._burst
        ]:
            del self._chats[key]
