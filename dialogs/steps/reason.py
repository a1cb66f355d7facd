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
    turn.ctx.comment_until = turn.now + turn.config.comment_kept_for if text else None
    turn.move(machine.CONFIRM)
    await turn.prompt()


async def _button(turn: Turn, key: str) -> bool:
    if key != "k":
        return False
    turn.ctx.comment = turn.ctx.comment_until = None
    turn.move(machine.CONFIRM)
    await turn.prompt()
    return True


def forget_old(turn: Turn) -> None:
    """Before any event: a reason kept past `comment_kept_for` (the patient walked away at
    the confirmation) is removed from the chat's memory, and the patient told."""
    ctx = turn.ctx
    if ctx.comment_until is None or turn.now < ctx.comment_until:
        return
    held = ctx.comment is not None
    ctx.comment = ctx.comment_until = None
    if held and turn.state in (machine.CONFIRM, machine.REASON):
        minutes = f"{turn.config.comment_kept_for.total_seconds() / 60:g}"
        turn.say("reason_dropped", minutes=minutes)


STEP = Step(prompt=_prompt, button=_button, text=_text)
