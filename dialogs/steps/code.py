"""Awaiting code: a two-step EHR texted the patient a code; it goes to the cancellation's new id.
One pending cancellation at a time, the head of `ctx.pending`; each has its tries and expiry."""

from __future__ import annotations

from dialogs import machine
from dialogs.clinic import ClinicError, CodeRejected, PendingGone
from dialogs.context import Pending
from dialogs.parsing import sms_code
from dialogs.turn import Step, Turn
from dialogs.writes import (
    AWAITING,
    BOOKED,
    CANCELLED,
    after_failed_write,
    await_code,
    count_texts,
    may_text,
    nothing_happened,
    park,
    read_back,
    uncount_texts,
    unpark,
)


def expire(turn: Turn) -> None:
    """Before any event: a code whose time ran out is dead, and the patient is told."""
    if not machine.awaits_code(turn.state) or not turn.ctx.pending:
        return
    head = turn.ctx.pending[0]
    if head.dead is None and turn.now >= head.expires_at:
        head.dead = "expired"
        turn.audit(head.original_id, "expired", new_id=head.new_id)
        turn.say("code_expired")


async def resume(turn: Turn, original_id: str, pending_id: str) -> None:
    """Take up a cancellation the EHR still holds for a code, e.g. after /start: its parked
    tries and expiry when we know them, else a fresh count. No new SMS is asked for. An EHR may
    keep an older pending id valid and list it first: the parked tries are kept for it (a fresh
    count would give the patient more guesses than the cap)."""
    ctx, config = turn.ctx, turn.config
    parked = unpark(turn, original_id)
    pending = Pending(
        original_id=original_id,
        new_id=pending_id,
        expires_at=turn.now + config.code_expiry,
        attempts_left=config.code_max_attempts,
    )
    if parked is not None:  # its tries and expiry, whichever pending id the EHR lists first
        pending = parked.model_copy(update={"new_id": pending_id})
    pending.resumed = True
    if pending.dead is None and turn.now >= pending.expires_at:
        pending.dead = "expired"
    ctx.selected, ctx.multi, ctx.results = [], False, []
    ctx.pending = [pending]
    turn.move(machine.AWAITING_CODE)
    await turn.prompt()


async def _prompt(turn: Turn) -> None:
    head = turn.ctx.pending[0]
    item = turn.item(turn.ctx.shown(head.original_id), head.original_id)
    resend = [("s", turn.t("btn_resend"))] if may_text(turn, head.original_id) else []
    keep = ("x", turn.t("btn_keep_pending"))
    if head.dead is not None:
        why = "why_expired" if head.dead == "expired" else "why_locked"
        just_said = turn.t("code_expired") in turn.texts  # the expiry noticed this turn
        turn.say("outcome_not_cancelled", item=item)
        if not just_said:
            turn.say(why)
        turn.menu([resend, [keep]])
        return
    untried = head.attempts_left == turn.config.code_max_attempts  # not after a wrong code
    if untried or (head.resumed and not turn.texts):
        if head.resumed:  # its SMS was sent before this step: promise no new one
            key = "ask_code_resume" if resend else "ask_code_earlier"
        else:
            key = "ask_code_next" if turn.ctx.results else "ask_code"
        turn.say(key, item=item)
    turn.menu([[*resend, keep]])


async def next_pending(turn: Turn) -> None:
    """The head is settled: say how, then ask for the next code, or end."""
    if turn.ctx.pending:
        turn.texts.extend(turn.summary()[-1:])
        turn.move(machine.AWAITING_CODE)
    else:
        turn.move(machine.OUTCOME)
    await turn.prompt()


async def _text(turn: Turn, text: str) -> None:
    head = turn.ctx.pending[0]
    if head.dead is not None:
        await turn.prompt()
        return
    typed = sms_code(text)
    if typed is None:
        turn.texts.append(turn.t.plural("code_not_found", head.attempts_left))
        turn.flush()
        return
    turn.out.delete_user_message = True
    if turn.ctx.reread_needed and not await _still_pending(turn, head):
        return
    try:
        outcome = await turn.services.clinic.confirm(head.new_id, typed)
    except CodeRejected as error:
        head.attempts_left -= 1
        turn.audit(head.original_id, "code_rejected", head.new_id, error.reference)
        if head.attempts_left <= 0:
            head.dead = "locked"  # the prompt says so, once
        else:
            turn.texts.append(turn.t.plural("code_wrong", head.attempts_left))
        await turn.prompt()
        return
    except PendingGone as error:
        head.dead = "expired"  # the prompt says so, once
        turn.audit(head.original_id, "expired", head.new_id, error.reference)
        await turn.prompt()
        return
    except ClinicError as error:
        if nothing_happened(error):
            await turn.unavailable(error)
            return
        turn.ctx.pending.pop(0)
        park(turn, head)  # if the re-read finds it still waiting, it goes on, tries and all
        await after_failed_write(turn, error, [head.original_id], new_id=head.new_id)
        await next_pending(turn)
        return
    turn.ctx.pending.pop(0)
    if outcome.status == CANCELLED:
        turn.result(head.original_id, "cancelled")
        turn.audit(head.original_id, "cancelled", new_id=head.new_id)
    else:
        turn.result(head.original_id, "unknown")
        turn.audit(head.original_id, "unknown", new_id=head.new_id)
        turn.ctx.reread_needed = True
    await next_pending(turn)


async def _button(turn: Turn, key: str) -> bool:
    head = turn.ctx.pending[0]
    if key == "x":
        turn.ctx.pending.pop(0)
        turn.result(head.original_id, "not_cancelled", "why_kept")
        turn.audit(head.original_id, "abandoned", new_id=head.new_id)
        park(turn, head)
        await next_pending(turn)
        return True
    if key != "s":
        return False
    await _resend(turn, head)
    return True


async def _resend(turn: Turn, head: Pending) -> None:
    """A new code: cancel the original again, which makes the EHR text a fresh one."""
    if not may_text(turn, head.original_id):
        # No SMS is promised after this refusal: a live code can still be typed.
        turn.say("resend_limit", **turn.clinic_values)
        if head.dead is None:
            item = turn.item(turn.ctx.shown(head.original_id), head.original_id)
            turn.say("ask_code_earlier", item=item)
        turn.menu([[("x", turn.t("btn_keep_pending"))]])
        return
    count_texts(turn, [head.original_id])
    if turn.ctx.reread_needed and not await _still_pending(turn, head, resending=True):
        return
    try:
        outcomes = await turn.services.clinic.cancel([head.original_id], None)
    except ClinicError as error:
        if nothing_happened(error):
            uncount_texts(turn, [head.original_id])
            await turn.unavailable(error)
            return
        turn.ctx.pending.pop(0)
        await after_failed_write(turn, error, [head.original_id])
        await next_pending(turn)
        return
    turn.ctx.pending.pop(0)
    outcome = outcomes[0] if outcomes else None
    if outcome is not None and outcome.status == AWAITING:
        await_code(turn, head.original_id, outcome.id, first=True)
    elif outcome is not None and outcome.status == CANCELLED:
        turn.result(head.original_id, "cancelled")
        turn.audit(head.original_id, "cancelled")
    else:
        turn.result(head.original_id, "not_cancelled", "why_not_cancellable")
        turn.audit(head.original_id, "failed")
    await next_pending(turn)


async def _still_pending(turn: Turn, head: Pending, *, resending: bool = False) -> bool:
    """A write for `head` may have happened unseen (a crash mid-step, a lost answer): read
    the EHR before writing again. True when `head` still waits for its code (its pending id
    brought up to date) and, when `resending`, no re-send already happened; otherwise the
    step is concluded here and False returned."""
    try:
        by_id, pending_ids = await read_back(turn)
    except ClinicError as error:
        await turn.unavailable(error)
        return False
    current = by_id.get(head.original_id)
    waiting = pending_ids.get((current.start, current.resource_id)) if current else None
    if current is None or current.status == CANCELLED:
        turn.ctx.pending.pop(0)
        turn.result(head.original_id, "cancelled")
        turn.audit(head.original_id, "cancelled", new_id=head.new_id)
        await next_pending(turn)
        return False
    if waiting is None:
        if resending and current.status == BOOKED:
            return True  # nothing pending any more: the re-send starts a new one
        head.dead = "expired"  # the prompt says so, once
        turn.audit(head.original_id, "expired", new_id=head.new_id)
        await turn.prompt()
        return False
    if resending and waiting != head.new_id:
        turn.ctx.pending.pop(0)
        await_code(turn, head.original_id, waiting, first=True)
        await next_pending(turn)
        return False
    head.new_id = waiting
    return True


STEP = Step(prompt=_prompt, button=_button, text=_text)
