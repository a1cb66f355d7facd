"""Per-chat admission: a flooding chat gets its burst, then one "one moment" and nothing more
until it slows down; repeated /start waiting behind a /start are skipped; other chats are never
touched; chats with nothing in flight and a full bucket are forgotten."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.telegram.admission import SWEEP_EVERY, Admission


def _update(chat: int, text: str, update_id: int = 1) -> Update:
    payload: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "P", "language_code": "sv"},
            "text": text,
        },
    }
    return Update.de_json(payload, None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flooding_chat_gets_its_burst_then_one_moment_once_and_other_chats_pass() -> None:
    told: list[tuple[int, str | None]] = []
    clock = Clock()
    admission = Admission(lambda chat, language: told.append((chat, language)), clock=clock)
    admitted = [admission.admit(_update(1, f"text {i}", i)) for i in range(25)]
    assert admitted == [True] * 10 + [False] * 15
    assert told == [(1, "sv")]  # once, in the patient's language
    assert admission.admit(_update(2, "hello"))  # another chat is not held
    clock.now += 3.0  # three tokens back
    assert [admission.admit(_update(1, "again")) for _ in range(4)] == [True] * 3 + [False]
    assert told == [(1, "sv"), (1, "sv")]  # a new flood, told again


def test_a_start_waiting_behind_a_start_is_skipped() -> None:
    admission = Admission(lambda chat, language: None)
    first = _update(1, "/start")
    assert admission.admit(first)
    assert not admission.admit(_update(1, "/start"))
    assert not admission.admit(_update(1, "/start@cancel_bot"))
    admission.finished(first)
    assert admission.admit(_update(1, "/start"))  # the first was answered: this one is new
    assert admission.admit(_update(1, "19121212-1212"))
    assert admission.admit(_update(1, "/start"))  # not right behind a /start


def test_quiet_chats_are_forgotten() -> None:
    clock = Clock()
    admission = Admission(lambda chat, language: None, clock=clock)
    for chat in range(SWEEP_EVERY - 1):
        update = _update(chat, "hi")
        assert admission.admit(update)
        admission.finished(update)
    clock.now += 60.0
    assert admission.admit(_update(-1, "hi"))  # the sweep runs
    assert admission.chats == 1
