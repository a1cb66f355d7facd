"""Telegram updates in, dialog events to the engine, replies back out as messages.

One `TelegramAdapter` per application. Per update it maps the update to a dialog event, runs it
through the engine (which loads and saves the chat's state), and renders what comes back:

* a button press is answered at once (see `arrival`), and its message is edited to show the
  step's first reply without waiting for that answer's round trip; typed text gets its reply as
  a new message, except text the bot deletes once used (an SMS code) outside sandbox chats: the
  message that asked for it, holding the chat's live buttons and now the last one shown, is
  edited instead, like after a button press (two Bot API calls instead of three: no new message
  whose arrival retires the old buttons);
* buttons live only on the newest bot message: the message that held the chat's live buttons
  (the engine remembers its id) has its keyboard removed once a newer message is shown;
* the patient's message holding an SMS code (or personal number) is deleted once used;
* a chat's wake-up timer is dropped once its dialog no longer waits for a code;
* in sandbox chats every message is marked, agent commands reach the `SandboxAgent`, and its
  notes (the SMS the emulator "sent", each injected fault and what the bot did) are shown.
  Other chats never reach the agent: their slash commands all go to the dialog, which answers
  unknown ones with help;
* `/whoami` is answered in every private chat with that chat's id (for SANDBOX_CHAT_IDS);
* a step still at work after `typing_after` seconds (in practice: waiting on Leyr, up to 10 s a
  call) shows "typing…" in the chat: one `sendChatAction` per step, at most, sent before the
  step's replies (Telegram clears it when they arrive).

Nothing here logs message texts, phone numbers or tokens: only ids, types and states.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.engine import Handled, Sender
from bot.telegram.ordering import ChatTick
from bot.telegram.render import inline_keyboard, message_text, new_message_markup
from bot.telegram.texts import WHOAMI, text
from bot.telegram.wakeups import WakeScheduler
from dialogs import Button, Command, Contact, Event, Reply, Text, Tick
from dialogs.parsing import command_parts

log = logging.getLogger(__name__)

TYPING_AFTER_SECONDS = 1.0
"""How long a step may take before the chat shows "typing…": most steps answer sooner, and the
indicator costs a Bot API call."""

Context = ContextTypes.DEFAULT_TYPE
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class DialogEngine(Protocol):
    """What the adapter needs of `bot.engine.Engine`."""

    async def handle(
        self, sender: Sender, event: Event, *, update_id: int | None = None, replayed: bool = False
    ) -> Handled: ...

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None: ...

    def is_sandbox(self, chat_id: int) -> bool: ...


class AgentTools(Protocol):
    """What the adapter needs of `bot.sandbox.agent.SandboxAgent`."""

    async def command(self, chat_id: int, text: str, language_code: str | None) -> str | None: ...

    async def notes_for(self, chat_id: int, language_code: str | None) -> list[str]: ...


def event_for(message: Message) -> Event:
    """The dialog event for a patient's message (private chat, from a user)."""
    if message.contact is not None:
        sender = message.from_user
        own = (
            sender is not None
            and message.contact.user_id is not None
            and message.contact.user_id == sender.id
        )
        return Contact(phone=message.contact.phone_number, own=own)
    if message.text is not None:
        parts = command_parts(message.text)
        return Command(parts[0]) if parts else Text(message.text)
    # Stickers, photos, voice...: the dialog treats an empty text as "not what I asked for".
    return Text(message.caption or "")


def _fresh(update_id: int) -> bool:
    """No update is replayed (no inbox behind the adapter)."""
    return False


def _frames(error: BaseException) -> str:
    """Where an error happened, as file:line function, without values or messages (these may
    hold personal data or the bot token)."""
    frames = traceback.extract_tb(error.__traceback__)[-6:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


class TelegramAdapter:
    """The handlers of one application, over the runtime's engine and (with sandbox chats) its
    sandbox agent. Whether a chat is a sandbox chat, the engine says."""

    def __init__(
        self,
        engine: DialogEngine,
        agent: AgentTools | None,
        *,
        clinic_name: str,
        clinic_phone: str,
        typing_after: float = TYPING_AFTER_SECONDS,
    ) -> None:
        self._engine = engine
        self._typing_after = typing_after
        self._agent = agent
        self._is_sandbox = engine.is_sandbox
        self._clinic_name = clinic_name
        self._clinic_phone = clinic_phone
        self._answering: dict[str, asyncio.Task[None]] = {}
        self._application: AnyApplication | None = None
        self.scheduler: WakeScheduler | None = None
        self.replayed: Callable[[int], bool] = _fresh
        """Whether an update (by id) was fetched before a crash and is handled again: the
        poller's `replayed`, set by the service."""

    # -- wiring ---------------------------------------------------------------------------------
    def install(self, application: AnyApplication) -> None:
        """Register the handlers, the error handler and the wake-up scheduler."""
        private = filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & private, self.on_message)
        )
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.ChatType.GROUPS & filters.COMMAND,
                self.on_group_command,
            )
        )
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(TypeHandler(ChatTick, self.on_tick))
        application.add_error_handler(self.on_error)
        self._application = application
        self.scheduler = WakeScheduler(application.update_queue.put_nowait)

    def arrival(self, update: object) -> None:
        """Called by the update processor as an update arrives, before it waits for its chat:
        a button press is answered now, whatever the chat is busy with. The application tracks
        the answer's task, so `Application.stop()` awaits it."""
        if isinstance(update, Update) and update.callback_query is not None:
            query = update.callback_query
            if query.id not in self._answering and self._application is not None:
                self._answering[query.id] = self._application.create_task(
                    self._answer(query), update=update
                )

    def busy(self, chat_id: int, language_code: str | None) -> None:
        """Tell a chat that floods the bot to wait (its extra messages are skipped)."""
        if self._application is not None:
            self._application.create_task(self._tell_busy(chat_id, language_code))

    async def _tell_busy(self, chat_id: int, language_code: str | None) -> None:
        assert self._application is not None
        body = message_text(text("busy", language_code), sandbox=self._is_sandbox(chat_id))
        try:
            await self._application.bot.send_message(chat_id, body)
        except TelegramError as error:
            log.info("could not ask chat=%s to wait: %s", chat_id, type(error).__name__)

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramError as error:  # e.g. too old after a restart: the step still runs
            log.info("could not answer button press: %s", type(error).__name__)

    # -- handlers -------------------------------------------------------------------------------
    async def on_message(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.from_user is None:
            return
        user = message.from_user
        chat_id = message.chat.id
        event = event_for(message)
        if event == Command(WHOAMI):
            shown = text("whoami", user.language_code, chat_id=chat_id)
            await context.bot.send_message(
                chat_id, message_text(shown, sandbox=self._is_sandbox(chat_id))
            )
            return
        if isinstance(event, Command) and message.text is not None:
            answer = await self._agent_command(chat_id, message.text, user.language_code)
            if answer is not None:
                await context.bot.send_message(chat_id, message_text(answer, sandbox=True))
                return
        await self._step(
            context.bot,
            Sender(chat_id=chat_id, user_id=user.id, language_code=user.language_code),
            event,
            update_id=update.update_id,
            user_message=message,
        )

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        self.arrival(update)  # answered as it arrived, or now: the step does not wait for it
        self._answering.pop(query.id, None)
        message = query.message
        if message is None or query.data is None or message.chat.type != ChatType.PRIVATE:
            return  # inline-mode or game buttons, or a group: not ours
        if query.from_user.id != message.chat.id:  # Telegram never sends one: forged
            log.warning("button pressed by another user chat=%s: ignored", message.chat.id)
            return
        await self._step(
            context.bot,
            Sender(
                chat_id=message.chat.id,
                user_id=query.from_user.id,
                language_code=query.from_user.language_code,
            ),
            Button(query.data),
            update_id=update.update_id,
            pressed=message.message_id if message.is_accessible else None,
        )

    async def on_group_command(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.from_user is None:
            return
        words = (message.text or "").split(maxsplit=1)
        addressee = words[0].partition("@")[2] if words else ""
        if addressee and addressee.lower() != (context.bot.username or "").lower():
            return  # "/start@otherbot": another bot's command
        language = message.from_user.language_code
        await message.reply_text(text("private_only", language, bot=context.bot.username))

    async def on_tick(self, update: ChatTick, context: Context) -> None:
        await self._step(
            context.bot, Sender(chat_id=update.chat_id, user_id=update.chat_id), Tick()
        )

    async def on_error(self, update: object, context: Context) -> None:
        """Log what failed without personal data, and tell the patient something useful."""
        error = context.error
        if error is None:
            return
        chat_id, private, language = None, False, None
        update_id: int | None = None
        if isinstance(update, Update):
            update_id = update.update_id
            if update.effective_chat is not None:
                chat_id = update.effective_chat.id
                private = update.effective_chat.type == ChatType.PRIVATE
            if update.effective_user is not None:
                language = update.effective_user.language_code
        elif isinstance(update, ChatTick):
            chat_id, private = update.chat_id, True
        elif isinstance(error, NetworkError):
            log.warning("Bot API call failed: %s", type(error).__name__)
            return
        log.error(
            "update failed: %s update=%s chat=%s at %s",
            type(error).__name__,
            update_id,
            chat_id,
            _frames(error),
        )
        if chat_id is None or not private:
            return
        apology = text("error", language, clinic=self._clinic_name, phone=self._clinic_phone)
        try:
            await context.bot.send_message(
                chat_id, message_text(apology, sandbox=self._is_sandbox(chat_id))
            )
        except TelegramError as failure:
            log.warning(
                "could not tell chat=%s about the error: %s", chat_id, type(failure).__name__
            )

    # -- the step -------------------------------------------------------------------------------
    async def _agent_command(self, chat_id: int, raw: str, language: str | None) -> str | None:
        """The agent's answer to a sandbox command, only ever in a sandbox chat."""
        if self._agent is None or not self._is_sandbox(chat_id):
            return None
        return await self._agent.command(chat_id, raw, language)

    async def _step(
        self,
        bot: Bot,
        sender: Sender,
        event: Event,
        *,
        update_id: int | None = None,
        user_message: Message | None = None,
        pressed: int | None = None,
    ) -> None:
        engine = self._engine
        chat_id = sender.chat_id
        typing: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self._typing_after,
            lambda: typing.append(asyncio.create_task(self._typing(bot, chat_id))),
        )
        try:
            handled = await engine.handle(
                sender,
                event,
                update_id=update_id,
                replayed=update_id is not None and self.replayed(update_id),
            )
        finally:
            timer.cancel()
            if typing:  # sent before the replies, or it would linger after them
                await typing[0]
        if not handled.duplicate:  # a redelivery's wake-up was set the first time round
            self._wake(chat_id, handled)
        try:
            await self._show(bot, sender, handled, user_message, pressed)
        except Forbidden:
            log.info("chat=%s blocked the bot: its step is stored, its answer not shown", chat_id)
        except TelegramError as error:
            # The step is stored (a cancel may have gone out): "not handled" would be untrue.
            log.warning(
                "step stored, its answer not shown chat=%s: %s", chat_id, type(error).__name__
            )
            shown = text("unshown", sender.language_code)
            try:
                await bot.send_message(chat_id, message_text(shown, sandbox=handled.sandbox))
            except TelegramError as failure:
                log.warning("could not tell chat=%s either: %s", chat_id, type(failure).__name__)

    def _wake(self, chat_id: int, handled: Handled) -> None:
        if self.scheduler is None:
            return
        if handled.wake_at is not None:
            self.scheduler.schedule(chat_id, handled.wake_at)
        elif not handled.awaits_code:
            self.scheduler.cancel(chat_id)  # nothing left to expire

    async def _show(
        self,
        bot: Bot,
        sender: Sender,
        handled: Handled,
        user_message: Message | None,
        pressed: int | None,
    ) -> None:
        """The step's effect in the chat: the patient's message deleted where asked, the
        replies shown (in place of the pressed message where possible), the sandbox's SMS."""
        chat_id = sender.chat_id
        deleting: asyncio.Task[None] | None = None
        if handled.delete_user_message and user_message is not None:
            # The answer does not wait a round trip for the deletion. It replaces the question
            # whether or not the deletion succeeds (in a private chat it fails only when the
            # connection does; a redelivered message was deleted the first time round).
            deleting = asyncio.create_task(self._delete(bot, user_message))
            if pressed is None and not handled.sandbox:  # there the SMS note follows the buttons
                pressed = handled.ui_message_id  # the question gives way to its answer in place
        try:
            await self._render(bot, self._engine, chat_id, handled, pressed)
        finally:
            if deleting is not None:
                await deleting
        if handled.duplicate:
            return  # a redelivery: its effects were stored before; unsent replies went above
        if handled.sandbox and self._agent is not None:
            for note in await self._agent.notes_for(chat_id, sender.language_code):
                await bot.send_message(chat_id, message_text(note, sandbox=True))

    async def _typing(self, bot: Bot, chat_id: int) -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:  # a nicety: the step goes on
            log.info("could not show typing chat=%s: %s", chat_id, type(error).__name__)

    async def _render(
        self, bot: Bot, engine: DialogEngine, chat_id: int, handled: Handled, pressed: int | None
    ) -> None:
        if not handled.replies:
            return  # a deletion alone is done again harmlessly if the update comes again
        previous = handled.ui_message_id
        remove_reply_keyboard = not handled.asks_contact
        live: int | None = None
        edited: int | None = None
        sent = False
        for index, reply in enumerate(handled.replies):
            body = message_text(reply.text, sandbox=handled.sandbox)
            shown: int | None = None
            editable = index == 0 and pressed is not None and reply.request_contact is None
            if (
                editable
                and pressed is not None
                and await self._edit(bot, chat_id, pressed, body, reply)
            ):
                shown = edited = pressed
            if shown is None:
                markup = new_message_markup(reply, remove_reply_keyboard=remove_reply_keyboard)
                shown = (await bot.send_message(chat_id, body, reply_markup=markup)).message_id
                sent = True
            if reply.options:
                live = shown
        if previous is not None and previous not in (live, edited):
            await self._retire(bot, chat_id, previous)
        # Replies that all replaced the live message in place need no second write: if the
        # update comes again (a crash before it was confirmed), showing them again adds nothing.
        if sent or live != previous:
            await engine.delivered(chat_id, live)

    async def _edit(self, bot: Bot, chat_id: int, message_id: int, body: str, reply: Reply) -> bool:
        try:
            await bot.edit_message_text(
                body,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline_keyboard(reply.options),
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            log.info("could not edit message chat=%s: sending a new one", chat_id)
            return False
        return True

    async def _retire(self, bot: Bot, chat_id: int, message_id: int) -> None:
        """Remove a message's buttons: they would only lead to "that button is old"."""
        try:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
        except (BadRequest, Forbidden):
            log.debug("buttons already gone chat=%s", chat_id)

    async def _delete(self, bot: Bot, message: Message) -> None:
        """Delete the patient's message, if Telegram lets us (the step's answer does not
        depend on it)."""
        try:
            await bot.delete_message(message.chat.id, message.message_id)
        except TelegramError as error:
            log.warning(
                "could not delete the patient's message chat=%s: %s",
                message.chat.id,
                type(error).__name__,
            )
