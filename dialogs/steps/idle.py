"""Idle: no dialog under way. /start (or any text) begins one; /stop ends any step here."""

from __future__ import annotations

from dialogs import machine
from dialogs.parsing import holds_number
from dialogs.turn import Step, Turn
from dialogs.writes import abandon_pending


async def start(turn: Turn) -> None:
    """Begin again from wherever the chat is: the list for a known patient, the test patients
    in a sandbox chat, otherwise the identity check. What the clinic's EHR cannot do through
    this chat is said first, before the patient proves who they are."""
    abandon_pending(turn, "why_stopped")
    turn.move(machine.IDLE)
    dead_end = _dead_end(turn)
    if dead_end is not None:
        await turn.conclude(dead_end, None)
    elif turn.ctx.patient_id:
        await turn.enter(machine.CHOOSE)
    elif turn.services.directory is not None:
        await turn.enter(machine.PICK_TEST_PATIENT)
    else:
        turn.say("welcome", clinic=turn.config.clinic_name)
        await turn.enter(machine.IDENTIFY_CONTACT)


def _dead_end(turn: Turn) -> str | None:
    """The one sentence for an EHR that cannot serve this chat, if it cannot."""
    can = turn.services.clinic.capabilities()
    if not can.cancel:
        return "cannot_cancel_here"
    if not can.listing:
        return "not_supported_list"
    if not can.identify and not turn.ctx.patient_id and turn.services.directory is None:
        return "not_supported_identify"
    return None


async def stop(turn: Turn) -> None:
    """/stop: leave the step. Codes still awaited are parked, and said so."""
    ctx = turn.ctx
    in_progress = turn.state not in (machine.IDLE, machine.OUTCOME)
    waiting = machine.awaits_code(turn.state)
    abandon_pending(turn, "why_stopped")
    ctx.selected, ctx.comment, ctx.multi = [], None, False
    turn.move(machine.IDLE)
    summary = turn.summary() if waiting else []
    turn.texts.extend(summary)
    if any(r.outcome != "cancelled" for r in ctx.results) and summary:
        turn.say("outcome_call", **turn.clinic_values)
    ctx.results = []
    turn.say("stopped" if summary else "stopped_nothing" if in_progress else "stopped_idle")
    turn.flush()


async def _prompt(turn: Turn) -> None:
    turn.say("idle")
    turn.flush()


async def _text(turn: Turn, text: str) -> None:
    turn.out.delete_user_message = holds_number(text)  # e.g. a personal number, typed first
    await start(turn)


STEP = Step(prompt=_prompt, text=_text)
