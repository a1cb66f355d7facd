"""/forget: the patient asks the bot to forget them; after one confirm the engine erases the
chat's stored dialog and the link to the patient (read back from SQLite and PostgreSQL), while
the clinic's pseudonymous audit rows stay. Codes still awaited are parked and audited first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.engine import Engine, Sender
from bot.store import Store, open_store
from dialogs import machine as m
from dialogs.events import Button, Command, Contact, Text
from tests.support.dialog_driver import to_state
from tests.support.fake_clinic import NOW, PATIENT_ID, PERSONAL_NUMBER, PHONE, FakeClinic, services

SENDER = Sender(chat_id=4711, user_id=4711, language_code="en")
OTHER = Sender(chat_id=4712, user_id=4712, language_code="en")


async def test_forget_asks_once_then_says_what_was_erased() -> None:
    driver = await to_state(m.CHOOSE)
    asked = await driver.send(Command("forget"))
    assert driver.state == m.FORGET and not asked.forget
    assert "Erase what this bot keeps about you" in driver.text()
    assert [o.label for o in driver.options()] == ["Yes, erase it", "No, keep it"]
    done = await driver.press("Yes, erase it")
    assert driver.state == m.IDLE and done.forget
    assert "are erased" in driver.text()


async def test_forget_can_be_declined() -> None:
    driver = await to_state(m.CHOOSE)
    await driver.send(Command("forget"))
    kept = await driver.press("No, keep it")
    assert driver.state == m.IDLE and not kept.forget
    assert "Nothing was erased" in driver.text()


async def test_codes_awaited_are_parked_and_audited_before_forgetting() -> None:
    driver = await to_state(m.AWAITING_CODE)
    await driver.send(Command("forget"))
    done = await driver.press("Yes, erase it")
    assert done.forget and [a.outcome for a in done.audits] == ["abandoned"]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, pseudonym_key="forget-key")
    yield opened
    await opened.close()


async def _identified(engine: Engine, sender: Sender, first_update: int) -> int:
    update = first_update
    for event in (
        Command("start"),
        Contact(PHONE.lstrip("+"), own=True),
        Text(PERSONAL_NUMBER),
    ):
        update += 1
        handled = await engine.handle(sender, event, update_id=update)
    assert handled.state == m.CHOOSE
    return update


async def test_the_engine_erases_the_chat_and_its_link(store: Store) -> None:
    clinic = FakeClinic()
    engine = Engine(store, lambda chat: services(clinic), lambda chat: False, clock=lambda: NOW)
    update = await _identified(engine, SENDER, 100)
    await _identified(engine, OTHER, 200)
    assert (await store.linked_patient(SENDER.user_id) or ("",))[0] == PATIENT_ID
    update += 1
    asked = await engine.handle(SENDER, Command("forget"), update_id=update)
    yes = next(o.key for r in asked.replies for row in r.options for o in row if "Yes" in o.label)
    update += 1
    done = await engine.handle(SENDER, Button(yes), update_id=update)
    assert done.replies and "are erased" in done.replies[0].text

    assert await store.load(SENDER.chat_id) is None
    assert await store.linked_patient(SENDER.user_id) is None
    assert await store.load(OTHER.chat_id) is not None  # another chat keeps its own
    assert (await store.linked_patient(OTHER.user_id) or ("",))[0] == PATIENT_ID
    async with store.engine.connect() as connection:
        ids = (await connection.execute(text("SELECT chat_id FROM chat_state"))).scalars().all()
    assert ids == [OTHER.chat_id]

    # the next message starts from scratch: the patient proves who they are again
    fresh = await engine.handle(SENDER, Command("start"), update_id=update + 1)
    assert fresh.state == m.IDENTIFY_CONTACT
