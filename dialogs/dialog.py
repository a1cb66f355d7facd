"""One step of the cancellation dialog: an event in, replies out. Commands and the language
menu are answered here, the same in every state; anything else goes to the current state's
step (dialogs/steps). The clinic is reached only through `dialogs.clinic.Clinic`."""

from __future__ import annotations

from datetime import datetime

from dialogs import machine
from dialogs.context import DialogContext
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.i18n import LANGUAGE_NAMES
from dialogs.parsing import clean
from dialogs.replies import Option, StepResult
from dialogs.steps import STEPS, forget
from dialogs.steps.code import expire
from dialogs.steps.identify import aged, contact, forget_patient
from dialogs.steps.idle import start, stop
from dialogs.steps.reason import forget_old
from dialogs.turn import Services, Turn

LANGUAGE_PREFIX = "L:"
MAX_BUTTON_DATA = 64  # Telegram's own limit: longer data was not made by us


async def run_step(
    state: str, ctx: DialogContext, event: Event, services: Services, now: datetime
) -> tuple[str, StepResult]:
    """Run one event through the dialog. `ctx` is updated in place; the new state is returned."""
    turn = Turn(
        state=state if state in STEPS else machine.IDLE,
        ctx=ctx,
        services=services,
        now=now,
        steps=STEPS,
    )
    expire(turn)
    forget_old(turn)
    if aged(turn) and _shows_the_patient(turn, event):
        forget_patient(turn)
        turn.say("identity_aged")
        await start(turn)
    else:
        await _handle(turn, event)
    turn.flush()
    if not isinstance(event, Tick):
        ctx.seen_at = now
    turn.out.wake_at = next_wake(turn.state, ctx)
    turn.out.asks_contact = machine.asks_contact(turn.state)
    turn.out.awaits_code = machine.awaits_code(turn.state)
    return turn.state, turn.out


def _shows_the_patient(turn: Turn, event: Event) -> bool:
    """Whether the event may show or act on the linked patient's data (so an aged link must be
    proved again first): not a Tick, /stop, or /forget and its confirmation, which only end or
    erase."""
    if isinstance(event, Tick) or event in (Command("stop"), Command("forget")):
        return False
    return turn.state != machine.FORGET


def next_wake(state: str, ctx: DialogContext) -> datetime | None:
    """When the dialog next wants a Tick: a code expires, or a typed reason is forgotten."""
    due = (
        [p.expires_at for p in ctx.pending if p.dead is None] if machine.awaits_code(state) else []
    )
    if ctx.comment_until is not None:
        due.append(ctx.comment_until)
    return min(due, default=None)


async def _handle(turn: Turn, event: Event) -> None:
    match event:
        case Command(name="start"):
            await start(turn)
        case Command(name="stop"):
            await stop(turn)
        case Command(name="help"):
            turn.say("help", **turn.clinic_values)
            await turn.prompt()
        case Command(name="forget"):
            await forget.ask(turn)
        case Command(name="language"):
            _language_menu(turn)
        case Command():
            turn.say("unknown_command")
            turn.say("help", **turn.clinic_values)
            await turn.prompt()
        case Button(data=data) if data.startswith(LANGUAGE_PREFIX):
            await _set_language(turn, data.removeprefix(LANGUAGE_PREFIX))
        case Button(data=data):
            await _button(turn, data)
        case Contact():
            await contact(turn, event)
        case Text(text=text):
            step = turn.steps[turn.state]
            if step.text is not None:
                await step.text(turn, clean(text))
            else:
                turn.say("use_buttons")
                await turn.prompt()
        case Tick():
            if turn.texts:  # a code just expired: say so, with what can be done now
                await turn.prompt()


async def _button(turn: Turn, data: str) -> None:
    """A pressed button: only this chat's current buttons count (forged or old ones do not)."""
    generation, _, key = data.partition(":")
    step = turn.steps[turn.state]
    fresh = key and generation == str(turn.ctx.generation) and len(data) <= MAX_BUTTON_DATA
    if not fresh or step.button is None or not await step.button(turn, key):
        turn.say("stale_button")
        await turn.prompt()


def _language_menu(turn: Turn) -> None:
    turn.say("language_prompt")
    turn.flush(
        [
            [Option(key=f"{LANGUAGE_PREFIX}{code}", label=name)]
            for code, name in LANGUAGE_NAMES.items()
        ]
    )


async def _set_language(turn: Turn, code: str) -> None:
    if code in LANGUAGE_NAMES:
        turn.ctx.language = code
        turn.say("language_set")
    await turn.prompt()
