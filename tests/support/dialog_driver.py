"""Drive the dialog as a patient would: keep (state, context), send events, press buttons by label,
and reach any state of the machine from scratch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dialogs import Services, run_step
from dialogs.context import DialogContext
from dialogs.events import Button, Command, Contact, Event, Text
from dialogs.replies import Option, StepResult
from tests.support.fake_clinic import NOW, PERSONAL_NUMBER, PHONE, FakeClinic, services


@dataclass
class Driver:
    clinic: FakeClinic = field(default_factory=FakeClinic)
    sandbox: bool = False
    state: str = "idle"
    ctx: DialogContext = field(default_factory=DialogContext)
    now: datetime = NOW
    last: StepResult = field(default_factory=StepResult)
    services: Services | None = None

    def __post_init__(self) -> None:
        if self.services is None:
            self.services = services(self.clinic, sandbox=self.sandbox)

    async def send(self, event: Event) -> StepResult:
        assert self.services is not None
        self.state, self.last = await run_step(self.state, self.ctx, event, self.services, self.now)
        return self.last

    def options(self) -> list[Option]:
        return [o for reply in self.last.replies for row in reply.options for o in row]

    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last.replies)

    def key(self, label: str) -> str:
        for option in self.options():
            if label in option.label:
                return option.key
        raise AssertionError(f"no option {label!r} in {[o.label for o in self.options()]}")

    async def press(self, label: str) -> StepResult:
        return await self.send(Button(self.key(label)))

    def restarted(self) -> Driver:
        """The same chat after a process restart: context through JSON, fresh Services."""
        ctx = DialogContext.load(json.loads(json.dumps(self.ctx.dump())))
        return Driver(
            clinic=self.clinic, sandbox=self.sandbox, state=self.state, ctx=ctx, now=self.now
        )

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def to_state(state: str, *, two_step: bool = True) -> Driver:
    """A driver whose dialog is in `state`, reached the way a patient gets there."""
    driver = Driver(clinic=FakeClinic(two_step=two_step), sandbox=state == "pick_test_patient")
    if state == "idle":
        return driver
    if state == "pick_test_patient":
        await driver.send(Command("start"))
        return driver
    await driver.send(Command("start"))
    if state == "identify_contact":
        return driver
    await driver.send(Contact(PHONE.lstrip("+"), own=True))
    if state == "identify_number":
        return driver
    await driver.send(Text(PERSONAL_NUMBER))
    if state == "choose":
        return driver
    if state == "forget":  # asked from the list, as a known patient
        await driver.send(Command("forget"))
        return driver
    await driver.press("2.")
    if state == "confirm":
        return driver
    if state == "reason":
        await driver.press("Add a reason")
        return driver
    await driver.press("Yes, cancel")
    if state == "awaiting_code":
        return driver
    assert state == "outcome", state
    await driver.press("Don't cancel")
    return driver


def cancels(driver: Driver) -> list[str]:
    """The cancel calls that reached the fake clinic, e.g. "cancel:a-1,a-2" for a bulk."""
    return [c for c in driver.clinic.calls if c.startswith("cancel:")]
