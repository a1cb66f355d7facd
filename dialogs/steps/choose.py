"""Choose: the patient's upcoming appointments, read from the EHR, and picking one or several
(or one whose cancellation still waits for its code)."""

from __future__ import annotations

from dialogs import machine
from dialogs.clinic import Appointment, ClinicError, NotSupported, PartlyUnavailable
from dialogs.context import Shown
from dialogs.parsing import index
from dialogs.steps import code
from dialogs.steps.test_patients import switch
from dialogs.turn import Step, Turn, read_failure
from dialogs.writes import AWAITING, BOOKED, CANCELLED


async def load_list(turn: Turn) -> None:
    """Read the patient's appointments and show them (or why there is nothing to show)."""
    ctx = turn.ctx
    assert ctx.patient_id is not None
    ctx.results, ctx.selected, ctx.multi, ctx.comment, ctx.page = [], [], False, None, 0
    unavailable: tuple[str, ...] = ()
    try:
        appointments = await _read(turn, ctx.patient_id)
    except PartlyUnavailable as partial:  # a chain's care units: show those that answered
        appointments, unavailable = partial.appointments, partial.units
        if not _shown(turn, appointments):
            await turn.conclude(read_failure(partial), partial, retry=True)
            return
    except NotSupported as error:
        await turn.conclude("not_supported_list", error)
        return
    except ClinicError as error:
        await turn.conclude(read_failure(error), error, retry=True)
        return
    ctx.reread_needed = False
    ctx.appointments = _shown(turn, appointments)
    ctx.unavailable_units = list(unavailable)
    if not ctx.appointments:
        await turn.conclude("no_appointments", None)
        return
    turn.move(machine.CHOOSE)
    await turn.prompt()


async def _read(turn: Turn, patient_id: str) -> list[Appointment]:
    """The patient's appointments in the horizon: those read beside the identity check in this
    step if there are (raising what reading them raised), else the EHR's answer now."""
    listed, turn.listed = turn.listed, None
    if isinstance(listed, ClinicError):
        raise listed
    if listed is not None:
        return listed
    return await turn.services.clinic.list_appointments(patient_id, *turn.horizon)


def _shown(turn: Turn, appointments: list[Appointment]) -> list[Shown]:
    pending = {(a.start, a.resource_id): a.id for a in appointments if a.status == AWAITING}
    shown = []
    for a in sorted(appointments, key=lambda a: a.start):
        if a.status in (CANCELLED, AWAITING) or a.start <= turn.now:
            continue
        blocked = None
        if a.status != BOOKED:
            blocked = "status"
        elif a.start - turn.now < turn.config.deadline_for(a.care_unit_id):
            blocked = "deadline"
        shown.append(
            Shown(
                id=a.id,
                start=a.start,
                status=a.status,
                care_unit=a.care_unit,
                practitioner=a.practitioner,
                resource_id=a.resource_id,
                blocked=blocked,
                pending_id=pending.get((a.start, a.resource_id)),
                care_unit_id=a.care_unit_id,
            )
        )
    return shown


PAGE_SIZE = 10
"""Appointments shown at once: a long list (a clinic may hold a hundred for a patient) goes by
pages, within Telegram's limits on a message and its buttons."""


def _page(turn: Turn) -> range:
    total = len(turn.ctx.appointments)
    last_page = max(0, (total - 1) // PAGE_SIZE)
    turn.ctx.page = min(max(0, turn.ctx.page), last_page)
    first = turn.ctx.page * PAGE_SIZE
    return range(first, min(first + PAGE_SIZE, total))


async def _prompt(turn: Turn) -> None:
    ctx, config = turn.ctx, turn.config
    page = _page(turn)
    lines = [turn.t("list_header", clinic=config.clinic_name)]
    for number, shown in enumerate(ctx.appointments, start=1):
        if number - 1 not in page:
            continue
        mark = {"deadline": "🔒 ", "status": f"({shown.status}) "}.get(shown.blocked or "", "")
        wait = " ⏳" if shown.awaiting else ""
        lines.append(f"{number}. {mark}{turn.item(shown)}{wait}")
    turn.texts.append("\n".join(lines))
    blocked = {a.blocked for a in ctx.appointments}
    _deadline_notes(turn)
    if "status" in blocked:
        turn.say("list_status_note")
    if any(a.awaiting for a in ctx.appointments):
        turn.say("list_pending_note")
    for unit in ctx.unavailable_units:
        turn.say("list_unit_unavailable", care_unit=unit, phone=config.clinic_phone)
    if len(page) < len(ctx.appointments):
        total = len(ctx.appointments)
        turn.say("list_page", first=page.start + 1, last=page.stop, total=total)
    choosable = [
        (i, a)
        for i, a in enumerate(ctx.appointments)
        if a.cancellable and not (ctx.multi and a.awaiting)
    ]
    if not choosable:
        turn.say("none_cancellable", **turn.clinic_values)
        turn.menu(turn.switch_row())
        return
    turn.say("list_choose_several" if ctx.multi else "list_choose")
    rows: list[list[tuple[str, str]]] = []
    for i, a in choosable:
        if i not in page:
            continue
        tick = ("☑️ " if a.id in ctx.selected else "⬜ ") if ctx.multi else ""
        wait = " ⏳" if a.awaiting else ""
        rows.append([(f"a{i}", f"{tick}{i + 1}. {turn.t.short(a.start)}{wait}")])
    if ctx.multi:
        continue_label = turn.t.plural("btn_continue", len(ctx.selected))
        rows.append([("c", continue_label), ("1", turn.t("btn_one_at_a_time"))])
    elif len(choosable) > 1:
        rows.append([("m", turn.t("btn_several"))])
    paging = [("<", turn.t("btn_earlier"))] if page.start > 0 else []
    if page.stop < len(ctx.appointments):
        paging.append((">", turn.t("btn_later")))
    turn.menu([*rows, paging, *turn.switch_row()])


def _deadline_notes(turn: Turn) -> None:
    """Why the 🔒 ones can only be cancelled by phone: one note, or one per care unit of a
    chain whose care units differ in deadline or phone."""
    config = turn.config
    rules: dict[str, tuple[str, str]] = {}
    for shown in turn.ctx.appointments:
        if shown.blocked == "deadline":
            hours = f"{config.deadline_for(shown.care_unit_id).total_seconds() / 3600:g}"
            rules[shown.care_unit] = (hours, config.phone_for(shown.care_unit_id))
    if len(set(rules.values())) == 1:
        hours, phone = next(iter(rules.values()))
        turn.say("list_deadline_note", hours=hours, phone=phone)
        return
    for unit, (hours, phone) in rules.items():
        turn.say("list_deadline_note_unit", care_unit=unit, hours=hours, phone=phone)


async def _button(turn: Turn, key: str) -> bool:
    ctx = turn.ctx
    if key == "t":
        return await switch(turn)
    if key == "m":
        ctx.multi, ctx.selected = True, []
    elif key == "1":
        ctx.multi, ctx.selected = False, []
    elif key == "c":
        if not ctx.selected:
            turn.say("nothing_selected")
        else:
            turn.move(machine.CONFIRM)
    elif key in ("<", ">"):
        ctx.page += 1 if key == ">" else -1
    elif key.startswith("a"):
        return await _pick(turn, key[1:])
    else:
        return False
    await turn.prompt()
    return True


async def _pick(turn: Turn, position: str) -> bool:
    ctx = turn.ctx
    chosen = index(position, len(ctx.appointments))
    if chosen is None or not ctx.appointments[chosen].cancellable:
        return False
    shown = ctx.appointments[chosen]
    if shown.pending_id is not None:
        if ctx.multi:
            return False
        await code.resume(turn, shown.id, shown.pending_id)
        return True
    if not ctx.multi:
        ctx.selected = [shown.id]
        turn.move(machine.CONFIRM)
    elif shown.id in ctx.selected:
        ctx.selected.remove(shown.id)
    elif len(ctx.selected) >= turn.config.max_bulk:
        turn.say("too_many_selected", max=turn.config.max_bulk)
    else:
        ctx.selected.append(shown.id)
    await turn.prompt()
    return True


async def _text(turn: Turn, text: str) -> None:
    """A typed list number picks that appointment, as its button would; the number of one that
    cannot be cancelled here is answered with why."""
    number = text.isdecimal() and len(text) < 4
    typed = index(str(int(text) - 1), len(turn.ctx.appointments)) if number else None
    if typed is not None and not turn.ctx.appointments[typed].cancellable:
        _say_blocked(turn, typed)
        await turn.prompt()
    elif typed is None or not await _pick(turn, str(typed)):
        turn.say("use_buttons")
        await turn.prompt()


def _say_blocked(turn: Turn, position: int) -> None:
    shown = turn.ctx.appointments[position]
    if shown.blocked == "deadline":
        config = turn.config
        hours = f"{config.deadline_for(shown.care_unit_id).total_seconds() / 3600:g}"
        phone = config.phone_for(shown.care_unit_id)
        turn.say(
            "chosen_deadline",
            number=position + 1,
            hours=hours,
            clinic=config.clinic_name,
            phone=phone,
        )
    else:
        turn.say("chosen_status", number=position + 1, status=shown.status)


STEP = Step(prompt=_prompt, enter=load_list, button=_button, text=_text)
