"""The engine keeps a Telegram user's link to a patient with its age: a new chat of that user
inherits when the patient proved who they are, and an aged link is dropped from storage."""

from __future__ import annotations

from datetime import timedelta

from bot.engine import Engine, Sender
from bot.store import open_store
from dialogs.events import Command, Contact, Text
from tests.support.fake_clinic import NOW, PERSONAL_NUMBER, PHONE, FakeClinic, services

USER = 77


async def test_an_aged_link_is_dropped_for_every_chat_of_the_user(database_url: str) -> None:
    store = await open_store(database_url, pseudonym_key="test-key")
    clock = [NOW]
    engine = Engine(store, lambda _: services(FakeClinic()), lambda _: False, lambda: clock[0])
    try:
        first = Sender(chat_id=USER, user_id=USER)
        for event in (Command("start"), Contact(PHONE.lstrip("+"), own=True)):
            await engine.handle(first, event)
        await engine.handle(first, Text(PERSONAL_NUMBER))
        found = await store.linked_patient(USER)
        assert found is not None and found[1] == NOW

        clock[0] = NOW + timedelta(days=2)
        fresh = await engine.handle(Sender(chat_id=-1 - USER, user_id=USER), Command("start"))
        assert fresh.state == "choose"  # a new chat of the same user, link inherited

        clock[0] = NOW + timedelta(days=31)
        aged = await engine.handle(Sender(chat_id=-2 - USER, user_id=USER), Command("start"))
        assert aged.state == "identify_contact"
        assert await store.linked_patient(USER) is None
    finally:
        await store.close()
