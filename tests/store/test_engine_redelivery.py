"""The engine across a crash, on SQLite and PostgreSQL: an update that comes again (the poller
confirms only handled ones) never has its effects twice, never cancels or confirms twice, and
gets the replies it had not sent yet.

A crash is `Crash`, a BaseException raised by the fake EHR right after its write landed, or
between saving a step and sending its replies; then a new Engine on the same database (a
restarted process) gets the same update again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from bot.engine import Engine, Handled, Sender
from bot.store import Store, open_store
from dialogs import machine as m
from dialogs.events import Button, Command, Contact, Event, Text
from tests.support.fake_clinic import CODE, NOW, PERSONAL_NUMBER, PHONE, FakeClinic, services

SENDER = Sender(chat_id=31, user_id=31, language_code="en")


class Crash(BaseException):
    """The process died here."""


@dataclass
class Chat:
    """One patient's chat through the real engine; `restart()` is a new process."""

    store: Store
    clinic: FakeClinic
    update_id: int = 100
    last: Handled | None = None

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.engine = Engine(
            self.store, lambda chat: services(self.clinic), lambda chat: False, clock=lambda: NOW
        )

    async def send(self, event: Event, *, again: bool = False) -> Handled:
        if not again:
            self.update_id += 1
        self.last = await self.engine.handle(
            SENDER, event, update_id=self.update_id, replayed=again
        )
        return self.last

    def key(self, label: str) -> str:
        assert self.last is not None
        options = [o for r in self.last.replies for row in r.options for o in row]
        return next(o.key for o in options if label in o.label)

    def text(self) -> str:
        assert self.last is not None
        return "\n".join(r.text for r in self.last.replies)

    async def state(self) -> str:
        snapshot = await self.store.load(SENDER.chat_id)
        assert snapshot is not None
        return snapshot.state


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="test-key")
    yield opened
    await opened.close()


async def at_confirm(store: Store, *, two_step: bool) -> Chat:
    chat = Chat(store, FakeClinic(two_step=two_step))
    await chat.send(Command("start"))
    await chat.send(Contact(PHONE.lstrip("+"), own=True))
    await chat.send(Text(PERSONAL_NUMBER))
    await chat.send(Button(chat.key("2.")))
    assert await chat.state() == m.CONFIRM
    return chat


@pytest.mark.parametrize("two_step", [False, True], ids=["one-step", "two-step"])
async def test_a_crash_after_the_cancel_landed_never_cancels_twice(
    store: Store, two_step: bool
) -> None:
    chat = await at_confirm(store, two_step=two_step)
    chat.clinic.fail_after_write.append(Crash())  # type: ignore[arg-type]
    yes = Button(chat.key("Yes"))
    with pytest.raises(Crash):
        await chat.send(yes)
    assert await chat.state() == m.CONFIRM  # the step was not saved
    chat.restart()
    handled = await chat.send(yes, again=True)
    cancels = [c for c in chat.clinic.calls if c.startswith("cancel:")]
    assert len(cancels) == 1, chat.clinic.calls
    assert chat.clinic.calls[-1] == "list"  # it read the EHR instead of writing again
    assert not handled.duplicate
    if two_step:
        assert await chat.state() == m.AWAITING_CODE
        await chat.send(Text(CODE))
    assert await chat.state() == m.OUTCOME
    assert "Cancelled" in chat.text()
    outcomes = [a.outcome for a in await store.audits(SENDER.chat_id)]
    assert outcomes.count("cancelled") == 1, outcomes


async def test_a_crash_after_the_code_was_confirmed_never_confirms_twice(store: Store) -> None:
    chat = await at_confirm(store, two_step=True)
    await chat.send(Button(chat.key("Yes")))
    assert await chat.state() == m.AWAITING_CODE
    chat.clinic.fail_after_write.append(Crash())  # type: ignore[arg-type]
    code = Text(f"code {CODE}")
    with pytest.raises(Crash):
        await chat.send(code)
    chat.restart()
    await chat.send(code, again=True)
    confirms = [c for c in chat.clinic.calls if c.startswith("confirm:")]
    assert len(confirms) == 1, chat.clinic.calls
    assert await chat.state() == m.OUTCOME
    assert "Cancelled" in chat.text()


async def test_a_crash_before_the_code_was_sent_confirms_it_after_the_restart(
    store: Store,
) -> None:
    chat = await at_confirm(store, two_step=True)
    await chat.send(Button(chat.key("Yes")))
    pending = dict(chat.clinic.pending)
    chat.clinic.fail_next.append(Crash())  # type: ignore[arg-type]
    code = Text(CODE)
    with pytest.raises(Crash):
        await chat.send(code)
    assert chat.clinic.pending == pending  # nothing reached the EHR
    chat.restart()
    await chat.send(code, again=True)
    assert await chat.state() == m.OUTCOME
    assert "Cancelled" in chat.text()
    # the first attempt died before reaching the EHR; the restart read, then confirmed once
    assert chat.clinic.calls[-2:] == ["list", chat.clinic.calls[-1]]
    assert chat.clinic.calls[-1].startswith("confirm:")


async def test_a_crash_after_a_resend_landed_never_sends_a_second_sms(store: Store) -> None:
    chat = await at_confirm(store, two_step=True)
    await chat.send(Button(chat.key("Yes")))
    chat.clinic.fail_after_write.append(Crash())  # type: ignore[arg-type]
    resend = Button(chat.key("Send a new code"))
    with pytest.raises(Crash):
        await chat.send(resend)
    chat.restart()
    await chat.send(resend, again=True)
    assert sum(c.startswith("cancel:") for c in chat.clinic.calls) == 2  # the first, one resend
    assert await chat.state() == m.AWAITING_CODE
    [new_id] = chat.clinic.pending
    await chat.send(Text(CODE))
    assert chat.clinic.calls[-1] == f"confirm:{new_id}"  # the code of the re-sent SMS
    assert await chat.state() == m.OUTCOME


async def test_replies_not_yet_sent_go_out_when_the_update_comes_again(store: Store) -> None:
    chat = Chat(store, FakeClinic())
    first = await chat.send(Command("start"))
    assert first.replies and not first.duplicate
    chat.restart()  # died after saving, before sending (delivered was never called)
    again = await chat.send(Command("start"), again=True)
    assert again.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert [r.request_contact for r in again.replies] == [r.request_contact for r in first.replies]
    assert chat.clinic.calls == []
    await chat.engine.delivered(SENDER.chat_id, None)
    once_more = await chat.send(Command("start"), again=True)
    assert once_more.duplicate and once_more.replies == []


async def test_an_update_comes_again_after_it_was_handled_has_no_effect(store: Store) -> None:
    chat = await at_confirm(store, two_step=False)
    yes = Button(chat.key("Yes"))
    await chat.send(yes)
    await chat.engine.delivered(SENDER.chat_id, None)
    calls = list(chat.clinic.calls)
    audits = len(await store.audits(SENDER.chat_id))
    again = await chat.send(yes, again=True)
    assert again.duplicate and again.replies == []
    assert chat.clinic.calls == calls
    assert len(await store.audits(SENDER.chat_id)) == audits


async def test_dialogs_waiting_for_a_code_are_woken_again_after_a_restart(store: Store) -> None:
    chat = await at_confirm(store, two_step=True)
    assert await chat.engine.wake_ups() == []
    handled = await chat.send(Button(chat.key("Yes")))
    assert handled.wake_at is not None
    chat.restart()
    assert await chat.engine.wake_ups() == [(SENDER.chat_id, handled.wake_at)]
    await chat.send(Text(CODE))
    assert await chat.engine.wake_ups() == []


@pytest.mark.parametrize("two_step", [False, True], ids=["one-step", "two-step"])
async def test_a_fresh_step_writes_once_and_cancels_without_reading_first(
    store: Store, two_step: bool
) -> None:
    """Only a replayed update carries the doubt of a crash: a fresh one stores its step in one
    transaction, with no mark stored before the EHR write and no read before it."""
    chat = await at_confirm(store, two_step=two_step)
    calls = len(chat.clinic.calls)
    commits: list[int] = []
    event.listen(store.engine.sync_engine, "commit", lambda _connection: commits.append(1))
    await chat.send(Button(chat.key("Yes")))
    assert len(commits) == 1
    assert [c.split(":")[0] for c in chat.clinic.calls[calls:]] == ["cancel"]  # no read first
    if two_step:
        commits.clear()
        await chat.send(Text(CODE))
        assert len(commits) == 1
        assert [c.split(":")[0] for c in chat.clinic.calls[calls + 1 :]] == ["confirm"]


class RefusedSave(Exception):
    """The database refused the step's save."""


async def test_a_step_that_failed_after_its_cancel_makes_the_next_one_read_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No crash: the cancel landed, then the save failed (the update counts as handled). The
    chat's next step reads the EHR before writing and never cancels twice."""
    chat = await at_confirm(store, two_step=False)
    yes = Button(chat.key("Yes"))
    save = store.save

    async def refused(*args: object, **kwargs: object) -> object:
        monkeypatch.setattr(store, "save", save)  # once
        raise RefusedSave

    monkeypatch.setattr(store, "save", refused)
    with pytest.raises(RefusedSave):
        await chat.send(yes)
    assert await chat.state() == m.CONFIRM
    calls = len(chat.clinic.calls)
    await chat.send(yes)  # the patient presses again
    assert chat.clinic.calls[calls:] == ["list"]  # read, found cancelled, no second cancel
    assert await chat.state() == m.OUTCOME
    assert "Cancelled" in chat.text()
    calls = len(chat.clinic.calls)
    await chat.send(Command("start"))  # the other appointment, as a fresh step
    await chat.send(Button(chat.key("2.")))
    await chat.send(Button(chat.key("Yes")))
    # the doubt is gone: the list was read to show it, the cancel went out without a re-read
    assert [c.split(":")[0] for c in chat.clinic.calls[calls:]] == ["list", "cancel"]
