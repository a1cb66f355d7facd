"""The agent's tools speak all five languages from the gettext catalogs: each command's answer,
the test patients' labels and the command menu are the chat's language's catalog texts (read
here from the .po files themselves), never English standing in for a missing translation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.sandbox.agent import COMMANDS, FAULTS, KINDS, SandboxAgent, agent_commands
from bot.sandbox.emulator import Emulator
from bot.sandbox.notes import WRITES, FaultNote, SmsNote
from bot.sandbox.texts import say
from bot.store import Store, open_store
from dialogs.i18n import LANGUAGES, LOCALE_DIR

CHAT = 4242
COUNTRIES = ("SE", "NO", "DK", "FI")


def po(language: str) -> dict[str, str]:
    """The language's sandbox texts as its .po file has them, by key without `sandbox_`."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    return {
        message.id.removeprefix("sandbox_"): message.string
        for message in catalog
        if isinstance(message.id, str)
        and message.id.startswith("sandbox_")
        and isinstance(message.string, str)
    }


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(
        f"sqlite+aiosqlite:///{tmp_path / 'agent.sqlite3'}", pseudonym_key="test-key"
    )
    try:
        yield opened
    finally:
        await opened.close()


async def answers(agent: SandboxAgent, language: str) -> dict[str, str | None]:
    commands = (
        "/sandbox",
        "/sandbox_reset",
        "/sandbox_onestep",
        "/sandbox_twostep",
        "/sandbox_fail timeout",
        "/sandbox_fail nonsense",
    )
    return {command: await agent.command(CHAT, command, language) for command in commands}


def expected(language: str) -> dict[str, str | None]:
    texts = po(language)
    return {
        "/sandbox": texts["help"].format(kinds=KINDS),
        "/sandbox_reset": texts["reset"],
        "/sandbox_onestep": texts["one_step"],
        "/sandbox_twostep": texts["two_step"],
        "/sandbox_fail timeout": texts["fail_armed"].format(
            fault=texts["fault_timeout"].format(landed="")
        ),
        "/sandbox_fail nonsense": texts["fail_usage"].format(kinds=KINDS),
    }


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_agents_answers_are_the_languages_catalog_texts(
    language: str, store: Store
) -> None:
    agent = SandboxAgent(Emulator(), store)
    got = await answers(agent, language)
    assert got == expected(language)
    if language != "en":
        english = expected("en")
        assert all(got[command] != english[command] for command in got), language


async def test_norwegian_telegram_codes_get_bokmal(store: Store) -> None:
    agent = SandboxAgent(Emulator(), store)
    assert await answers(agent, "no") == expected("nb")
    assert await answers(agent, "nn") == expected("nb")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_test_patients_labels_are_the_languages_catalog_texts(
    language: str, store: Store
) -> None:
    emulator = Emulator()
    texts = po(language)
    for country in COUNTRIES:
        agent = SandboxAgent(emulator, store, country=country)
        labels = [p.label for p in await agent.test_patients(language)]
        wanted = [texts[f"patient_{p.emr_id}"] for p in emulator.test_patients(country)]
        assert labels == wanted and labels, (language, country)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_command_menu_is_the_languages_catalog_texts(language: str) -> None:
    texts = po(language)
    assert agent_commands(language) == [(name, texts[f"menu_{name}"]) for name in COMMANDS]
    if language != "en":
        english = dict(agent_commands("en"))
        assert all(text != english[name] for name, text in agent_commands(language))


ACTIONS = (
    "did_retried",
    "did_read_gave_up",
    "did_read_refused",
    "did_unknown",
    "did_code_rejected",
    "did_pending_gone",
    "did_not_sent",
    "did_write_refused",
    "did_nothing",
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_note_is_told_in_the_language(language: str) -> None:
    """Every fault, Leyr call and outcome the notes can name has a text in each catalog (a
    missing one raises rather than showing the agent a bare key)."""
    operations = ("find_patient", "list_appointments", *sorted(WRITES))
    for fault in FAULTS.values():
        for operation in operations:
            for action in ACTIONS:
                for reread in (None, "did_reread", "did_reread_failed"):
                    note = FaultNote(operation, fault, "GET /x", action, 2, reread)
                    assert "sandbox_" not in note.render(language)
    sms = SmsNote(datetime(2026, 3, 3, 13, tzinfo=UTC), "123456").render(language)
    assert sms.startswith(po(language)["sms"].split("\n")[0]) and "123456" in sms


def test_a_key_missing_from_the_catalogs_is_an_error() -> None:
    with pytest.raises(KeyError):
        say("fi", "no_such_text")
