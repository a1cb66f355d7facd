"""Every transition, table-driven: each state of the machine x each kind of event."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from transitions.core import MachineError

from dialogs import conversation as conversation_module
from dialogs import machine as m
from dialogs.context import DialogContext
from dialogs.conversation import Conversation
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from tests.dialog_driver import to_state
from tests.fake_clinic import CODE, NOW, PERSONAL_NUMBER, PHONE, FakeClinic, services

STALE = Button("0:a1")
FORGED = Button("x" * 500)
FOREIGN = Contact(PHONE.lstrip("+"), own=False)
OWN = Contact(PHONE.lstrip("+"), own=True)

# (state, event, resulting state). A "valid" event is the one that moves the step forward.
TABLE: list[tuple[str, Event | str, str]] = []
for state in m.STATES:
    TABLE += [
        (state, Command("help"), state),
        (state, Command("language"), state),
        (state, Command("nonsense"), state),
        (state, Command("stop"), m.IDLE),
        (state, STALE, state),
        (state, FORGED, state),
        (state, Tick(), state),
        (state, Button("L:sv"), state),
    ]
TABLE += [
    (m.IDLE, Command("start"), m.IDENTIFY_CONTACT),
    (m.IDLE, Text("hello"), m.IDENTIFY_CONTACT),
    (m.IDLE, OWN, m.IDLE),
    (m.IDENTIFY_CONTACT, OWN, m.IDENTIFY_NUMBER),
    (m.IDENTIFY_CONTACT, FOREIGN, m.IDENTIFY_CONTACT),
    (m.IDENTIFY_CONTACT, Text(PHONE), m.IDENTIFY_CONTACT),
    (m.IDENTIFY_CONTACT, Command("start"), m.IDENTIFY_CONTACT),
    (m.IDENTIFY_NUMBER, Text(PERSONAL_NUMBER), m.CHOOSE),
    (m.IDENTIFY_NUMBER, Text("19121212-1213"), m.IDENTIFY_NUMBER),
    (m.IDENTIFY_NUMBER, Text("198112189876"), m.IDENTIFY_NUMBER),  # valid, not this patient
    (m.IDENTIFY_NUMBER, OWN, m.IDENTIFY_NUMBER),
    (m.IDENTIFY_NUMBER, Command("start"), m.IDENTIFY_CONTACT),
    (m.PICK_TEST_PATIENT, "Test Testsson", m.CHOOSE),
    (m.PICK_TEST_PATIENT, Text("hello"), m.PICK_TEST_PATIENT),
    (m.PICK_TEST_PATIENT, Command("start"), m.PICK_TEST_PATIENT),
    (m.CHOOSE, "2.", m.CONFIRM),
    (m.CHOOSE, "Cancel several", m.CHOOSE),
    (m.CHOOSE, Button("9:t"), m.CHOOSE),  # no switching outside sandbox chats (stale anyway)
    (m.CHOOSE, Text("2"), m.CONFIRM),
    (m.CHOOSE, Text("1"), m.CHOOSE),  # inside the deadline: not cancellable
    (m.CHOOSE, Text("banana"), m.CHOOSE),
    (m.CHOOSE, FOREIGN, m.CHOOSE),
    (m.CHOOSE, Command("start"), m.CHOOSE),
    (m.CONFIRM, "Yes, cancel", m.AWAITING_CODE),
    (m.CONFIRM, Text("yes"), m.AWAITING_CODE),
    (m.CONFIRM, "Add a reason", m.REASON),
    (m.CONFIRM, "No, keep it", m.CHOOSE),
    (m.CONFIRM, Text("no"), m.CHOOSE),
    (m.CONFIRM, Text("maybe"), m.CONFIRM),
    (m.CONFIRM, Command("start"), m.CHOOSE),
    (m.REASON, Text("I feel better"), m.CONFIRM),
    (m.REASON, "Skip", m.CONFIRM),
    (m.REASON, Text("x" * 600), m.REASON),
    (m.REASON, Command("start"), m.CHOOSE),
    (m.AWAITING_CODE, Text(f"my code is {CODE}"), m.OUTCOME),
    (m.AWAITING_CODE, Text("000000"), m.AWAITING_CODE),
    (m.AWAITING_CODE, Text("no digits here"), m.AWAITING_CODE),
    (m.AWAITING_CODE, "Send a new code", m.AWAITING_CODE),
    (m.AWAITING_CODE, "Don't cancel", m.OUTCOME),
    (m.AWAITING_CODE, OWN, m.AWAITING_CODE),
    (m.AWAITING_CODE, Command("start"), m.CHOOSE),
    (m.OUTCOME, "Cancel another", m.CHOOSE),
    (m.OUTCOME, Text("hi"), m.OUTCOME),
    (m.OUTCOME, Command("start"), m.CHOOSE),
]


def _id(row: tuple[str, Event | str, str]) -> str:
    state, event, _ = row
    shown = event if isinstance(event, str) else repr(event)[:40]
    return f"{state}-{shown}"


@pytest.mark.parametrize(("state", "event", "expected"), TABLE, ids=[_id(r) for r in TABLE])
async def test_transition(state: str, event: Event | str, expected: str) -> None:
    driver = await to_state(state)
    assert driver.state == state
    result = await driver.send(Button(driver.key(event)) if isinstance(event, str) else event)
    assert driver.state == expected
    if not isinstance(event, Tick):
        assert result.replies, "every input gets an answer"


async def test_every_state_is_reachable_and_every_trigger_is_exercised() -> None:
    fired: set[str] = set()
    original = Conversation.fire

    async def spy(self: Conversation, trigger: str) -> None:
        fired.add(trigger)
        await original(self, trigger)

    Conversation.fire = spy  # type: ignore[method-assign]
    try:
        for state, event, _ in TABLE:
            driver = await to_state(state)
            await driver.send(Button(driver.key(event)) if isinstance(event, str) else event)
    finally:
        Conversation.fire = original  # type: ignore[method-assign]
    assert fired == {t["trigger"] for t in m.TRANSITIONS}


async def test_a_move_the_machine_does_not_allow_raises() -> None:
    conversation = Conversation(
        state=m.IDLE, ctx=DialogContext(), services=services(FakeClinic()), now=NOW
    )
    m.MACHINE.add_model(conversation, initial=m.IDLE)
    try:
        with pytest.raises(MachineError):
            await conversation.fire("pick")
        assert conversation.state == m.IDLE
    finally:
        m.MACHINE.remove_model(conversation)


async def test_the_machine_tells_conversations_apart_even_when_alike_in_every_field() -> None:
    """Two chats mid-step at once are two models, whatever their fields hold. Compared by value,
    the second was taken for the first (no triggers bound to it), removing one could remove the
    other, and every step compared itself field by field with all the steps in flight."""
    shared = services(FakeClinic())
    first, second = (
        Conversation(state=m.IDLE, ctx=DialogContext(), services=shared, now=NOW) for _ in "ab"
    )
    m.MACHINE.add_model(first, initial=m.IDLE)
    m.MACHINE.add_model(second, initial=m.IDLE)
    try:
        assert len(m.MACHINE.models) == 2
        await second.fire("stop")
        assert second.state == m.IDLE
        m.MACHINE.remove_model(second)
        assert m.MACHINE.models == [first] and m.MACHINE.models[0] is first
    finally:
        for model in (first, second):
            if any(model is registered for registered in m.MACHINE.models):
                m.MACHINE.remove_model(model)


async def test_a_finished_step_frees_its_conversation_without_the_garbage_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The triggers bound for a step are unbound after it: no cycle through the model is left for
    the collector (which, for steps that waited on the clinic, ran after promoting them)."""
    made: list[weakref.ref[Conversation]] = []

    class Watched(Conversation):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    driver = await to_state(m.CHOOSE)
    monkeypatch.setattr(conversation_module, "Conversation", Watched)
    gc.disable()
    try:
        await driver.send(Command("help"))
        assert len(made) == 1 and made[0]() is None
    finally:
        gc.enable()
    assert driver.state == m.CHOOSE
