"""Confirm: the chosen appointments once more, then cancel them, add a reason, or keep them."""

from __future__ import annotations

from dialogs import machine
from dialogs.turn import Step, Turn
from dialogs.writes import cancel


async def _prompt(turn: Turn) -> None:
    ctx = turn.ctx
    items = "\n".join(f"• {turn.item(ctx.shown(i), i)}" for i in ctx.selected)
    if len(ctx.selected) == 1:
        turn.say("confirm_one", items=items)
    else:
        turn.say("confirm_many", count=len(ctx.selected), items=items)
    if ctx.comment:
        turn.say("confirm_reason", comment=ctx.comment)
    turn.menu(
        [
            [("y", turn.t("btn_yes"))],
            [("r", turn.t("btn_reason")), ("n", turn.t("btn_no"))],
        ]
    )


async def _button(turn: Turn, key: str) -> bool:
    if key == "y":
        await cancel(turn, list(turn.ctx.selected))
    elif key == "r":
        await turn.enter(machine.REASON)
    elif key == "n":
        turn.ctx.selected, turn.ctx.comment = [], None
        turn.say("kept")
        turn.move(machine.CHOOSE)
        await turn.prompt()
    else:
        return False
    return True


def _is_word(turn: Turn, text: str, key: str) -> bool:
    words = {w.strip().casefold() for w in turn.t(key).split(",")}
    return text.casefold().strip(" .!") in words


async def _text(turn: Turn, text: str) -> None:
    """ "yes" or "no" typed in the patient's language, as the buttons."""
    if _is_word(turn, text, "words_yes"):
        await _button(turn, "y")
    elif _is_word(turn, text, "words_no"):
        await _button(turn, "n")
    else:
        turn.say("use_buttons")
        await turn.prompt()


STEP = Step(prompt=_prompt, button=_button, text=_text)
