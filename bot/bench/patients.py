"""One simulated patient in a private (non-sandbox) chat, through the whole two-step flow:
/start, share their own contact, type their personal number, choose an appointment, confirm,
type the SMS code the emulator sent, and see "Cancelled".

A bulk patient picks "Cancel several", ticks both of their appointments, continues, confirms
(one bulk PATCH), then types the two codes one after the other.

Each patient reads only what its chat shows (`ChatView`: texts and buttons) and sends the next
update once the previous one was handled; anything unexpected ends it with `PatientFailed`,
naming the step (never the patient's data).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.bench.telegram_fake import BOT_USER, ChatView, FakeBotApi, Shown
from bot.sandbox.seed import synthetic_patients
from dialogs.i18n import translations

Send = Callable[[dict[str, Any], str], Awaitable[None]]
"""Deliver an update's payload (without update_id) for a named step; return once handled."""
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


class Patient:
    def __init__(
        self, chat_id: int, identity: Identity, fake: FakeBotApi, *, bulk: bool = False
    ) -> None:
        self.chat_id = chat_id
        self.identity = identity
        self.bulk = bulk
        self._fake = fake
        self._view: ChatView | None = None

    @property
    def cancellations(self) -> int:
        return 2 if self.bulk else 1

    @property
    def steps(self) -> tuple[str, ...]:
        return BULK_STEPS if self.bulk else SINGLE_STEPS

    async def visit(self, send: Send, codes: Codes) -> None:
        """The whole flow; PatientFailed when the bot does not answer as expected."""
        view = self._view = self._fake.open_chat(self.chat_id)
        try:
            await send(self._text("/start", command=True), "start")
            if not view.contact_requested:
                raise PatientFailed("start", "no share-my-phone button")
            await send(self._contact(), "contact")
            number = self.identity.personal_number
            await send(self._text(f"{number[:8]}-{number[8:]}"), "number")
            menu = self._live("number", "a")
            if self.bulk:
                await self._several(send, menu)
            else:
                await send(self._press(menu, self._first(menu, "a")), "choose")
            confirm = self._live("continue" if self.bulk else "choose", "y")
            await send(self._press(confirm, self._first(confirm, "y")), "confirm")
            self._live("confirm", "s")
            sent = await codes(self.identity.phone)
            if len(sent) != self.cancellations:
                raise PatientFailed("confirm", f"{len(sent)} SMS codes instead of one each")
            for index, code in enumerate(sent, start=1):
                await send(self._text(f"{code[:3]} {code[3:]}"), "code")
                if index < len(sent):
                    self._live("code", "s")  # the next code's question
            outcome = view.live() or view.newest()
            if outcome is None or outcome.text.count(CANCELLED) != self.cancellations:
                raise PatientFailed("code", "no 'Cancelled' outcome")
        finally:
            self._fake.close_chat(self.chat_id)
            self._view = None

    async def _several(self, send: Send, menu: Shown) -> None:
        await send(self._press(menu, self._first(menu, "m")), "several")
        for index in range(2):
            shown = self._live("several", "a")
            wanted = [d for d in shown.data() if _code(d).startswith("a")]
            if len(wanted) < 2:
                raise PatientFailed("several", "fewer than two appointments to tick")
            await send(self._press(shown, wanted[index]), "tick")
        shown = self._live("tick", "c")
        await send(self._press(shown, self._first(shown, "c")), "continue")

    # -- what the chat shows ----------------------------------------------------------------------
    def _live(self, step: str, code_prefix: str) -> Shown:
        """The message with live buttons, which must offer an option starting `code_prefix`."""
        assert self._view is not None
        shown = self._view.live()
        if shown is None or not any(_code(d).startswith(code_prefix) for d in shown.data()):
            raise PatientFailed(step, f"no '{code_prefix}' button")
        return shown

    @staticmethod
    def _first(shown: Shown, code_prefix: str) -> str:
        return next(d for d in shown.data() if _code(d).startswith(code_prefix))

    # -- updates ----------------------------------------------------------------------------------
    def _user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Patient", "language_code": "en"}

    def _chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "private", "first_name": "Patient"}

    def _message(self, **content: Any) -> dict[str, Any]:
        assert self._view is not None
        return {
            "message": {
                "message_id": self._view.new_user_message(),
                "date": int(time.time()),
                "chat": self._chat(),
                "from": self._user(),
                **content,
            }
        }

    def _text(self, text: str, *, command: bool = False) -> dict[str, Any]:
        if command:
            entity = {"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}
            return self._message(text=text, entities=[entity])
        return self._message(text=text)

    def _contact(self) -> dict[str, Any]:
        contact = {
            "phone_number": self.identity.phone.lstrip("+"),
            "first_name": "Patient",
            "user_id": self.chat_id,
        }
        return self._message(contact=contact)

    def _press(self, shown: Shown, data: str) -> dict[str, Any]:
        keyboard = [
            [{"text": label, "callback_data": key} for label, key in row] for row in shown.buttons
        ]
        message = {
            "message_id": shown.message_id,
            "date": int(time.time()),
            "chat": self._chat(),
            "from": BOT_USER,
            "text": shown.text,
            "reply_markup": {"inline_keyboard": keyboard},
        }
        query = {
            "id": self._fake.open_query(self.chat_id),
            "from": self._user(),
            "chat_instance": f"bench-{self.chat_id}",
            "message": message,
            "data": data,
        }
        return {"callback_query": query}
