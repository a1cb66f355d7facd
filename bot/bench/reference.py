"""Two reference handlers on the bot's own `Application`, to put the bot's cost per update in
proportion. Each owns a range of chat ids and runs before the bot's handlers (group -1), which
never see those updates:

* echo: sends the message's text back: the cost of PTB alone (parse, dispatch, one Bot API call);
* floor: the irreducible work of one dialog step: read the chat's state row and write it back
  (the bot's own store and database), one Leyr GET through the bot's own Leyr client (the
  patient's appointments, parsed into models) and one Bot API call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot.leyr.client import LeyrClient
from bot.store import ChatSnapshot, Store
from bot.telegram.handlers import AnyApplication, Context

HORIZON = timedelta(days=180)


class _InChats(filters.MessageFilter):
    __slots__ = ("_chats",)

    def __init__(self, chats: range) -> None:
        super().__init__(name=f"chats {chats.start}..{chats.stop}")
        self._chats = chats

    def filter(self, message: Message) -> bool:
        return message.chat.id in self._chats


class ReferenceHandlers:
    def __init__(
        self, store: Store, leyr: LeyrClient, patient_id: str, echo: range, floor: range
    ) -> None:
        """`patient_id`: whose appointments the floor handler reads."""
        self._store = store
        self._leyr = leyr
        self._patient_id = patient_id
        self.echo_chats = echo
        self.floor_chats = floor

    def install(self, application: AnyApplication) -> None:
        application.add_handler(MessageHandler(_InChats(self.echo_chats), self.echo), group=-1)
        application.add_handler(MessageHandler(_InChats(self.floor_chats), self.floor), group=-1)

    async def echo(self, update: Update, context: Context) -> None:
        message = update.message
        if message is not None:
            await context.bot.send_message(message.chat.id, message.text or "…")
        raise ApplicationHandlerStop

    async def floor(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None:
            raise ApplicationHandlerStop
        chat_id = message.chat.id
        snapshot = await self._store.load(chat_id)
        now = datetime.now(UTC)
        listed = await self._leyr.list_appointments(self._patient_id, now, now + HORIZON)
        seen = int(snapshot.context.get("seen", 0)) if snapshot is not None else 0
        await self._store.save(
            ChatSnapshot(
                chat_id=chat_id,
                state="idle",
                context={"seen": seen + 1, "listed": [a.id for a in listed]},
                last_update_id=update.update_id,
            ),
            expected_version=snapshot.version if snapshot is not None else None,
            update_id=update.update_id,
        )
        await context.bot.send_message(chat_id, f"{len(listed)} appointment(s)")
        raise ApplicationHandlerStop
