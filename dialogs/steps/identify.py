"""Proving who the patient is: share their own phone (identify_contact), then type their
personal number (identify_number). The EHR must hold that phone for that number."""

from __future__ import annotations

from datetime import timedelta

from dialogs import machine
from dialogs.clinic import (
    ClinicError,
    ClinicRefused,
    NotSupported,
    PatientNotFound,
    PatientRecord,
)
from dialogs.context import recent
from dialogs.events import Contact
from dialogs.parsing import e164, holds_number, personal_number
from dialogs.turn import Step, Turn


async def link(turn: Turn, record: PatientRecord) -> None:
    """The patient is known from now on in this chat: show their appointments (those read
    beside the lookup, if it read them)."""
    patient_id = record.patient_id
    turn.ctx.patient_id = patient_id
    turn.ctx.linked_at = turn.now
    turn.ctx.phone_digest = None
    turn.ctx.identity_failures = []
    turn.out.linked_patient = patient_id
    turn.listed = record.listing
    await turn.enter(machine.CHOOSE)


def aged(turn: Turn) -> bool:
    """The chat's patient must prove who they are again: the link is older than
    `identity_valid_for`, or the patient comes back after `identity_idle_for` away. The EHR's
    phone may have changed, or someone else may hold the phone now. Sandbox chats never age."""
    ctx, config = turn.ctx, turn.config
    if ctx.patient_id is None or turn.services.directory is not None:
        return False
    linked, seen = ctx.linked_at, ctx.seen_at or ctx.linked_at
    return (
        linked is None
        or seen is None
        or turn.now - linked >= config.identity_valid_for
        or turn.now - seen >= config.identity_idle_for
    )


def forget_patient(turn: Turn) -> None:
    """Unlink the chat from its patient (the engine drops the stored link too)."""
    ctx = turn.ctx
    ctx.patient_id = ctx.linked_at = None
    ctx.appointments, ctx.selected, ctx.results = [], [], []
    ctx.pending, ctx.parked = [], []
    ctx.comment = ctx.comment_until = ctx.note = None
    turn.out.unlinked = True


# -- identify_contact ---------------------------------------------------------------------------
async def _ask_contact(turn: Turn) -> None:
    turn.say("ask_contact")
    turn.flush(contact=turn.t("share_button"))


async def contact(turn: Turn, shared: Contact) -> None:
    """A shared contact: only the patient's own phone, in the contact step, is taken."""
    if not machine.asks_contact(turn.state):
        turn.say("use_buttons")
    elif not shared.own:
        turn.say("contact_not_own")
    elif (phone := e164(shared.phone, turn.config.region)) is None:
        turn.say("contact_unreadable")
    else:
        turn.ctx.phone_digest = turn.services.digest(phone)
        turn.move(machine.IDENTIFY_NUMBER)
    await turn.prompt()


async def _text_instead_of_contact(turn: Turn, text: str) -> None:
    turn.out.delete_user_message = holds_number(text)  # a number typed too soon goes
    await turn.prompt()


CONTACT_STEP = Step(prompt=_ask_contact, text=_text_instead_of_contact)


# -- identify_number ----------------------------------------------------------------------------
def _id_format(turn: Turn) -> str:
    return turn.t(f"id_format_{turn.config.id_kind}")


async def _ask_number(turn: Turn) -> None:
    turn.say("ask_number", format=_id_format(turn))
    turn.flush()


def _locked(turn: Turn) -> bool:
    since = turn.now - timedelta(hours=1)
    turn.ctx.identity_failures = recent(turn.ctx.identity_failures, since)
    return len(turn.ctx.identity_failures) >= turn.config.identity_attempts_per_hour


async def _number(turn: Turn, text: str) -> None:
    turn.out.delete_user_message = True  # whatever it was meant to be, it is not kept
    if _locked(turn):
        turn.say("identity_locked", **turn.clinic_values)
        turn.flush()
        return
    number = personal_number(text, turn.config.id_kind)
    if number is None:
        turn.say("number_invalid", format=_id_format(turn))
        turn.flush()
        return
    try:
        record = await turn.services.clinic.find_patient(number, turn.horizon)
    except PatientNotFound:
        record = None
    except NotSupported as error:
        await turn.conclude("not_supported_identify", error)
        return
    except ClinicError as error:
        key = "identity_error" if isinstance(error, ClinicRefused) else "unavailable"
        turn.say(key, **turn.clinic_values)
        turn.reference(error)
        turn.flush()
        return
    if record is not None and not record.phones:  # no way to check: not the patient's fault
        await turn.conclude("identity_no_phones", None)
        return
    phones = {turn.services.digest(p) for p in (record.phones if record else ())}
    if record is None or turn.ctx.phone_digest not in phones:
        turn.ctx.identity_failures.append(turn.now)
        turn.say("identity_locked" if _locked(turn) else "identity_failed", **turn.clinic_values)
        turn.flush()
        return
    await link(turn, record)


NUMBER_STEP = Step(prompt=_ask_number, text=_number)
