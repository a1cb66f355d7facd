"""The Telegram adapter with a scripted engine: ordering, rendering, errors, commands, config.

The real `telegram.ext.Application` runs against the respx fake Bot API; updates are Bot API JSON.
No wall-time sleeps: steps are held and released with asyncio.Event gates.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from telegram import CallbackQuery
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from bot.engine import Handled, Sender
from bot.settings import ConfigError, Settings
from bot.telegram.app import ALLOWED_UPDATES, api_urls
from bot.telegram.commands import register_commands
from bot.telegram.handlers import command_parts
from bot.telegram.limiter import RetryingRateLimiter
from bot.telegram.ordering import ChatOrderedProcessor, ChatTick
from bot.telegram.render import ButtonDataTooLong, fit, inline_keyboard, message_text, utf16_len
from bot.telegram.service import run, telegram_api_url, telegram_token
from bot.telegram.texts import SANDBOX_MARK
from dialogs.events import Event
from dialogs.replies import Option, Reply
from tests.fake_bot_api import ApiError, FakeBotApi
from tests.support.clock import Sleeps
from tests.support.telegram_harness import ScriptedEngine, echo, running

A, B, C = 101, 202, 303

# -- per-chat ordering ----------------------------------------------------------------------------


async def test_one_chat_in_order_while_other_chats_run() -> None:
    engine = ScriptedEngine()
    first = engine.gate("a1")
    async with running(engine) as h:
        await h.feed(h.api.user_text(A, "a1"))
        await h.feed(h.api.user_text(A, "a2"))
        await h.feed(h.api.user_text(B, "b1"))
        await asyncio.wait_for(engine.reached("a1").wait(), 5)
        await asyncio.wait_for(engine.reached("b1").wait(), 5)
        # chat B was handled while chat A's first update is still held; A's second waits
        await asyncio.wait_for(engine.done("b1").wait(), 5)
        assert "a2" not in engine.started
        assert h.processor.chats_in_flight == 1
        first.set()
        await h.drained()
    assert engine.started.index("a1") < engine.started.index("a2")
    assert engine.finished.index("a1") < engine.finished.index("a2")
    assert h.processor.chats_in_flight == 0  # per-chat bookkeeping dropped when idle


async def test_many_updates_of_one_chat_keep_their_order() -> None:
    engine = ScriptedEngine()
    hold = engine.gate("m0")
    async with running(engine) as h:
        for i in range(12):
            await h.feed(h.api.user_text(A, f"m{i}"))
            await h.feed(h.api.user_text(B, f"n{i}"))
        await asyncio.wait_for(engine.reached("m0").wait(), 5)
        hold.set()
        await h.drained()
    assert [n for n in engine.finished if n.startswith("m")] == [f"m{i}" for i in range(12)]
    assert [n for n in engine.finished if n.startswith("n")] == [f"n{i}" for i in range(12)]


async def test_global_bound_on_concurrent_updates() -> None:
    engine = ScriptedEngine()
    gates = [engine.gate(f"x{chat}") for chat in (A, B, C)]
    async with running(engine, concurrency=2) as h:
        for chat in (A, B, C):
            await h.feed(h.api.user_text(chat, f"x{chat}"))
        await asyncio.wait_for(engine.reached(f"x{A}").wait(), 5)
        await asyncio.wait_for(engine.reached(f"x{B}").wait(), 5)
        assert h.processor.working == 2
        assert f"x{C}" not in engine.started  # the third chat waits for a working slot
        gates[0].set()
        await asyncio.wait_for(engine.reached(f"x{C}").wait(), 5)
        for gate in gates:
            gate.set()
        await h.drained()
    assert h.processor.working == 0


async def test_bookkeeping_does_not_grow_with_chats_seen() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        for chat in range(1000, 1040):  # (the rate limiter allows 30 messages a second)
            await h.feed(h.api.user_text(chat, "hi"))
        await h.drained()
        assert len(engine.finished) == 40
        assert h.processor.chats_in_flight == 0


def test_processor_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="max_concurrent_updates"):
        ChatOrderedProcessor(0)
    with pytest.raises(ValueError, match="max_concurrent_updates"):
        ChatOrderedProcessor(10, max_held_updates=5)


async def test_button_is_answered_at_once_while_the_chat_is_busy() -> None:
    engine = ScriptedEngine()
    slow = engine.gate("slow")
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        buttons = h.api.last(A)
        await h.feed(h.api.user_text(A, "slow"))
        await asyncio.wait_for(engine.reached("slow").wait(), 5)
        press = h.api.user_press(A, buttons.message_id, "1:ok")
        await h.feed(press)
        query_id = press["callback_query"]["id"]
        await h.until(lambda: query_id in h.api.answered)
        assert "button:1:ok" not in engine.started  # answered before its step could even start
        slow.set()
        await h.drained()
    assert engine.finished == ["/start", "slow", "button:1:ok"]
    assert h.api.sent("answerCallbackQuery") == [{"callback_query_id": query_id}]


async def test_stop_awaits_a_button_answer_still_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """The early answer is the application's task: `Application.stop()` waits for it."""
    engine = ScriptedEngine()
    release = asyncio.Event()
    answered: list[str] = []

    async def slow_answer(query: CallbackQuery) -> None:
        await release.wait()
        answered.append(query.id)

    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        press = h.update(h.api.user_press(A, h.api.last(A).message_id, "1:ok"))
        assert press.callback_query is not None
        monkeypatch.setattr(h.adapter, "_answer", slow_answer)
        h.adapter.arrival(press)  # as the update processor does when the press arrives
        stopping = asyncio.create_task(h.app.stop())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not stopping.done()  # held by the answer
        release.set()
        await asyncio.wait_for(stopping, 5)
    assert answered == [press.callback_query.id]


# -- rendering ------------------------------------------------------------------------------------


def _menu(
    text: str,
    *keys: str,
    contact: str | None = None,
    asks_contact: bool = False,
    awaits_code: bool = False,
) -> Handled:
    options = tuple((Option(key, f"label {key}"),) for key in keys)
    reply = Reply(text, options=options, request_contact=contact)
    return Handled(replies=[reply], asks_contact=asks_contact, awaits_code=awaits_code)


async def test_button_press_edits_its_message_and_text_retires_old_buttons() -> None:
    steps = iter(
        [
            _menu("pick one", "1:a", "1:b"),
            _menu("sure?", "2:y"),
            Handled(
                replies=[
                    Reply("please use the buttons"),
                    Reply("sure?", ((Option("3:y", "Yes"),),)),
                ]
            ),
        ]
    )
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        menu = h.api.last(A)
        assert menu.buttons() == [("label 1:a", "1:a"), ("label 1:b", "1:b")]
        assert engine.ui[A] == menu.message_id

        await h.send(h.api.user_press(A, menu.message_id, "1:a"))
        assert h.api.last(A).message_id == menu.message_id  # edited, not a new message
        assert h.api.last(A).text == "sure?"
        assert len(h.api.bot_messages(A)) == 1
        assert engine.ui[A] == menu.message_id

        await h.send(h.api.user_text(A, "hmm"))
        messages = h.api.bot_messages(A)
        assert [m.text for m in messages] == ["sure?", "please use the buttons", "sure?"]
        assert messages[0].inline_keyboard is None  # retired
        assert messages[2].buttons() == [("Yes", "3:y")]
        assert engine.ui[A] == messages[2].message_id
    assert all("parse_mode" not in params for params in h.api.sent("sendMessage"))


async def test_stale_button_edits_the_old_message_and_retires_the_live_one() -> None:
    steps = iter(
        [
            _menu("first", "1:a"),
            _menu("second", "2:a"),
            _menu("That button is from an earlier message. Here is where we are now:", "3:a"),
        ]
    )
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        old = h.api.last(A)
        await h.send(h.api.user_text(A, "again"))
        live = h.api.last(A)
        assert old.inline_keyboard is None
        # Telegram still lets a patient tap an old message's button if the client shows it
        old.inline_keyboard = [[{"text": "label 1:a", "callback_data": "1:a"}]]
        await h.send(h.api.user_press(A, old.message_id, "1:a"))
        assert old.text is not None and old.text.startswith("That button is from an earlier")
        assert old.buttons() == [("label 3:a", "3:a")]
        assert live.inline_keyboard is None
        assert engine.ui[A] == old.message_id


async def test_unmodified_edit_and_missing_message_are_handled() -> None:
    engine = ScriptedEngine(script=lambda sender, event: _menu("same", "1:a"))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        menu = h.api.last(A)
        await h.send(h.api.user_press(A, menu.message_id, "1:a"))  # same text and buttons
        assert len(h.api.bot_messages(A)) == 1
        h.api.chats[A].messages[menu.message_id].deleted = True  # gone (e.g. deleted by user)
        h.api.chats[A].messages[menu.message_id].deleted = False
        press = h.api.user_press(A, menu.message_id, "1:a")
        h.api.chats[A].messages[menu.message_id].deleted = True
        await h.send(press)
        assert h.api.last(A).text == "same"  # sent anew when the pressed message is gone
        assert h.api.last(A).message_id != menu.message_id


async def test_contact_keyboard_shown_then_removed() -> None:
    steps = iter(
        [
            _menu("share your phone", contact="📱 Share", asks_contact=True),
            _menu("now type your number"),
        ]
    )
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        keyboard = h.api.chats[A].reply_keyboard
        assert keyboard is not None
        assert keyboard["keyboard"] == [[{"text": "📱 Share", "request_contact": True}]]
        assert keyboard["one_time_keyboard"] is True
        assert keyboard["resize_keyboard"] is True
        await h.send(h.api.user_contact(A, "+46701234567", contact_user_id=A))
        assert h.api.chats[A].reply_keyboard is None
        assert h.api.sent("sendMessage")[-1]["reply_markup"] == {"remove_keyboard": True}


async def test_delete_user_message_when_the_step_says_so() -> None:
    def step(sender: Sender, event: Event) -> Handled:
        return Handled(replies=[Reply("✅ Cancelled")], delete_user_message=True)

    engine = ScriptedEngine(script=step)
    async with running(engine) as h:
        typed = h.api.user_text(A, "my code is 123456")
        await h.send(typed)
        message_id = typed["message"]["message_id"]
        assert h.api.chats[A].messages[message_id].deleted
        assert h.api.sent("deleteMessage") == [{"chat_id": A, "message_id": message_id}]
        # already gone: the bot carries on
        again = h.api.user_text(A, "654321")
        h.api.chats[A].messages[again["message"]["message_id"]].deleted = True
        await h.send(again)
        assert h.api.last(A).text == "✅ Cancelled"


async def test_a_typed_code_is_answered_in_the_message_that_asked_for_it() -> None:
    """Two Bot API calls for the code: delete it, edit the question into the outcome. In
    sandbox chats the SMS note follows the question, so there the answer is a new message."""
    steps = iter(
        [
            _menu("type the code", "1:s", awaits_code=True),
            Handled(
                replies=[Reply("✅ Cancelled", ((Option("2:o", "Another"),),))],
                delete_user_message=True,
            ),
        ]
    )
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        question = h.api.last(A)
        calls = len(h.api.calls)
        typed = h.api.user_text(A, "123456")
        await h.send(typed)
        assert [c.method for c in h.api.calls[calls:]] == ["deleteMessage", "editMessageText"]
        assert h.api.chats[A].messages[typed["message"]["message_id"]].deleted
        assert [m.message_id for m in h.api.bot_messages(A)] == [question.message_id]
        assert question.text == "✅ Cancelled" and question.buttons() == [("Another", "2:o")]
        assert engine.ui[A] == question.message_id


async def test_replies_shown_in_place_need_no_second_write_and_come_again_harmlessly() -> None:
    """A step whose replies all replace the live message (a button press, a typed code) does
    not tell the engine they were sent: if its update comes again after a crash, the engine
    hands the same replies back, and showing them again adds no message."""
    pick = _menu("pick one", "1:a", "1:b")
    sure = _menu("sure?", "2:y")
    another = ((Option("3:o", "Cancel another"),),)
    code = Handled(replies=[Reply("✅ Cancelled", another)], delete_user_message=True)
    steps = iter([pick, sure, code])
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        menu = h.api.last(A)
        assert engine.deliveries == 1  # a new message: its id is written down
        press = h.api.user_press(A, menu.message_id, "1:a")
        await h.send(press)
        assert engine.deliveries == 1  # edited in place: nothing to write
        typed = h.api.user_text(A, "123456")
        await h.send(typed)
        assert engine.deliveries == 1
        assert [m.text for m in h.api.bot_messages(A)] == ["✅ Cancelled"]

        redelivered = iter(
            [
                Handled(replies=sure.replies, duplicate=True),
                Handled(replies=code.replies, delete_user_message=True, duplicate=True),
            ]
        )
        engine.script = lambda sender, event: next(redelivered)
        calls = len(h.api.calls)
        await h.send(press)
        await h.send(typed)
        assert "sendMessage" not in [c.method for c in h.api.calls[calls:]]
        assert [m.message_id for m in h.api.bot_messages(A)] == [menu.message_id]


async def test_the_wake_up_is_dropped_once_no_code_is_awaited() -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    steps = iter(
        [
            Handled(replies=[Reply("type the code")], wake_at=later, awaits_code=True),
            Handled(replies=[Reply("wrong, try again")], awaits_code=True),
            Handled(replies=[Reply("✅ Cancelled")]),
        ]
    )
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        scheduler = h.adapter.scheduler
        assert scheduler is not None
        await h.send(h.api.user_text(A, "yes"))
        assert len(scheduler) == 1
        await h.send(h.api.user_text(A, "111111"))
        assert len(scheduler) == 1  # still waiting for the code: its expiry still matters
        await h.send(h.api.user_text(A, "123456"))
        assert len(scheduler) == 0


async def test_duplicate_update_sends_nothing() -> None:
    engine = ScriptedEngine(script=lambda sender, event: Handled(duplicate=True))
    async with running(engine) as h:
        calls = len(h.api.calls)
        await h.send(h.api.user_text(A, "hello"))
        assert h.api.calls[calls:] == []


async def test_sandbox_chats_are_marked_and_others_not() -> None:
    def step(sender: Sender, event: Event) -> Handled:
        handled = echo(sender, event)
        handled.sandbox = sender.chat_id == A
        return handled

    async with running(ScriptedEngine(script=step, sandbox_chats={A})) as h:
        await h.send(h.api.user_text(A, "hi"))
        await h.send(h.api.user_text(B, "hi"))
    assert h.api.last(A).text == f"{SANDBOX_MARK}\necho hi"
    assert h.api.last(B).text == "echo hi"


# -- mapping updates to events --------------------------------------------------------------------


async def test_updates_become_dialog_events() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/START@cancel_test_bot now"))
        await h.send(h.api.user_text(A, "/whatever"))
        await h.send(h.api.user_text(A, "19121212-1212"))
        await h.send(h.api.user_contact(A, "+46701234567", contact_user_id=A))
        await h.send(h.api.user_contact(A, "+46709999999", contact_user_id=999))
        await h.send(h.api.user_contact(A, "+46709999999", contact_user_id=None))
        await h.send(h.api.user_sticker(A))
        await h.send(h.api.user_text(A, "x" * 5000))
        menu = h.api.last(A)
        await h.send(h.api.user_press(A, menu.message_id, "1:ok", language="sv"))
    assert [name for _, name, _ in engine.seen] == [
        "/start",
        "/whatever",
        "19121212-1212",
        "contact:own",
        "contact:foreign",
        "contact:foreign",
        "",
        "x" * 5000,
        "button:1:ok",
    ]
    assert engine.senders[-1] == Sender(chat_id=A, user_id=A, language_code="sv")
    update_ids = [update_id for _, _, update_id in engine.seen if update_id is not None]
    assert len(update_ids) == 9 and update_ids == sorted(update_ids)


async def test_groups_channels_and_edits_do_not_reach_the_dialog() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        await h.send(h.api.group_text(-500, A, "/start"))
        await h.send(h.api.group_text(-500, A, "hello all"))
        await h.send(h.api.channel_post(-600, "news"))
        await h.send(h.api.edited_text(A, 1, "changed"))
    assert engine.seen == []
    (reply,) = h.api.sent("sendMessage")
    assert reply["chat_id"] == -500
    assert "private chat" in reply["text"] and "@cancel_test_bot" in reply["text"]
    assert set(ALLOWED_UPDATES) == {"message", "callback_query"}


async def test_group_commands_for_other_bots_are_ignored() -> None:
    engine = ScriptedEngine()
    async with running(engine) as h:
        await h.send(h.api.group_text(-500, A, "/start@other_bot"))
        await h.send(h.api.group_text(-500, A, "/help@Cancel_Test_Bot"))
        await h.send(h.api.group_text(-500, A, "/help"))
    assert engine.seen == []
    assert [reply["chat_id"] for reply in h.api.sent("sendMessage")] == [-500, -500]


async def test_whoami_tells_any_private_chat_its_id() -> None:
    """How a support agent learns the id to list in SANDBOX_CHAT_IDS."""
    engine = ScriptedEngine(sandbox_chats={B})
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/whoami"))
        await h.send(h.api.user_text(B, "/whoami@cancel_test_bot", language="sv"))
    assert engine.seen == []  # not a dialog step
    assert str(A) in (h.api.last(A).text or "") and "SANDBOX_CHAT_IDS" in (h.api.last(A).text or "")
    assert not (h.api.last(A).text or "").startswith(SANDBOX_MARK)
    sandbox = h.api.last(B).text or ""
    assert sandbox.startswith(f"{SANDBOX_MARK}\n") and str(B) in sandbox and "chattens" in sandbox


def test_command_parts() -> None:
    assert command_parts("/sandbox_fail timeout") == ("sandbox_fail", ["timeout"])
    assert command_parts("/Start@Bot") == ("start", [])
    assert command_parts("/") is None
    assert command_parts("hello") is None


# -- wake-ups -------------------------------------------------------------------------------------


async def test_wake_at_delivers_a_tick_through_the_chat_line() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)

    def step(sender: Sender, event: Event) -> Handled:
        if isinstance(event, type(None)):
            raise AssertionError
        handled = echo(sender, event)
        handled.wake_at = past if sender.user_id == A and not engine.seen[1:] else None
        return handled

    engine = ScriptedEngine(script=step)
    async with running(engine) as h:
        await h.feed(h.api.user_text(A, "wait for it"))
        await asyncio.wait_for(engine.reached("tick").wait(), 5)
        await h.drained()
        assert engine.seen[-1][:2] == (A, "tick")
        assert engine.seen[-1][2] is None
        assert h.api.last(A).text == "echo tick"
        scheduler = h.adapter.scheduler
        assert scheduler is not None and len(scheduler) == 0
        scheduler.schedule(B, datetime.now(UTC) + timedelta(hours=1))
        scheduler.schedule(B, datetime.now(UTC) + timedelta(hours=2))
        assert len(scheduler) == 1  # one timer per chat: the newest replaces the older
    assert len(scheduler) == 0  # cancelled on shutdown
    assert ChatTick(A) == ChatTick(A)


# -- errors ---------------------------------------------------------------------------------------


async def test_error_handler_logs_without_personal_data_and_tells_the_patient(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = ScriptedEngine(
        fail_with=RuntimeError("leaked 191212121212 +46701234567"), sandbox_chats={B}
    )
    caplog.set_level(logging.INFO)
    async with running(engine) as h:
        update = h.api.user_text(A, "my number is 191212121212")
        await h.send(update)
        await h.send(h.api.user_text(B, "hello", language="sv"))
    apology = h.api.last(A).text or ""
    assert apology.startswith("Sorry, something went wrong") and "+46 8 123 456 00" in apology
    swedish = h.api.last(B).text or ""
    assert swedish.startswith(f"{SANDBOX_MARK}\nTyvärr")
    # httpx would log URLs (with the token): bot.logs holds it at WARNING in the service
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert f"update={update['update_id']}" in logged and f"chat={A}" in logged
    assert "RuntimeError" in logged
    for secret in ("191212121212", "+46701234567", "my number", h.api.token):
        assert secret not in logged
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("bot."))


async def test_error_handler_survives_an_unreachable_chat() -> None:
    engine = ScriptedEngine(fail_with=RuntimeError("boom"))
    async with running(engine) as h:
        h.api.fail_next("sendMessage", ApiError(403, "Forbidden: bot was blocked by the user"))
        await h.send(h.api.user_text(A, "hello"))
    assert h.api.bot_messages(A) == []


# -- rate limiter, commands -----------------------------------------------------------------------


async def test_rate_limiter_retries_flood_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def quick_sleep(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", quick_sleep)  # the limiter waits retry_after + 0.1
    engine = ScriptedEngine()
    async with running(engine) as h:
        limiter = h.app.bot.rate_limiter
        assert isinstance(limiter, AIORateLimiter)
        assert limiter._max_retries >= 1
        h.api.fail_next(
            "sendMessage",
            ApiError(429, "Too Many Requests: retry after 3", {"retry_after": 3}),
        )
        await h.send(h.api.user_text(A, "hi"))
    assert h.api.last(A).text == "echo hi"
    assert h.api.method_calls().count("sendMessage") == 2
    assert any(2.9 < delay < 4 for delay in slept)


async def test_commands_registered_per_language() -> None:
    api = FakeBotApi()
    async with running(ScriptedEngine(), api=api) as h:
        await register_commands(h.app.bot)
    assert set(api.commands) == {"en", "sv", ""}
    for language in ("en", "sv", ""):
        names = [c["command"] for c in api.commands[language]]
        assert names == ["start", "help", "stop", "language"]
    assert api.commands["sv"][0]["description"] != api.commands["en"][0]["description"]


# -- rendering units ------------------------------------------------------------------------------


def test_button_data_must_stay_under_64_bytes() -> None:
    assert inline_keyboard(((Option("x" * 63, "ok"),),)) is not None
    with pytest.raises(ButtonDataTooLong):
        inline_keyboard(((Option("x" * 64, "too long"),),))
    with pytest.raises(ButtonDataTooLong):
        inline_keyboard(((Option("å" * 32, "64 bytes"),),))
    assert inline_keyboard(()) is None


def test_texts_fit_telegram() -> None:
    assert fit("") == "…"
    long = "😀" * 3000
    assert utf16_len(fit(long)) <= 4096 and fit(long).endswith("…")
    assert message_text("hi", sandbox=True) == f"{SANDBOX_MARK}\nhi"
    assert message_text("hi", sandbox=False) == "hi"


# -- configuration --------------------------------------------------------------------------------


def test_telegram_settings_are_checked_with_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ConfigError, match=r"^missing setting TELEGRAM_BOT_TOKEN"):
        telegram_token(Settings(telegram_bot_token=None))
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_BOT_TOKEN"):
        telegram_token(Settings(telegram_bot_token=SecretStr("not a token")))
    assert telegram_token(Settings(telegram_bot_token=SecretStr(" 1:abc "))) == "1:abc"
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_API_URL"):
        telegram_api_url(Settings(telegram_api_url="api.telegram.org"))
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_API_URL"):
        telegram_api_url(Settings(telegram_api_url="http://localhost:8081/bot"))
    assert telegram_api_url(Settings(telegram_api_url="http://127.0.0.1:8081/")) == (
        "http://127.0.0.1:8081"
    )
    assert api_urls("http://127.0.0.1:8081") == (
        "http://127.0.0.1:8081/bot",
        "http://127.0.0.1:8081/file/bot",
    )
    assert run(Settings(telegram_bot_token=None)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: missing setting TELEGRAM_BOT_TOKEN")


# -- shutdown -------------------------------------------------------------------------------------


async def test_stop_drains_in_flight_and_queued_updates() -> None:
    """What SIGTERM does after polling stops: `Application.stop()` waits for every fetched update,
    the one at work and the ones queued behind it, to be handled."""
    engine = ScriptedEngine()
    held = engine.gate("held")
    async with running(engine) as h:
        await h.feed(h.api.user_text(A, "held"))
        await h.feed(h.api.user_text(A, "queued"))
        await h.feed(h.api.user_text(B, "other"))
        await asyncio.wait_for(engine.reached("held").wait(), 5)
        stopping = asyncio.create_task(h.app.stop())
        await asyncio.wait_for(engine.done("other").wait(), 5)
        assert not stopping.done()
        held.set()
        await asyncio.wait_for(stopping, 5)
        assert engine.finished.index("held") < engine.finished.index("queued")
        assert h.api.texts(A) == ["echo held", "echo queued"]


async def test_a_reply_survives_bot_api_5xx_and_network_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def quick_sleep(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", quick_sleep)
    engine = ScriptedEngine()
    async with running(engine) as h:
        limiter = h.app.bot.rate_limiter
        assert isinstance(limiter, RetryingRateLimiter)
        limiter._sleep = quick_sleep
        h.api.fail_next("sendMessage", ApiError(502, "Bad Gateway"))
        h.api.fail_next("sendMessage", ApiError(500, "Internal Server Error"))
        await h.send(h.api.user_text(A, "hi"))
        assert h.api.last(A).text == "echo hi"
        assert h.api.method_calls().count("sendMessage") == 3
        assert slept[:2] == [0.5, 1.0]


async def test_network_errors_are_retried_but_bad_requests_are_final() -> None:
    sleeps = Sleeps()
    limiter = RetryingRateLimiter(network_retries=2, sleep=sleeps)
    await limiter.initialize()
    calls: list[int] = []

    async def flaky(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise NetworkError("connection reset")
        return True

    assert await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert len(calls) == 3 and sleeps.delays == [0.5, 1.0]

    async def refused(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        raise BadRequest("message is not modified")

    with pytest.raises(BadRequest):
        await limiter.process_request(refused, (), {}, "editMessageText", {"chat_id": 1}, None)
    assert len(calls) == 4

    async def down(*args: object, **kwargs: object) -> bool:
        raise NetworkError("down")

    with pytest.raises(NetworkError):
        await limiter.process_request(down, (), {}, "sendMessage", {"chat_id": 1}, None)
    await limiter.shutdown()


async def test_nothing_is_kept_per_chat_once_its_updates_are_handled() -> None:
    """PTB notes every chat and user id for its persistence even when there is none; the
    service's application does not, so memory does not grow with the chats it has served."""
    engine = ScriptedEngine(script=lambda sender, event: Handled(replies=[Reply("hi")]))
    async with running(engine) as h:
        for chat in range(1000, 1050):
            await h.send(h.api.user_text(chat, "hello"))
        assert len(h.api.calls) >= 50
        assert h.app._chat_ids_to_be_updated_in_persistence == set()
        assert h.app._user_ids_to_be_updated_in_persistence == set()
