"""What a patient can do, as the dialog sees it: adapters turn their inputs into these events."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = frozenset({"start", "help", "stop", "language"})


@dataclass(frozen=True, slots=True)
class Text:
    """Typed text. Untrusted: any length, any characters."""

    text: str


@dataclass(frozen=True, slots=True)
class Button:
    """A pressed option. `data` is what the adapter got back: forged until the dialog checks it."""

    data: str


@dataclass(frozen=True, slots=True)
class Contact:
    """A shared contact. `own` is true only when the contact's user is the sender."""

    phone: str
    own: bool


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command (without the slash). Unknown names are answered with help."""

    name: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: sent by the adapter at a step's `wake_at`, e.g. when a code expires."""


Event = Text | Button | Contact | Command | Tick
