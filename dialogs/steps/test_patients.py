"""Sandbox chats only: the agent picks a test patient instead of proving an identity, and may
switch to another from the list or the outcome."""

from __future__ import annotations

from dialogs import machine
from dialogs.clinic import ClinicError, NotSupported
from dialogs.parsing import index
from dialogs.steps.identify import link
from dialogs.turn import Step, Turn, read_failure


async def _offer(turn: Turn) -> None:
    assert turn.services.directory is not None
    patients = await turn.services.directory.test_patients(turn.ctx.language)
    if turn.state != machine.PICK_TEST_PATIENT:
        turn.move(machine.PICK_TEST_PATIENT)
    turn.say("pick_test_patient")
    turn.menu([[(f"p{i}", p.label)] for i, p in enumerate(patients)])


async def switch(turn: Turn) -> bool:
    """The agent acts as another test patient (the "switch" button of the list and outcome)."""
    if turn.services.directory is None:
        return False
    turn.ctx.patient_id, turn.ctx.results, turn.ctx.note = None, [], None
    await _offer(turn)
    return True


async def _button(turn: Turn, code: str) -> bool:
    if turn.services.directory is None or not code.startswith("p"):
        return False
    patients = await turn.services.directory.test_patients(turn.ctx.language)
    chosen = index(code[1:], len(patients))
    if chosen is None:
        return False
    try:
        record = await turn.services.clinic.find_patient(patients[chosen].personal_number)
    except NotSupported as error:  # as for a patient: no retry helps, the clinic's phone does
        await turn.conclude("not_supported_identify", error)
        return True
    except ClinicError as error:
        await turn.conclude(read_failure(error), error, retry=True)
        return True
    await link(turn, record)
    return True


STEP = Step(prompt=_offer, enter=_offer, button=_button)
