"""Forget: the patient asks (/forget, from any step) that the bot forget them. One confirm, then
the chat's stored dialog and its link to the patient are erased (the engine does it, told by
`StepResult.forget`); codes still awaited are parked first, as /stop does. Either way the
dialog ends idle."""

from __future__ import annotations

from dialogs import machine
from dialogs.turn import Step, Turn
from dialogs.writes import abandon_pending


async def ask(turn: Turn) -> None:
    turn.move(machine.FORGET)
    await turn.prompt()


async def _prompt(turn: Turn) -> None:
    turn.say("forget_confirm", **turn.clinic_values)
    turn.menu([[("y", turn.t("btn_forget_yes"))], [("n", turn.t("btn_forget_no"))]])


async def _button(turn: Turn, key: str) -> bool:
    if key not in ("y", "n"):
        return False
    abandon_pending(turn, "why_stopped")
    turn.ctx.selected, turn.ctx.comment, turn.ctx.multi, turn.ctx.results = [], None, False, []
    turn.move(machine.IDLE)
    if key == "y":
        turn.out.forget = True
        turn.say("forgotten")
    else:
        turn.say("forget_kept")
    turn.flush()
    return True


STEP = Step(prompt=_prompt, button=_button)
