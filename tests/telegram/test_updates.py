"""What reaches the dialog from Telegram, with a scripted engine: updates become dialog events,
groups, channels and edits do not, /whoami answers any private chat, commands are registered per
language, and wake-ups come back as ticks through the chat's line.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.bench.fake_bot_api import FakeBotApi
from bot.engine import Handled, Sender
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.commands import register_commands
from bot.telegram.ordering import ChatTick
from bot.telegram.texts import SANDBOX_MARK
from dialogs.events import Event
from dialogs.parsing import command_parts
from dialogs.replies import Reply
from tests.support.telegram_harness import ScriptedEngine, echo, running

A, B = 101, 202


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


async def test_the_engine_is_told_which_updates_are_replayed() -> None:
    """The poller says which updates came again from the inbox after a crash; the adapter
    passes that on, and nothing else is taken for a replay."""
    engine = ScriptedEngine()
    async with running(engine) as h:
        first = h.api.user_text(A, "/start")
        h.adapter.replayed = lambda update_id: update_id == first["update_id"]
        await h.send(first)
        await h.send(h.api.user_text(A, "/start"))
        menu = h.api.last(A)
        await h.send(h.api.user_press(A, menu.message_id, "1:ok"))
    assert engine.replays == [first["update_id"]]
    assert len(engine.seen) == 3


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


async def test_commands_registered_per_language() -> None:
    api = FakeBotApi()
    async with running(ScriptedEngine(), api=api) as h:
        await register_commands(h.app.bot)
    assert set(api.commands) == {"en", "sv", "nb", "no", "nn", "da", "fi", ""}
    for language in api.commands:
        names = [c["command"] for c in api.commands[language]]
        assert names == ["start", "help", "stop", "language", "forget"]
    described = {language: api.commands[language][0]["description"] for language in api.commands}
    assert len({described[language] for language in ("en", "sv", "nb", "da", "fi")}) == 5
    assert described["no"] == described["nn"] == described["nb"]
    assert described[""] == described["en"]


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
