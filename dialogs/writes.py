"""Cancelling at the EHR, and knowing what happened: the writes the confirm, code and outcome
steps share.

A write can end three ways: it never reached the EHR (nothing changed: say so, ask again), the
EHR answered (record what it said), or its answer was lost. For the last, `after_failed_write`
re-reads the appointments and takes what the EHR says; it is the one place that decides this.
Every cancel PATCH may make the EHR text a code, so each counts against a daily cap.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dialogs import machine
from dialogs.clinic import (
    Appointment,
    ClinicError,
    ClinicUnavailable,
    NotSupported,
    OutcomeUnknown,
)
from dialogs.context import Pending
from dialogs.turn import Turn

BOOKED = "booked"
CANCELLED = "cancelled"
AWAITING = "awaiting_confirmation"
# Leyr error codes that say the EHR itself failed, not the request: trying again may work.
RETRYABLE = frozenset({None, "EMR_ERROR", "UNKNOWN_ERROR"})


def nothing_happened(error: ClinicError) -> bool:
    return isinstance(error, ClinicUnavailable)


def refusal(error: ClinicError) -> str:
    """Why a write the EHR answered with an error did not cancel: worth a retry, or not."""
    return "why_error" if error.code in RETRYABLE else "why_refused"


async def cancel(turn: Turn, ids: list[str]) -> None:
    """Cancel what the patient confirmed (one PATCH, single or bulk), then show what happened."""
    ctx = turn.ctx
    targets = [
        i for i in ids if (s := ctx.shown(i)) is not None and s.cancellable and not s.awaiting
    ]
    if not targets:
        await turn.enter(machine.CHOOSE)
        return
    late = [t for t in targets if too_late(turn, t)]  # the confirm screen may have sat open
    for target in late:
        turn.result(target, "not_cancelled", "why_deadline")
    targets = [t for t in targets if t not in late]
    if not targets:
        await after_cancel(turn)
        return
    if ctx.reread_needed:
        remaining = await reread(turn, targets, None)
        if not remaining:
            await after_cancel(turn)
            return
        targets = remaining
    for target in targets:  # any cancel may text a code: all count against one daily cap
        if not may_text(turn, target):
            turn.result(target, "not_cancelled", "why_code_limit")
    targets = [t for t in targets if may_text(turn, t)]
    if not targets:
        await after_cancel(turn)
        return
    count_texts(turn, targets)
    try:
        outcomes = await turn.services.clinic.cancel(targets, ctx.comment)
    except NotSupported as error:
        await turn.conclude("not_supported_cancel", error)
        return
    except ClinicError as error:
        if nothing_happened(error):
            uncount_texts(turn, targets)
            await turn.unavailable(error)
            return
        if len(targets) > 1 and not isinstance(error, OutcomeUnknown):
            await after_bulk_error(turn, targets, refusal(error), error.reference)
        else:
            await after_failed_write(turn, error, targets)
        await after_cancel(turn)
        return
    answered = {o.requested_id: o for o in outcomes}
    unanswered = [t for t in targets if t not in answered]
    for target in targets:
        outcome = answered.get(target)
        if outcome is None:
            if len(targets) == 1:
                turn.result(target, "unknown")
                turn.audit(target, "unknown")
                ctx.reread_needed = True
        elif outcome.status == CANCELLED:
            turn.result(target, "cancelled")
            turn.audit(target, "cancelled", new_id=outcome.id if outcome.id != target else None)
        elif outcome.status == AWAITING:
            await_code(turn, target, outcome.id)
        else:
            turn.result(target, "not_cancelled", "why_not_cancellable")
            turn.audit(target, "failed")
    if len(targets) > 1 and unanswered:
        await after_bulk_error(turn, unanswered, "why_error", None)
    await after_cancel(turn)


def too_late(turn: Turn, appointment_id: str) -> bool:
    """Inside the clinic's cancellation deadline now, whatever it was when the list was drawn."""
    shown = turn.ctx.shown(appointment_id)
    return shown is not None and shown.start - turn.now < turn.config.cancellation_deadline


async def after_bulk_error(
    turn: Turn, targets: list[str], reason: str, reference: str | None
) -> None:
    """Several appointments, and the EHR failed some or all of them (or the clinic fell back to
    one cancel each and some failed): read them again before saying what was cancelled; what is
    still booked was not."""
    for target in await reread(turn, targets, reference) or []:
        turn.result(target, "not_cancelled", reason, reference)
        turn.audit(target, "failed", reference=reference)


async def after_failed_write(
    turn: Turn, error: ClinicError, targets: list[str], *, new_id: str | None = None
) -> None:
    """A write reached the EHR, or may have: a lost answer is settled by reading again, an
    error the EHR answered with is recorded as not cancelled, worth a retry or not."""
    if isinstance(error, OutcomeUnknown):
        await settle(turn, targets, error.reference, error.code)
        return
    for target in targets:
        turn.result(target, "not_cancelled", refusal(error), error.reference)
        turn.audit(target, "failed", new_id=new_id, reference=error.reference)


async def after_cancel(turn: Turn) -> None:
    ctx = turn.ctx
    retry = any(r.reason == "why_error" for r in ctx.results)
    ctx.selected, ctx.multi = [], False
    ctx.comment = ctx.comment if retry else None  # kept for "Try again"
    turn.move(machine.AWAITING_CODE if ctx.pending else machine.OUTCOME)
    await turn.prompt()


async def read_back(
    turn: Turn,
) -> tuple[dict[str, Appointment], dict[tuple[datetime, str | None], str]]:
    """The EHR's appointments again, after a write that may have landed unseen: by id, and
    the pending cancellations by (start, practitioner), which is how one is found for its
    original. Clears `reread_needed`; raises ClinicError when the read fails."""
    assert turn.ctx.patient_id is not None
    listed = await turn.services.clinic.list_appointments(
        turn.ctx.patient_id, turn.now - timedelta(days=1), turn.now + turn.config.horizon
    )
    turn.ctx.reread_needed = False
    by_id = {a.id: a for a in listed}
    waiting = {(a.start, a.resource_id): a.id for a in listed if a.status == AWAITING}
    return by_id, waiting


async def reread(turn: Turn, targets: list[str], reference: str | None) -> list[str] | None:
    """After a lost answer, read the appointments again and take what the EHR says: record
    the cancelled and the pending ones, and return those still plainly booked. None when
    the re-read failed too (then every target's outcome is unknown)."""
    try:
        by_id, waiting = await read_back(turn)
    except ClinicError:
        for target in targets:
            turn.result(target, "unknown", reference=reference)
            turn.audit(target, "unknown", reference=reference)
        turn.ctx.reread_needed = True
        return None
    booked = []
    for target in targets:
        current = by_id.get(target)
        if current is None or current.status == CANCELLED:
            turn.result(target, "cancelled")
            turn.audit(target, "cancelled", reference=reference)
        elif (current.start, current.resource_id) in waiting:
            await_code(turn, target, waiting[current.start, current.resource_id])
        elif current.status == BOOKED:
            booked.append(target)
        else:
            turn.result(target, "not_cancelled", "why_not_cancellable", reference)
            turn.audit(target, "failed", reference=reference)
    return booked


async def settle(
    turn: Turn, targets: list[str], reference: str | None, code: str | None = None
) -> None:
    """Re-read after a write whose outcome was unknown; what is still booked was not cancelled:
    because the EHR answered with an error (`code`, e.g. a 502 EMR_ERROR), or gave no usable
    answer at all (a timeout, a cut connection, an unreadable answer)."""
    why = "why_unavailable" if code is None else "why_error" if code in RETRYABLE else "why_refused"
    for target in await reread(turn, targets, reference) or []:
        turn.result(target, "not_cancelled", why, reference)
        turn.audit(target, "failed", reference=reference)


# -- the daily cap on texted codes --------------------------------------------------------------
def _texts_today(turn: Turn, appointment_id: str) -> list[date]:
    today = turn.now.astimezone(turn.config.zone).date()
    return [d for d in turn.ctx.resends.get(appointment_id, []) if d == today]


def may_text(turn: Turn, appointment_id: str) -> bool:
    return len(_texts_today(turn, appointment_id)) < turn.config.code_resends_per_day


def count_texts(turn: Turn, appointment_ids: list[str]) -> None:
    """Just before a cancel PATCH: each may make the EHR text a code."""
    today = turn.now.astimezone(turn.config.zone).date()
    for appointment_id in appointment_ids:
        turn.ctx.resends[appointment_id] = [*_texts_today(turn, appointment_id), today]


def uncount_texts(turn: Turn, appointment_ids: list[str]) -> None:
    """The PATCH never reached the EHR: no code was texted."""
    for appointment_id in appointment_ids:
        turn.ctx.resends[appointment_id] = _texts_today(turn, appointment_id)[1:]


# -- cancellations waiting for a code -----------------------------------------------------------
def await_code(turn: Turn, original_id: str, new_id: str, *, first: bool = False) -> None:
    """The EHR holds this cancellation until the patient types the code it texted. One we were
    already waiting for (parked, the same pending id) is taken up again, tries and expiry as
    they were: no new SMS was sent for it."""
    ctx = turn.ctx
    known = unpark(turn, original_id)
    ctx.pending = [p for p in ctx.pending if p.original_id != original_id]
    pending = Pending(
        original_id=original_id,
        new_id=new_id,
        expires_at=turn.now + turn.config.code_expiry,
        attempts_left=turn.config.code_max_attempts,
    )
    if known is not None and known.new_id == new_id:
        pending = known
        pending.resumed = True
    ctx.pending.insert(0 if first else len(ctx.pending), pending)
    turn.audit(original_id, "awaiting_confirmation", new_id=new_id)


def abandon_pending(turn: Turn, reason: str) -> None:
    """Stop waiting for codes. The EHR keeps each pending cancellation until its code
    expires, so it is parked: the list offers to take it up again, tries and all."""
    for pending in turn.ctx.pending:
        turn.result(pending.original_id, "not_cancelled", reason)
        turn.audit(pending.original_id, "abandoned", new_id=pending.new_id)
        park(turn, pending)
    turn.ctx.pending = []


def park(turn: Turn, pending: Pending) -> None:
    others = [p for p in turn.ctx.parked if p.original_id != pending.original_id]
    turn.ctx.parked = [*others, pending]


def unpark(turn: Turn, original_id: str) -> Pending | None:
    found = next((p for p in turn.ctx.parked if p.original_id == original_id), None)
    turn.ctx.parked = [p for p in turn.ctx.parked if p.original_id != original_id]
    return found
