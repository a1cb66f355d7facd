"""An in-process Telegram Bot API for the benchmark: a python-telegram-bot `BaseRequest` that
answers every call at once, without HTTP, and counts calls per method and per chat.

It keeps a chat's messages (texts and buttons, as the patient sees them) only while that chat's
patient is being simulated (`open_chat` .. `close_chat`), so it holds nothing per finished chat.
The time it spends answering is measured (`cpu_seconds`, thread CPU of the event loop's thread)
so the benchmark can leave it out of the bot's cost. Encoding the request's parameters as JSON,
which PTB's own HTTP request does too, stays on the bot's side of the line.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

TOKEN = "7000001:bench-fake-token"  # noqa: S105 - not a secret: the fake accepts any token
BOT_USER: dict[str, Any] = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "Cancel Bot",
    "username": "cancel_bench_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
NOT_MODIFIED = "Bad Request: message is not modified"


@dataclass(slots=True)
class Shown:
    """A bot message as the patient sees it."""

    message_id: int
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    """Rows of (label, callback data)."""

    def data(self) -> list[str]:
        """The callback data of every button."""
        return [data for row in self.buttons for _, data in row]


@dataclass(slots=True)
class ChatView:
    """One private chat while its patient is simulated: message ids run on across both sides,
    as in Telegram's private chats."""

    chat_id: int
    next_id: int = 1
    bot_messages: dict[int, Shown] = field(default_factory=dict)
    user_messages: set[int] = field(default_factory=set)
    contact_requested: bool = False
    calls: int = 0
    """Bot API calls for this chat since `take_calls`."""

    def new_user_message(self) -> int:
        message_id = self.next_id
        self.next_id += 1
        self.user_messages.add(message_id)
        return message_id

    def live(self) -> Shown | None:
        """The newest bot message with buttons."""
        with_buttons = [m for m in self.bot_messages.values() if m.buttons]
        return max(with_buttons, key=lambda m: m.message_id) if with_buttons else None

    def newest(self) -> Shown | None:
        return self.bot_messages[max(self.bot_messages)] if self.bot_messages else None

    def take_calls(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


class _Refused(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _buttons(params: dict[str, Any]) -> list[list[tuple[str, str]]]:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [
        [(button["text"], button.get("callback_data", "")) for button in row]
        for row in markup.get("inline_keyboard", [])
    ]


class FakeBotApi(BaseRequest):
    """Answers sendMessage, sendChatAction, editMessageText, editMessageReplyMarkup, deleteMessage,
    answerCallbackQuery, getMe and the command-menu calls; refuses anything else with 400."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.cpu_seconds = 0.0
        self._chats: dict[int, ChatView] = {}
        self._queries: dict[str, int] = {}
        self._query_ids = itertools.count(1)
        self._other_ids = itertools.count(1)

    # -- the simulator's side -------------------------------------------------------------------
    def open_chat(self, chat_id: int) -> ChatView:
        view = self._chats[chat_id] = ChatView(chat_id)
        return view

    def close_chat(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)
        for query_id in [q for q, chat in self._queries.items() if chat == chat_id]:
            del self._queries[query_id]

    def open_query(self, chat_id: int) -> str:
        """A new callback query id for a button press in `chat_id`."""
        query_id = str(next(self._query_ids))
        self._queries[query_id] = chat_id
        return query_id

    def view(self, chat_id: int) -> ChatView | None:
        return self._chats.get(chat_id)

    @property
    def chats_open(self) -> int:
        return len(self._chats)

    # -- BaseRequest ----------------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(  # noqa: PLR0917 - PTB's signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        if request_data is not None:
            request_data.json_parameters  # noqa: B018 - what PTB's HTTP request encodes too
        started = time.thread_time()
        try:
            endpoint = url.rsplit("/", 1)[-1]
            self.calls[endpoint] += 1
            params = request_data.parameters if request_data is not None else {}
            try:
                body = {"ok": True, "result": self._answer(endpoint, params)}
                status = 200
            except _Refused as refused:
                body = {"ok": False, "error_code": 400, "description": refused.description}
                status = 400
            return status, json.dumps(body).encode()
        finally:
            self.cpu_seconds += time.thread_time() - started

    # -- the Bot API ----------------------------------------------------------------------------
    def _answer(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "answerCallbackQuery":
            chat_id = self._queries.pop(str(params.get("callback_query_id")), None)
            if chat_id is None:
                raise _Refused("Bad Request: query is too old or query ID is invalid")
            self._count(chat_id)
            return True
        if endpoint == "getMe":
            return BOT_USER
        if endpoint in ("setMyCommands", "deleteMyCommands", "deleteWebhook"):
            return True
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        if chat_id is not None:
            self._count(chat_id)
        view = self._chats.get(chat_id) if chat_id is not None else None
        if endpoint == "sendChatAction":  # "typing…" of a slow step: counted, like any call
            return True
        if endpoint == "sendMessage" and chat_id is not None:
            return self._send(chat_id, view, params)
        if endpoint in ("editMessageText", "editMessageReplyMarkup") and view is not None:
            return self._edit(view, params, text=endpoint == "editMessageText")
        if endpoint == "deleteMessage" and view is not None:
            message_id = int(params["message_id"])
            if view.bot_messages.pop(message_id, None) is None:
                if message_id not in view.user_messages:
                    raise _Refused("Bad Request: message to delete not found")
                view.user_messages.discard(message_id)
            return True
        raise _Refused(f"Bad Request: {endpoint} is not answered by the benchmark's fake")

    def _count(self, chat_id: int) -> None:
        view = self._chats.get(chat_id)
        if view is not None:
            view.calls += 1

    def _send(self, chat_id: int, view: ChatView | None, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text:
            raise _Refused("Bad Request: message text is empty")
        if view is None:
            return _message(chat_id, next(self._other_ids), text, params.get("reply_markup"))
        message_id = view.next_id
        view.next_id += 1
        view.bot_messages[message_id] = Shown(message_id, text, _buttons(params))
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "keyboard" in markup:
            view.contact_requested = any(
                button.get("request_contact") for row in markup["keyboard"] for button in row
            )
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            view.contact_requested = False
        return _message(chat_id, message_id, text, markup if _buttons(params) else None)

    def _edit(self, view: ChatView, params: dict[str, Any], *, text: bool) -> Any:
        shown = view.bot_messages.get(int(params["message_id"]))
        if shown is None:
            raise _Refused("Bad Request: message to edit not found")
        new_text = str(params.get("text", "")) if text else shown.text
        buttons = _buttons(params)
        if new_text == shown.text and buttons == shown.buttons:
            raise _Refused(NOT_MODIFIED)
        shown.text, shown.buttons = new_text, buttons
        markup = params.get("reply_markup") if buttons else None
        return _message(view.chat_id, shown.message_id, shown.text, markup)


def _message(chat_id: int, message_id: int, text: str, markup: object) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Patient"},
        "from": BOT_USER,
        "text": text,
    }
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    return message
