"""What support agents get in sandbox chats: test patients instead of identity, the emulator's SMS
and each injected fault shown in the chat, and commands to reset the sandbox, switch
one-step/two-step and inject faults.

This is the one path for agent commands: the terminal and the Telegram adapter both hand the
typed text to `SandboxAgent.command` and show what `SandboxAgent.notes_for` returns after each
step. Only chats the runtime marks as sandbox chats are ever given an agent.
"""

from __future__ import annotations

from collections import defaultdict

from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.notes import Note, describe
from bot.sandbox.relay import SandboxRelay
from bot.sandbox.shapes import SWITCHES
from bot.sandbox.texts import say
from bot.settings import SANDBOX_EMR
from bot.store import ChatSnapshot, Store
from dialogs.clinic import Clinic, TestPatient
from dialogs.context import DialogContext
from dialogs.i18n import DEFAULT_LANGUAGE, language_for
from dialogs.machine import IDLE
from dialogs.parsing import command_parts

FAULTS: dict[str, Fault] = {
    "timeout": Fault(kind="timeout"),
    "reset": Fault(kind="reset"),
    "server_error": Fault(kind="server_error"),
    "error_envelope": Fault(kind="error_envelope"),
    "emr_error": Fault(kind="error_envelope", code="EMR_ERROR", status=502, error_code="EMR_ERROR"),
    "malformed": Fault(kind="malformed"),
}
"""What each `/sandbox_fail KIND` injects (the emulator copies it)."""
KINDS = ", ".join(FAULTS)

COMMANDS = (
    "sandbox",
    "sandbox_reset",
    "sandbox_onestep",
    "sandbox_twostep",
    "sandbox_fail",
    "sandbox_shape",
)
"""The agent's commands, in the order of their menu."""


def agent_commands(language: str) -> list[tuple[str, str]]:
    """(command, description) of the agent's commands, for a sandbox chat's command menu."""
    return [(name, say(language, f"menu_{name}")) for name in COMMANDS]


class SandboxAgent:
    def __init__(
        self, emulator: Emulator, store: Store, emr: str = SANDBOX_EMR, country: str = "SE"
    ) -> None:
        """`emr`: the sandbox EHR the chats use; `country`: whose test patients are offered."""
        self._emulator = emulator
        self._store = store
        self._emr = emr
        self._country = country
        self._notes: defaultdict[int, list[Note]] = defaultdict(list)

    async def test_patients(self, language: str = DEFAULT_LANGUAGE) -> list[TestPatient]:
        return [
            TestPatient(p.personal_number, say(language, f"patient_{p.emr_id}"))
            for p in self._emulator.test_patients(self._country)
        ]

    def relay(self, chat_id: int, clinic: Clinic) -> Clinic:
        """The chat's clinic, noting the SMS codes the emulator sends and the faults met because
        of this chat."""
        return SandboxRelay(clinic, self._emulator, self._emr, self._notes[chat_id])

    async def notes_for(self, chat_id: int, language_code: str | None) -> list[str]:
        """What to show the agent since the last call (then forgotten): SMS texts and fault
        notes, in the chat's language."""
        notes = self._notes.pop(chat_id, [])
        if not notes:
            return []
        language = await self._language(chat_id, language_code)
        return [note.render(language) for note in notes]

    async def command(self, chat_id: int, text: str, language_code: str | None) -> str | None:
        """The answer to an agent command typed as `text` ("/sandbox_fail timeout"); None when
        it is not one (the dialog gets it then)."""
        parts = command_parts(text)
        if parts is None or parts[0] not in COMMANDS:
            return None
        name, args = parts
        language = await self._language(chat_id, language_code)
        if name == "sandbox_reset":
            await self._reset(chat_id)
            return say(language, "reset")
        if name in ("sandbox_onestep", "sandbox_twostep"):
            mode = "one_step" if name == "sandbox_onestep" else "two_step"
            self._emulator.set_profile(self._emr, cancellation=mode)
            return say(language, mode)
        if name == "sandbox_fail":
            fault = FAULTS.get(args[0].lower()) if args else None
            if fault is None:
                return say(language, "fail_usage", kinds=KINDS)
            self._emulator.inject(fault)
            return say(language, "fail_armed", fault=describe(fault, language))
        if name == "sandbox_shape":
            return self._shape(args[0].lower() if args else "", language)
        return say(language, "help", kinds=KINDS)

    async def _reset(self, chat_id: int) -> None:
        """A clean slate: the emulator's data, codes, faults and profiles, and this chat's
        stored dialog (its test patient, limits and counters; its language stays, and its
        buttons go stale), its link and its unshown notes."""
        self._emulator.reset()
        self._notes.pop(chat_id, None)
        await self._store.unlink(chat_id)  # in a private chat the chat is its user
        snapshot = await self._store.load(chat_id)
        if snapshot is None:
            return
        old = _context(snapshot)
        fresh = DialogContext(language=old.language, generation=old.generation + 1)
        await self._store.save(
            ChatSnapshot(
                chat_id=chat_id,
                state=IDLE,
                context=fresh.dump(),
                last_update_id=snapshot.last_update_id,
                ui_message_id=snapshot.ui_message_id,
            ),
            expected_version=snapshot.version,
        )

    async def _language(self, chat_id: int, language_code: str | None) -> str:
        """The chat's language as the dialog keeps it (chosen with /language), else Telegram's."""
        snapshot = await self._store.load(chat_id)
        if snapshot is not None:
            return _context(snapshot).language
        return language_for(language_code)

    def _shape(self, switch: str, language: str) -> str:
        """Switch one way Leyr's answers look on or off; without a known NAME, list them."""
        shapes = self._emulator.shapes
        if switch not in SWITCHES:
            on = set(shapes.on())
            return (
                say(language, "shape_list")
                + "\n"
                + "\n".join(
                    f"{'[on] ' if name in on else ''}{name}: {what}"
                    for name, what in SWITCHES.items()
                )
            )
        shapes.set(switch, switch not in shapes.on())
        return say(language, "shape_on" if switch in shapes.on() else "shape_off", shape=switch)


def _context(snapshot: ChatSnapshot) -> DialogContext:
    try:
        return DialogContext.load(snapshot.context)
    except ValueError:  # unreadable: the engine starts such a chat over too
        return DialogContext()
