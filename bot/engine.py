"""The engine: for one chat, load the dialog's state, run one step, and save the new state together
with its audit rows in one transaction. Adapters (Telegram, terminal) call `Engine.handle`.

An update whose id is not above the chat's last stored one was processed already: it is answered
with `duplicate=True` and nothing else happens, so redelivery after a crash has its effects once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.store import AuditEntry, ChatSnapshot, StaleVersion, Store
from dialogs.context import DialogContext
from dialogs.conversation import Services, run_step
from dialogs.events import Event
from dialogs.i18n import language_for
from dialogs.machine import IDLE
from dialogs.replies import Reply

log = logging.getLogger(__name__)


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
        self._is_sandbox = is_sandbox
        self._clock = clock

    async def handle(
        self, sender: Sender, event: Event, *, update_id: int | None = None
    ) -> Handled:
        sandbox = self._is_sandbox(sender.chat_id)
        snapshot = await self._store.load(sender.chat_id)
        if (
            snapshot is not None
            and update_id is not None
            and snapshot.last_update_id is not None
            and update_id <= snapshot.last_update_id
        ):
            log.info("duplicate update chat=%s update=%s", sender.chat_id, update_id)
            return Handled(duplicate=True, ui_message_id=snapshot.ui_message_id, sandbox=sandbox)
        state, ctx = await self._restore(sender, snapshot, sandbox)
        new_state, result = await run_step(
            state, ctx, event, self._services_for(sender.chat_id), self._clock()
        )
        link = None
        if result.linked_patient is not None and not sandbox:
            link = (sender.user_id, result.linked_patient)
        audits = [
            AuditEntry(
                appointment_id=a.appointment_id,
                outcome=a.outcome,
                new_id=a.new_id,
                leyr_instance=a.reference,
                patient_id=ctx.patient_id,
            )
            for a in result.audits
        ]
        fresh = ChatSnapshot(
            chat_id=sender.chat_id,
            state=new_state,
            context=ctx.dump(),
            language=ctx.language,
            version=snapshot.version if snapshot else 0,
            last_update_id=update_id
            if update_id is not None
            else (snapshot.last_update_id if snapshot else None),
            ui_message_id=snapshot.ui_message_id if snapshot else None,
        )
        try:
            await self._store.save(
                fresh,
                expected_version=snapshot.version if snapshot else None,
                audits=audits,
                update_id=update_id,
                link=link,
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
        if not sandbox:
            ctx.patient_id = await self._store.linked_patient(sender.user_id)
        return IDLE, ctx

    async def set_ui_message(self, chat_id: int, message_id: int | None) -> None:
        """Remember which bot message holds the chat's live buttons (to retire them later)."""
        await self._store.set_ui_message(chat_id, message_id)
