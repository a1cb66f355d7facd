"""Reason: an optional comment for the clinic, sent with the cancellation."""

from __future__ import annotations

from dialogs import machine
from dialogs.turn import Step, Turn


async def _prompt(turn: Turn) -> None:
    turn.say("ask_reason", max=turn.config.comment_max_length)
    turn.menu([[("k", turn.t("btn_skip"))]])


async def _text(turn: Turn, text: str) -> None:
    if len(text) > turn.config.comment_max_length:
        turn.say("reason_too_long", max=turn.config.comment_max_length)
        turn.flush()
        return
    turn.ctx.comment = text or None
    turn.move(machine.CONFIRM)
    await turn.prompt()


async def _button(turn: Turn, key: str) -> bool:
    if key != "k":
        return False
    turn.ctx.comment = None
    turn.move(machine.CONFIRM)
    await turn.prompt()
    return True


STEP = Step(prompt=_prompt, button=_button, text=_text)
