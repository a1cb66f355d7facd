"""How the Telegram adapter shows a step, with a scripted engine: edits in place, retired buttons,
the contact keyboard, deleted messages, the sandbox mark, and what fits Telegram's limits. The real
`telegram.ext.Application` runs against the respx fake Bot API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.bench.fake_bot_api import ApiError
from bot.engine import Handled, Sender
from bot.telegram.render import ButtonDataTooLong, fit, inline_keyboard, message_text, utf16_len
from bot.telegram.texts import SANDBOX_MARK
from dialogs.events import Event
from dialogs.replies import Option, Reply
from tests.support.telegram_harness import ScriptedEngine, echo, running

A, B = 101, 202


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


def _code_steps() -> Iterator[Handled]:
    return iter(
        [
            _menu("type the code", "1:s", awaits_code=True),
            Handled(
                replies=[Reply("✅ Cancelled", ((Option("2:o", "Another"),),))],
                delete_user_message=True,
            ),
        ]
    )


async def test_a_typed_code_is_answered_in_the_message_that_asked_for_it() -> None:
    """Two Bot API calls for the code: delete it, edit the question into the outcome. In
    sandbox chats the SMS note follows the question, so there the answer is a new message."""
    steps = _code_steps()
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        question = h.api.last(A)
        calls = len(h.api.calls)
        typed = h.api.user_text(A, "123456")
        await h.send(typed)
        assert sorted(c.method for c in h.api.calls[calls:]) == ["deleteMessage", "editMessageText"]
        assert h.api.chats[A].messages[typed["message"]["message_id"]].deleted
        assert [m.message_id for m in h.api.bot_messages(A)] == [question.message_id]
        assert question.text == "✅ Cancelled" and question.buttons() == [("Another", "2:o")]
        assert engine.ui[A] == question.message_id


async def test_the_answer_does_not_wait_for_the_deletion() -> None:
    """The deletion and the answer go out together: the patient sees the outcome one Telegram
    round trip sooner."""
    steps = _code_steps()
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        question = h.api.last(A)
        deletion = h.api.holds["deleteMessage"] = asyncio.Event()
        typed = h.api.user_text(A, "123456")
        step = asyncio.create_task(h.send(typed))
        await h.until(lambda: question.text == "✅ Cancelled")
        assert not h.api.chats[A].messages[typed["message"]["message_id"]].deleted
        deletion.set()
        await step
        assert h.api.chats[A].messages[typed["message"]["message_id"]].deleted


@pytest.mark.parametrize(
    "failure",
    [ApiError(400, "Bad Request: message can't be deleted"), ApiError(404, "Not Found")],
)
async def test_a_message_that_cannot_be_deleted_still_gets_its_answer_in_place(
    failure: ApiError,
) -> None:
    """Nothing else waits on the deletion: its failure is logged, and the step's answer shown
    as if it had worked (not "your answer could not be shown")."""
    steps = _code_steps()
    engine = ScriptedEngine(script=lambda sender, event: next(steps))
    async with running(engine) as h:
        await h.send(h.api.user_text(A, "/start"))
        question = h.api.last(A)
        h.api.fail_next("deleteMessage", failure)
        typed = h.api.user_text(A, "123456")
        await h.send(typed)
        assert not h.api.chats[A].messages[typed["message"]["message_id"]].deleted
        assert [m.text for m in h.api.bot_messages(A)] == ["✅ Cancelled"]
        assert question.text == "✅ Cancelled"


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
