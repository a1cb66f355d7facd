"""One simulated patient in a private (non-sandbox) chat, through the whole two-step flow:
/start, share their own contact, type their personal number, choose an appointment, confirm,
type the SMS code the emulator sent, and see "Cancelled".

A bulk patient picks "Cancel several", ticks both of their appointments, continues, confirms
(one bulk PATCH), then types the two codes one after the other.

Each patient makes its updates with the fake Bot API (`FakeBotApi`) and reads only what its
chat shows there (texts and buttons). `send` delivers an update and returns once the patient
may go on; anything unexpected ends it with `PatientFailed`, naming the step (never the
patient's data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.bench.fake_bot_api import Chat, ChatMessage, FakeBotApi
from bot.sandbox.seed import synthetic_patients
from dialogs.i18n import translations

Send = Callable[[dict[str, Any], str, "Callable[[Chat], bool]"], Awaitable[None]]
"""Deliver an update (made by the fake) for a named step; return once the chat shows what the
step waits for (the predicate), or raise PatientFailed."""
Codes = Callable[[str], Awaitable[list[str]]]
"""The SMS codes sent to a phone so far, oldest first."""

CANCELLED = translations("en").gettext("outcome_cancelled").split("{", 1)[0]
SINGLE_STEPS = ("start", "contact", "number", "choose", "confirm", "code")
BULK_STEPS = (
    "start",
    "contact",
    "number",
    "several",
    "tick",
    "tick",
    "continue",
    "confirm",
    "code",
    "code",
)


class PatientFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step


@dataclass(frozen=True, slots=True)
class Identity:
    """A synthetic patient of the emulator: personal number and own phone (E.164)."""

    personal_number: str
    phone: str


def identities(count: int) -> list[Identity]:
    return [Identity(p["pn"], p["phones"][0]) for p in synthetic_patients(count)]


def _code(data: str) -> str:
    """The dialog's option code inside button data ("<generation>:<code>")."""
    return data.partition(":")[2]


def _data(message: ChatMessage) -> list[str]:
    return [data for _, data in message.buttons()]


def offers(code_prefix: str) -> Callable[[Chat], bool]:
    """The chat's live buttons offer an option whose code starts with `code_prefix`."""

    def holds(chat: Chat) -> bool:
        live = chat.live()
        return live is not None and any(_code(d).startswith(code_prefix) for d in _data(live))

    return holds


def asks_contact(chat: Chat) -> bool:
    return chat.reply_keyboard is not None


def replied(chat: Chat) -> bool:
    return True


def cancelled(times: int) -> Callable[[Chat], bool]:
    def holds(chat: Chat) -> bool:
        shown = chat.live() or chat.newest()
        return shown is not None and (shown.text or "").count(CANCELLED) == times

    return holds


class Patient:
    def __init__(
        self, chat_id: int, identity: Identity, api: FakeBotApi, *, bulk: bool = False
    ) -> None:
        self.chat_id = chat_id
        self.identity = identity
        self.bulk = bulk
        self._api = api

    @property
    def cancellations(self) -> int:
        return 2 if self.bulk else 1

    @property
    def steps(self) -> tuple[str, ...]:
        return BULK_STEPS if self.bulk else SINGLE_STEPS

    async def visit(self, send: Send, codes: Codes) -> None:
        """The whole flow; PatientFailed when the bot does not answer as expected."""
        api, chat_id = self._api, self.chat_id
        chat = api.chat(chat_id)
        try:
            await send(api.user_text(chat_id, "/start"), "start", asks_contact)
            await send(
                api.user_contact(chat_id, self.identity.phone.lstrip("+"), contact_user_id=chat_id),
                "contact",
                replied,
            )
            number = self.identity.personal_number
            await send(api.user_text(chat_id, f"{number[:8]}-{number[8:]}"), "number", offers("a"))
            if self.bulk:
                await self._several(send, chat)
            else:
                await send(self._press(chat, "a"), "choose", offers("y"))
            await send(self._press(chat, "y"), "confirm", offers("s"))
            sent = await codes(self.identity.phone)
            if len(sent) != self.cancellations:
                raise PatientFailed("confirm", f"{len(sent)} SMS codes instead of one each")
            for index, code in enumerate(sent, start=1):
                last = index == len(sent)
                await send(
                    api.user_text(chat_id, f"{code[:3]} {code[3:]}"),
                    "code",
                    cancelled(self.cancellations) if last else offers("s"),
                )
        finally:
            api.forget(chat_id)

    async def _several(self, send: Send, chat: Chat) -> None:
        await send(self._press(chat, "m"), "several", offers("a"))
        for index in range(2):
            live = chat.live()
            wanted = [d for d in _data(live) if _code(d).startswith("a")] if live else []
            if len(wanted) < 2 or live is None:
                raise PatientFailed("several", "fewer than two appointments to tick")
            await send(
                self._api.user_press(self.chat_id, live.message_id, wanted[index]),
                "tick",
                _ticked(live.message_id, wanted[index], len(wanted)),
            )
        await send(self._press(chat, "c"), "continue", offers("y"))

    def _press(self, chat: Chat, code_prefix: str) -> dict[str, Any]:
        """Press the first live button whose option code starts with `code_prefix`."""
        live = chat.live()
        found = [d for d in _data(live) if _code(d).startswith(code_prefix)] if live else []
        if live is None or not found:
            raise PatientFailed("press", f"no '{code_prefix}' button")
        return self._api.user_press(self.chat_id, live.message_id, found[0])


def _ticked(message_id: int, data: str, count: int) -> Callable[[Chat], bool]:
    """A tick redraws the list: the pressed button's data (its generation) changes."""

    def holds(chat: Chat) -> bool:
        live = chat.live()
        return live is not None and (live.message_id != message_id or data not in _data(live))

    return holds
