"""A fake Telegram Bot API, shared by the tests and the benchmark: one model of chats and
messages, served two ways.

* `mount(router, api)`: respx routes (https://api.telegram.org/bot<token>/<method>) for tests
  that run the real `telegram.ext.Application` in-process.
* `FakeBotServer`: a Starlette app for uvicorn on loopback, with long-polling getUpdates and
  offset semantics, for the end-to-end tests that run `python -m bot run` as a subprocess and
  for the benchmark (in a process of its own, with a configurable round-trip time).

`FakeBotApi` answers the Bot API methods the bot uses with realistic JSON, keeps each chat's
messages as the patient would see them (texts, inline keyboards, deletions, the reply keyboard),
makes the patient's updates (text, contact, button presses), and records every call (or, for
the benchmark, `record=False`, only counts them). `forget(chat)` drops a finished chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.bench.loopback import serving

TOKEN = "7000001:AAtest-token_for_the_fake_bot_api"  # noqa: S105 - the fake accepts only this
BOT_ID = 7000001
BOT_USERNAME = "cancel_test_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Cancel Bot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
# Parameters PTB sends JSON-encoded (strings such as `text` are sent as they are).
JSON_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "offset",
        "limit",
        "timeout",
        "show_alert",
        "cache_time",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "message_ids",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class ChatMessage:
    """A message in a chat, as the patient sees it."""

    message_id: int
    from_bot: bool
    text: str | None
    inline_keyboard: list[list[dict[str, Any]]] | None = None
    deleted: bool = False
    edits: int = 0

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of its inline buttons, row by row."""
        return [
            (b["text"], b.get("callback_data", ""))
            for row in self.inline_keyboard or []
            for b in row
        ]


@dataclass
class Chat:
    chat_id: int
    type: str = "private"
    title: str | None = None
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    reply_keyboard: dict[str, Any] | None = None  # the contact keyboard while it is shown
    next_id: int = 1
    calls: int = 0
    """Bot API calls for this chat (answerCallbackQuery included)."""
    replies: list[float] = field(default_factory=list)
    """When each sendMessage or editMessageText for this chat was answered (monotonic)."""

    def live(self) -> ChatMessage | None:
        """The newest bot message with inline buttons."""
        for message in reversed(self.messages.values()):
            if message.from_bot and not message.deleted and message.inline_keyboard:
                return message
        return None

    def newest(self) -> ChatMessage | None:
        """The newest bot message still shown."""
        for message in reversed(self.messages.values()):
            if message.from_bot and not message.deleted:
                return message
        return None

    def as_json(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.chat_id, "type": "private", "first_name": "Patient"}
        return {"id": self.chat_id, "type": self.type, "title": self.title or "A group"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def parse_form(body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        params[key] = json.loads(value) if key in JSON_PARAMS else value
    return params


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    return parse_form(body)


class FakeBotApi:
    def __init__(self, token: str = TOKEN, *, record: bool = True) -> None:
        """`record=False`: count calls (`counts`) without keeping them (the benchmark)."""
        self.token = token
        self.record = record
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self.answered_at: dict[str, float] = {}
        """When each answered button press was answered (monotonic), until `forget`."""
        self.handed_at: dict[str, float] = {}
        """When getUpdates (or `take`) first handed each button press out (monotonic), until
        `forget`."""
        self.straight = False
        """New updates wait for `take` (the benchmark puts them straight on the bot's queue),
        not for getUpdates."""
        self._straight: list[dict[str, Any]] = []
        self._query_chats: dict[str, int] = {}
        self._watchers: dict[int, asyncio.Event] = {}
        self.chats: dict[int, Chat] = {}
        self.forgotten: set[int] = set()
        """Chats `forget` dropped: Telegram still has their messages, the fake no longer does."""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, list[ApiError]] = {}
        self.answered: set[str] = set()
        self._open_queries: set[str] = set()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(5000)
        self._query_ids = itertools.count(9000)
        self.confirmed_offset = 0
        self._highest_id = 0
        self.returned: Counter[int] = Counter()
        """How often getUpdates returned each update."""
        self.listeners: list[Callable[[], None]] = []  # told after every call and update
        self.update_listeners: list[Callable[[], None]] = []  # told when an update is queued
        self.webhook_deleted = 0
        self.holds: dict[str, asyncio.Event] = {}
        """Methods whose calls wait for their event before they are answered (`mount` only)."""

    # -- patient side: the updates Telegram would deliver ----------------------------------------
    def watch(self, chat_id: int) -> asyncio.Event:
        """An event set whenever a Bot API call touches `chat_id` (clear it before waiting)."""
        event = self._watchers.get(chat_id)
        if event is None:
            event = self._watchers[chat_id] = asyncio.Event()
        return event

    def forget(self, chat_id: int) -> None:
        """Drop everything kept for a finished chat (a deletion arriving after the patient
        left is then answered as Telegram would: the message is still there)."""
        self.chats.pop(chat_id, None)
        self.forgotten.add(chat_id)
        self._watchers.pop(chat_id, None)
        for query_id in [q for q, chat in self._query_chats.items() if chat == chat_id]:
            del self._query_chats[query_id]
            self._open_queries.discard(query_id)
            self.answered_at.pop(query_id, None)
            self.handed_at.pop(query_id, None)

    def next_update_ids(self, first: int) -> None:
        """Number the following updates from `first` on, as Telegram may after a quiet week
        (its ids then go backwards)."""
        self._update_ids = itertools.count(first)

    def chat(self, chat_id: int, *, type: str = "private") -> Chat:
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id, type=type)
            self.forgotten.discard(chat_id)
        return self.chats[chat_id]

    def _user(self, user_id: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Patient"}
        if language:
            user["language_code"] = language
        return user

    def _new_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self._highest_id = update["update_id"]
        (self._straight if self.straight else self._updates).append(update)
        for listener in list(self.update_listeners):
            listener()
        self._changed()
        return update

    def _user_message(
        self, chat_id: int, user_id: int | None, language: str | None, **content: Any
    ) -> dict[str, Any]:
        chat = self.chat(chat_id)
        message_id = chat.next_id
        chat.next_id += 1
        chat.messages[message_id] = ChatMessage(message_id, False, content.get("text"))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.as_json(),
            **content,
        }
        if user_id is not None:
            message["from"] = self._user(user_id, language)
        return self._new_update({"message": message})

    def user_text(
        self, chat_id: int, text: str, *, user_id: int | None = None, language: str | None = "en"
    ) -> dict[str, Any]:
        """The patient types `text` (commands get their bot_command entity, as Telegram does)."""
        content: dict[str, Any] = {"text": text}
        match = re.match(r"/[A-Za-z0-9_@]+", text)
        if match:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": match.end()}]
        return self._user_message(
            chat_id, chat_id if user_id is None else user_id, language, **content
        )

    def user_contact(
        self,
        chat_id: int,
        phone: str,
        *,
        contact_user_id: int | None,
        language: str | None = "en",
    ) -> dict[str, Any]:
        """The patient shares a contact: their own (contact_user_id == chat_id) or another's."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": "Someone"}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(chat_id, chat_id, language, contact=contact)

    def user_sticker(self, chat_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxk",
            "file_unique_id": "AgAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._user_message(chat_id, chat_id, "en", sticker=sticker)

    def channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "channel", "title": "News"}
        post = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": text}
        return self._new_update({"channel_post": post})

    def edited_text(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": self.chat(chat_id).as_json(),
            "from": self._user(chat_id, "en"),
            "text": text,
        }
        return self._new_update({"edited_message": message})

    def group_text(self, group_id: int, user_id: int, text: str) -> dict[str, Any]:
        self.chat(group_id, type="group")
        content: dict[str, Any] = {"text": text}
        match = re.match(r"/[A-Za-z0-9_@]+", text)
        if match:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": match.end()}]
        return self._user_message(group_id, user_id, "en", **content)

    def user_press(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language: str | None = "en",
    ) -> dict[str, Any]:
        """The patient taps a button on `message_id` (whatever it shows now, like Telegram)."""
        chat = self.chat(chat_id)
        shown = chat.messages[message_id]
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        self._query_chats[query_id] = chat_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": BOT_USER,
            "text": shown.text or "",
        }
        if shown.inline_keyboard:
            message["reply_markup"] = {"inline_keyboard": shown.inline_keyboard}
        query = {
            "id": query_id,
            "from": self._user(chat_id if user_id is None else user_id, language),
            "chat_instance": f"ci-{chat_id}",
            "message": message,
            "data": data,
        }
        return self._new_update({"callback_query": query})

    def press(self, chat_id: int, label_part: str) -> dict[str, Any]:
        """Tap the newest visible button whose label contains `label_part`."""
        for message in reversed(self.bot_messages(chat_id)):
            for label, data in message.buttons():
                if label_part in label:
                    return self.user_press(chat_id, message.message_id, data)
        raise AssertionError(f"no button with {label_part!r} in chat {chat_id}")

    # -- views -----------------------------------------------------------------------------------
    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.from_bot and not m.deleted]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.bot_messages(chat_id)]

    def last(self, chat_id: int) -> ChatMessage:
        messages = self.bot_messages(chat_id)
        assert messages, f"the bot sent nothing to chat {chat_id}"
        return messages[-1]

    def with_buttons(self, chat_id: int) -> list[ChatMessage]:
        return [m for m in self.bot_messages(chat_id) if m.inline_keyboard]

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def method_calls(self) -> list[str]:
        return [c.method for c in self.calls]

    def fail_next(self, method: str, error: ApiError) -> None:
        self.failures.setdefault(method, []).append(error)

    def pending_updates(self) -> int:
        return len(self._updates)

    def take(self) -> list[dict[str, Any]]:
        """The updates made while `straight`, each handed out once."""
        taken, self._straight = self._straight, []
        self._hand_out(taken)
        return taken

    def _hand_out(self, updates: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for update in updates:
            self.returned[update["update_id"]] += 1
            query = update.get("callback_query")
            if query is not None and not self.record:
                self.handed_at.setdefault(str(query["id"]), now)

    def unconfirmed(self) -> set[int]:
        """The ids of the updates the bot has not confirmed yet (getUpdates returns them)."""
        return {u["update_id"] for u in self._updates}

    # -- the API ---------------------------------------------------------------------------------
    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def respond(
        self, token: str, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one Bot API call."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if self.record:
            self.calls.append(Call(method, params))
        self.counts[method] += 1
        chat_id = self._chat_of(method, params)
        try:
            queued = self.failures.get(method)
            if queued:
                raise queued.pop(0)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            return error.status, body
        finally:
            if chat_id is not None:
                self._touched(chat_id, method)
            self._changed()
        return 200, {"ok": True, "result": result}

    def _chat_of(self, method: str, params: dict[str, Any]) -> int | None:
        if method == "answerCallbackQuery":
            return self._query_chats.get(str(params.get("callback_query_id")))
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            return None

    def _touched(self, chat_id: int, method: str) -> None:
        chat = self.chats.get(chat_id)
        if chat is not None:
            chat.calls += 1
            if method in ("sendMessage", "editMessageText"):
                chat.replies.append(time.monotonic())
        watcher = self._watchers.get(chat_id)
        if watcher is not None:
            watcher.set()

    def _message_json(self, chat: Chat, message: ChatMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "from": BOT_USER,
            "chat": chat.as_json(),
            "date": int(time.time()),
            "text": message.text,
        }
        if message.edits:
            body["edit_date"] = int(time.time())
        if message.inline_keyboard:
            body["reply_markup"] = {"inline_keyboard": message.inline_keyboard}
        return body

    def _target(self, params: dict[str, Any], what: str) -> tuple[Chat, ChatMessage]:
        chat = self.chats.get(int(params["chat_id"]))
        message = chat.messages.get(int(params["message_id"])) if chat else None
        if chat is None or message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return chat, message

    @staticmethod
    def _inline(params: dict[str, Any]) -> list[list[dict[str, Any]]] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            keyboard: list[list[dict[str, Any]]] = markup["inline_keyboard"]
            for row in keyboard:
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            return keyboard or None
        return None

    def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat = self.chat(int(params["chat_id"]))
        text = params.get("text", "")
        if not text or len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message text is empty or too long")
        if "parse_mode" in params:
            raise ApiError(400, "Bad Request: the bot sends plain text only (test expectation)")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        message = ChatMessage(chat.next_id, True, text, self._inline(params))
        chat.messages[message.message_id] = message
        chat.next_id += 1
        return self._message_json(chat, message)

    def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        chat, message = self._target(params, "edit")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        keyboard = self._inline(params)
        if message.text == params.get("text") and message.inline_keyboard == keyboard:
            raise ApiError(400, NOT_MODIFIED)
        message.text = params.get("text")
        message.inline_keyboard = keyboard
        message.edits += 1
        return self._message_json(chat, message)

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        chat, message = self._target(params, "edit")
        keyboard = self._inline(params)
        if message.inline_keyboard == keyboard:
            raise ApiError(400, NOT_MODIFIED)
        message.inline_keyboard = keyboard
        message.edits += 1
        return self._message_json(chat, message)

    def _m_deletemessage(self, params: dict[str, Any]) -> Any:
        if int(params["chat_id"]) in self.forgotten:
            return True
        _, message = self._target(params, "delete")
        message.deleted = True
        return True

    def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params["callback_query_id"])
        if query_id not in self._open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.discard(query_id)
        if self.record:
            self.answered.add(query_id)
        else:
            self.answered_at[query_id] = time.monotonic()
        return True

    def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands[params.get("language_code", "")] = list(params["commands"])
        return True

    def _m_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(params.get("language_code", ""), [])

    def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_deleted += 1
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _m_getupdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        if offset and offset <= self._highest_id + 1:
            # An offset above every id given out refers to an earlier sequence (the ids went
            # backwards, see `next_update_ids`): it confirms none of the current one.
            self.confirmed_offset = offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates") or None
        limit = int(params.get("limit") or 100)
        ready = [u for u in self._updates if allowed is None or any(k in u for k in allowed)]
        self._hand_out(ready[:limit])
        return ready[:limit]

    def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        self.chat(int(params["chat_id"]))
        if params.get("action") != "typing":
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    def _m_logout(self, params: dict[str, Any]) -> Any:
        return True


def mount(router: Any, api: FakeBotApi, base_url: str = "https://api.telegram.org") -> None:
    """Route every Bot API call under `base_url` (a respx router) to `api`."""
    pattern = rf"^{re.escape(base_url)}/bot(?P<token>[^/]+)/(?P<method>\w+)$"

    async def answer(request: httpx.Request, token: str, method: str) -> httpx.Response:
        hold = api.holds.get(method)
        if hold is not None:
            await hold.wait()
        params = parse_body(request.headers.get("content-type", ""), request.content)
        status, body = api.respond(token, method, params)
        return httpx.Response(status, json=body)

    router.route(url__regex=pattern).mock(side_effect=answer)


class FakeBotServer:
    """`FakeBotApi` over HTTP, with getUpdates long polling (waits up to `timeout` seconds for
    an update; confirms everything below `offset`). Run it with uvicorn in the test's loop."""

    def __init__(self, api: FakeBotApi, *, round_trip: float = 0.0) -> None:
        """`round_trip`: seconds every call takes on the network, half each way."""
        self.api = api
        self.round_trip = round_trip
        self._wakeup = asyncio.Event()
        self._closing = False
        api.update_listeners.append(self._wakeup.set)
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    async def _endpoint(self, request: Request) -> JSONResponse:
        token = request.path_params["token"]
        method = request.path_params["method"]
        params = parse_body(request.headers.get("content-type", ""), await request.body())
        params.update(
            {k: json.loads(v) if k in JSON_PARAMS else v for k, v in request.query_params.items()}
        )
        if self.round_trip:
            await asyncio.sleep(self.round_trip / 2)
            answer = await self._answer(token, method, params)
            await asyncio.sleep(self.round_trip / 2)
            return answer
        return await self._answer(token, method, params)

    async def _answer(self, token: str, method: str, params: dict[str, Any]) -> JSONResponse:
        if method.lower() == "getupdates":
            deadline = time.monotonic() + float(params.get("timeout") or 0)
            while True:
                self._wakeup.clear()
                status, body = self.api.respond(token, method, params)
                left = deadline - time.monotonic()
                if status != 200 or body["result"] or left <= 0 or self._closing:
                    return JSONResponse(body, status_code=status)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=left)
        status, body = self.api.respond(token, method, params)
        return JSONResponse(body, status_code=status)

    def close(self) -> None:
        """Let open long polls return now (before the server shuts down)."""
        self._closing = True
        self._wakeup.set()

    async def wait_for(self, condition: Callable[[], Any], within: float = 20.0) -> Any:
        """Wait (without sleeping blindly) until `condition()` is truthy; its value."""
        deadline = time.monotonic() + within
        changed = asyncio.Event()
        self.api.listeners.append(changed.set)
        try:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the bot")
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=left)
        finally:
            self.api.listeners.remove(changed.set)


@contextlib.asynccontextmanager
async def fake_bot_api_server() -> AsyncIterator[tuple[FakeBotServer, str]]:
    """A `FakeBotServer` on a free loopback port: (server, its base URL)."""
    server = FakeBotServer(FakeBotApi())
    async with serving(server.app, before_exit=server.close) as url:
        yield server, url
