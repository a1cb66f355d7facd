"""The cancellation dialog, free of Telegram, HTTP and SQL: events in, replies out.

The surface adapters use: `run_step` with the chat's state and `DialogContext`, an `Event`, and
the `Services` a step may use; a `StepResult` of `Reply`s back. The clinic is reached through
the `Clinic` protocol (dialogs.clinic).
"""

from dialogs.clinic import Clinic, ClinicError, TestPatientDirectory
from dialogs.config import DialogConfig
from dialogs.context import DialogContext
from dialogs.dialog import next_wake, run_step
from dialogs.events import Button, Command, Contact, Event, Text, Tick
from dialogs.replies import Audit, Option, Reply, StepResult
from dialogs.turn import Services

__all__ = [
    "Audit",
    "Button",
    "Clinic",
    "ClinicError",
    "Command",
    "Contact",
    "DialogConfig",
    "DialogContext",
    "Event",
    "Option",
    "Reply",
    "Services",
    "StepResult",
    "TestPatientDirectory",
    "Text",
    "Tick",
    "next_wake",
    "run_step",
]
