"""The dialog's steps, one module each, registered here by state: each module's `Step` holds
that state's question, its buttons and its typed-text handling together."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs import machine
from dialogs.steps import (
    choose,
    code,
    confirm,
    forget,
    identify,
    idle,
    outcome,
    reason,
    test_patients,
)
from dialogs.turn import Step

STEPS: Mapping[str, Step] = {
    machine.IDLE: idle.STEP,
    machine.IDENTIFY_CONTACT: identify.CONTACT_STEP,
    machine.IDENTIFY_NUMBER: identify.NUMBER_STEP,
    machine.PICK_TEST_PATIENT: test_patients.STEP,
    machine.CHOOSE: choose.STEP,
    machine.CONFIRM: confirm.STEP,
    machine.REASON: reason.STEP,
    machine.AWAITING_CODE: code.STEP,
    machine.OUTCOME: outcome.STEP,
    machine.FORGET: forget.STEP,
}

__all__ = ["STEPS"]
