"""The engine: for one chat, load the dialog's state, run one step, and save the new state together
with its audit rows in one transaction. Adapters (Telegram, terminal) call `Engine.handle`.

Crash safety, for updates that carry an id (the inbox's sequence number): the poller stores each
update before it is handled and drops it only once handled, so after a crash the updates that
were not finished are handled again (`replayed`):
* the chat's last update id is saved in the same transaction as its state: an update whose id
  is not above it was processed already, and its effects are not applied again;
* the step's replies are saved with the state (the outbox) and dropped by `delivered` once sent:
  a replayed update whose replies were not all sent gets them again (at least once);
* a replayed update that was not processed may have written to the EHR before the process died
  (the write went out, the step was not saved): its step starts marked `reread_needed`, so the
  dialog reads the EHR before any write and never cancels or confirms twice. So does the next
  step of a chat whose step failed after a write without a crash (`bot.write_guard` notes the
  write; e.g. the database refused the save). Only those carry that doubt, so no step stores a
  mark before it writes: one transaction per step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.store import AuditEntry, ChatSnapshot, Outbox, StaleVersion, Store
from bot.write_guard import GuardedClinic
from dialogs import DialogContext, Event, Reply, Services, next_wake, run_step
from dialogs.i18n import language_for
from dialogs.machine import AWAITING_CODE, CONFIRM, IDLE, OUTCOME, REASON, asks_contact, awaits_code

log = logging.getLogger(__name__)

WAKING = (AWAITING_CODE, CONFIRM, REASON, OUTCOME)
"""The states in which a stored dialog may want a Tick."""


@dataclass(frozen=True, slots=True)
class Sender:
    chat_id: int
    user_id: int
    language_code: str | None = None


@dataclass(slots=True)
class Handled:
    replies: list[Reply] = field(default_factory=list)
    delete_user_message: bool = False
    wake_at: datetime | None = None
    duplicate: bool = False
    ui_message_id: int | None = None
    sandbox: bool = False
    state: str = IDLE
    asks_contact: bool = False  # the dialog waits for the patient's own phone
    awaits_code: bool = False  # the dialog waits for a code: a wake-up may still be due


class Engine:
    def __init__(
        self,
        store: Store,
        services_for: Callable[[int], Services],
        is_sandbox: Callable[[int], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._services_for = services_for
        self.is_sandbox = is_sandbox
        """Whether a chat is a sandbox chat: decided here, for the engine and its adapters."""
        self._clock = clock
        self._doubted: set[int] = set()
        """Chats whose last step failed after it wrote to the EHR (e.g. the database refused the
        save): their next step reads the EHR before writing. Emptied by each chat's next step."""

    async def handle(
        self, sender: Sender, event: Event, *, update_id: int | None = None, replayed: bool = False
    ) -> Handled:
        """Run one step for `sender`'s chat. `update_id`: the update's sequence number (None for
        internal events such as a Tick); `replayed`: the update was fetched before a crash and
        may have been half processed."""
        chat_id = sender.chat_id
        services = self._services_for(chat_id)
        guard = GuardedClinic(services.clinic)
        doubt = replayed or chat_id in self._doubted
        try:
            handled = await self._handle(
                sender, event, update_id, doubt, replace(services, clinic=guard)
            )
        except BaseException:
            if guard.wrote:  # the write may have landed, the step was not saved
                self._doubted.add(chat_id)
            raise
        if not handled.duplicate:
            self._doubted.discard(chat_id)
        return handled

    async def _handle(
        self,
        sender: Sender,
        event: Event,
        update_id: int | None,
        doubt: bool,
        services: Services,
    ) -> Handled:
        sandbox = self.is_sandbox(sender.chat_id)
        snapshot = await self._store.load(sender.chat_id)
        if (
            snapshot is not None
            and update_id is not None
            and snapshot.last_update_id is not None
            and update_id <= snapshot.last_update_id
        ):
            return self._duplicate(snapshot, update_id, sandbox)
        state, ctx = await self._restore(sender, snapshot, sandbox)
        version = snapshot.version if snapshot else None
        if doubt:  # a write may have gone out and its step not been saved: read before writing
            ctx.reread_needed = True
        new_state, result = await run_step(state, ctx, event, services, self._clock())
        link = None
        if result.linked_patient is not None and ctx.linked_at is not None and not sandbox:
            link = (sender.user_id, result.linked_patient, ctx.linked_at)
        audits = [
            AuditEntry(
                appointment_id=a.appointment_id,
                outcome=a.outcome,
                new_id=a.new_id,
                leyr_instance=a.reference,
                patient_id=ctx.patient_id,
                sandbox=sandbox,
            )
            for a in result.audits
        ]
        fresh = ChatSnapshot(
            chat_id=sender.chat_id,
            state=new_state,
            context=ctx.dump(),
            last_update_id=update_id
            if update_id is not None
            else (snapshot.last_update_id if snapshot else None),
            ui_message_id=snapshot.ui_message_id if snapshot else None,
            outbox=Outbox(update_id, result.delete_user_message, result.replies)
            if update_id is not None and (result.replies or result.delete_user_message)
            else None,
        )
        if result.forget:  # the patient confirmed /forget
            erased = await self._store.forget_chat(
                sender.chat_id, user_id=sender.user_id, audits=audits
            )
            log.info(
                "forgot chat=%s update=%s states=%s links=%s",
                sender.chat_id,
                update_id,
                erased.states,
                erased.links,
            )
            return Handled(replies=result.replies, sandbox=sandbox, state=new_state)
        try:
            await self._store.save(
                fresh,
                expected_version=version,
                audits=audits,
                update_id=update_id,
                link=link,
                unlink=sender.user_id if result.unlinked and not sandbox else None,
            )
        except StaleVersion:
            log.warning(
                "concurrent update lost the race chat=%s update=%s", sender.chat_id, update_id
            )
            raise
        log.info(
            "step chat=%s update=%s %s -> %s audits=%s",
            sender.chat_id,
            update_id,
            state,
            new_state,
            ",".join(a.outcome for a in result.audits) or "-",
        )
        return Handled(
            replies=result.replies,
            delete_user_message=result.delete_user_message,
            wake_at=result.wake_at,
            ui_message_id=fresh.ui_message_id,
            sandbox=sandbox,
            state=new_state,
            asks_contact=result.asks_contact,
            awaits_code=result.awaits_code,
        )

    async def _restore(
        self, sender: Sender, snapshot: ChatSnapshot | None, sandbox: bool
    ) -> tuple[str, DialogContext]:
        if snapshot is not None:
            try:
                return snapshot.state, DialogContext.load(snapshot.context)
            except ValidationError:
                log.error("unreadable dialog context chat=%s: starting over", sender.chat_id)
        ctx = DialogContext(language=language_for(sender.language_code))
        if not sandbox and (link := await self._store.linked_patient(sender.user_id)):
            ctx.patient_id, ctx.linked_at = link
        return IDLE, ctx

    def _duplicate(self, snapshot: ChatSnapshot, update_id: int, sandbox: bool) -> Handled:
        """A redelivered update: its effects are stored; its replies again, unless the adapter
        said they were sent (it does not for replies it showed in place: those repeat
        harmlessly)."""
        outbox = snapshot.outbox
        unsent = outbox is not None and outbox.update_id == update_id
        log.info(
            "duplicate update chat=%s update=%s replies=%s",
            snapshot.chat_id,
            update_id,
            "unsent" if unsent else "sent",
        )
        return Handled(
            replies=outbox.replies if outbox is not None and unsent else [],
            delete_user_message=outbox is not None and unsent and outbox.delete,
            duplicate=True,
            ui_message_id=snapshot.ui_message_id,
            sandbox=sandbox,
            state=snapshot.state,
            asks_contact=asks_contact(snapshot.state),
            awaits_code=awaits_code(snapshot.state),
        )

    async def wake_ups(self) -> list[tuple[int, datetime]]:
        """(chat, when) for every dialog that wants a Tick (a code yet to expire, a reason yet
        to be forgotten): the wake-ups to set again after a restart."""
        due = []
        for state in WAKING:
            for chat_id, stored in await self._store.contexts_in(state):
                try:
                    when = next_wake(state, DialogContext.load(stored))
                except ValidationError:
                    continue
                if when is not None:
                    due.append((chat_id, when))
        return due

    async def delivered(self, chat_id: int, ui_message_id: int | None) -> None:
        """The step's replies were sent; `ui_message_id` holds the chat's live buttons now (to
        retire them later)."""
        await self._store.delivered(chat_id, ui_message_id)
