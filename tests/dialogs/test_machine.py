"""Every transition, table-driven: each state of the machine x each kind of event."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from dialogs import dialog as dialog_module
from dialogs import machine as m
from dialogs.clinic import ClinicRefused, ClinicUnavailable
from dialogs.context import DialogContext
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.steps import STEPS
from dialogs.turn import Turn
from tests.support.dialog_driver import Driver, to_state
from tests.support.fake_clinic import (
    CODE,
    NOW,
    PATIENT_ID,
    PERSONAL_NUMBER,
    PHONE,
    FakeClinic,
    services,
)

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
        (state, Command("forget"), m.FORGET),
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
    (m.FORGET, "Yes, erase it", m.IDLE),
    (m.FORGET, "No, keep it", m.IDLE),
    (m.FORGET, Text("yes"), m.FORGET),  # one confirm, by button only
    (m.FORGET, Command("start"), m.CHOOSE),
]


async def _linked_without_appointments() -> None:
    driver = Driver(clinic=FakeClinic(appointments=[]))
    driver.ctx.patient_id, driver.ctx.linked_at = PATIENT_ID, driver.now
    await driver.send(Command("start"))
    assert driver.state == m.OUTCOME


async def _identified_without_appointments() -> None:
    driver = await to_state(m.IDENTIFY_NUMBER)
    driver.clinic.appointments = []
    await driver.send(Text(PERSONAL_NUMBER))
    assert driver.state == m.OUTCOME


async def _test_patient_unreachable() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    driver.clinic.fail_next.append(ClinicUnavailable("ref-9"))
    await driver.press("Test Testsson")
    assert driver.state == m.OUTCOME


async def _switch_from_list_and_outcome() -> None:
    driver = await to_state(m.PICK_TEST_PATIENT)
    await driver.press("Test Testsson")
    await driver.press("another test patient")
    assert driver.state == m.PICK_TEST_PATIENT
    await driver.press("Test Testsson")
    await driver.press("2.")
    await driver.press("Yes, cancel")
    await driver.press("Don't cancel")
    await driver.press("another test patient")
    assert driver.state == m.PICK_TEST_PATIENT


async def _one_step_cancel() -> None:
    driver = await to_state(m.CONFIRM, two_step=False)
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME


async def _resume_a_waiting_code() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("start"))
    await driver.press("2.")
    assert driver.state == m.AWAITING_CODE


async def _retry_after_an_ehr_error(two_step: bool, expected: str) -> None:
    driver = await to_state(m.CONFIRM, two_step=two_step)
    driver.clinic.fail_next.append(ClinicRefused("ref-8", "EMR_ERROR"))
    await driver.press("Yes, cancel")
    assert driver.state == m.OUTCOME
    await driver.press("Try again")
    assert driver.state == expected


async def _retry_when_the_list_changed() -> None:
    driver = await to_state(m.CONFIRM)
    driver.clinic.fail_next.append(ClinicRefused("ref-8", "EMR_ERROR"))
    await driver.press("Yes, cancel")
    driver.ctx.appointments = []
    await driver.press("Try again")
    assert driver.state in (m.CHOOSE, m.OUTCOME)


SCENARIOS: list[Callable[[], Awaitable[None]]] = [
    _linked_without_appointments,
    _identified_without_appointments,
    _test_patient_unreachable,
    _switch_from_list_and_outcome,
    _one_step_cancel,
    _resume_a_waiting_code,
    partial(_retry_after_an_ehr_error, False, m.OUTCOME),
    partial(_retry_after_an_ehr_error, True, m.AWAITING_CODE),
    _retry_when_the_list_changed,
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


async def test_every_state_is_reachable_and_every_move_is_exercised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: set[tuple[str, str]] = set()
    original = m.check

    def spy(source: str, dest: str) -> None:
        original(source, dest)
        made.add((source, dest))

    monkeypatch.setattr(m, "check", spy)
    for state, event, _ in TABLE:
        driver = await to_state(state)
        await driver.send(Button(driver.key(event)) if isinstance(event, str) else event)
    for scenario in SCENARIOS:
        await scenario()
    listed = {(a, b) for a, b, _ in m.MOVES if a != m.ANY} | {
        (s, dest) for s in m.STATES for a, dest, _ in m.MOVES if a == m.ANY
    }
    assert listed - made == set()
    assert {s for _, s in made} == set(m.STATES)


async def test_a_move_the_table_does_not_list_raises() -> None:
    turn = Turn(
        state=m.CHOOSE,
        ctx=DialogContext(),
        services=services(FakeClinic()),
        now=NOW,
        steps=STEPS,
    )
    with pytest.raises(m.IllegalMove):
        turn.move(m.IDENTIFY_NUMBER)
    assert turn.state == m.CHOOSE
    turn.move(m.CONFIRM)
    assert turn.state == m.CONFIRM


def test_every_state_has_a_step_and_every_move_a_label() -> None:
    assert set(STEPS) == set(m.STATES)
    assert all(label.strip() for _, _, label in m.MOVES)
    assert len({(a, b) for a, b, _ in m.MOVES}) == len(m.MOVES)


async def test_a_finished_step_frees_its_turn_without_the_garbage_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step leaves no reference cycle behind: its turn is freed on the spot, not after the
    collector promoted it (steps that waited on the clinic lived through collections)."""
    made: list[weakref.ref[Turn]] = []

    class Watched(Turn):
        __slots__ = ("__weakref__",)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    driver = await to_state(m.CHOOSE)
    monkeypatch.setattr(dialog_module, "Turn", Watched)
    gc.disable()
    try:
        await driver.send(Command("help"))
        assert len(made) == 1 and made[0]() is None
    finally:
        gc.enable()
    assert driver.state == m.CHOOSE
