"""Outcome: what happened to each appointment (or the one sentence that ended the dialog), and
what can be done next: check again, try again, cancel another."""

from __future__ import annotations

from dialogs.steps.idle import start
from dialogs.steps.test_patients import switch
from dialogs.turn import Step, Turn
from dialogs.writes import after_cancel, cancel, settle


async def _prompt(turn: Turn) -> None:
    ctx = turn.ctx
    rows: list[list[tuple[str, str]]] = []
    if ctx.note:
        turn.say(ctx.note, **turn.clinic_values)
        if ctx.note_reference:
            turn.say("reference", reference=ctx.note_reference)
        if ctx.note_retry:
            rows.append([("o", turn.t("btn_retry"))])
    else:
        turn.texts.append("\n".join(turn.summary()))
        if any(r.outcome != "cancelled" for r in ctx.results):
            turn.say("outcome_call", **turn.clinic_values)
        if any(r.outcome == "unknown" for r in ctx.results):
            rows.append([("g", turn.t("btn_check_again"))])
        if any(r.reason == "why_error" for r in ctx.results):
            rows.append([("r", turn.t("btn_retry"))])
        rows.append([("o", turn.t("btn_another"))])
    turn.menu(rows + turn.switch_row())


async def _button(turn: Turn, key: str) -> bool:
    ctx = turn.ctx
    if key == "t":
        return await switch(turn)
    if key == "o":
        ctx.note = None
        await start(turn)  # lists the appointments, or identifies first if not linked
    elif key == "g":
        unknown = [r.appointment_id for r in ctx.results if r.outcome == "unknown"]
        ctx.results = [r for r in ctx.results if r.outcome != "unknown"]
        await settle(turn, unknown, None)
        await after_cancel(turn)
    elif key == "r":
        failed = [r.appointment_id for r in ctx.results if r.reason == "why_error"]
        if not failed:
            return False
        ctx.results = []
        await cancel(turn, failed)
    else:
        return False
    return True


STEP = Step(prompt=_prompt, button=_button)
