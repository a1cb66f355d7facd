"""The gettext catalogs: every language has every message, translated, with the English text's
placeholders, and the compiled catalogs the bot loads are those of the .po files."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.runtime import open_runtime
from bot.settings import ConfigError, load_settings
from dialogs.i18n import LANGUAGES, LOCALE_DIR, MissingCatalog, translations


def catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


def entries(language: str) -> dict[str, Message]:
    """The catalog's messages by key (a plural message's key is its singular id)."""
    found = {}
    for message in catalog(language):
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if key:
            found[key] = message
    return found


def forms(message: Message) -> tuple[str, ...]:
    """The message's translation: one text, or one per plural form."""
    string_ = message.string
    return tuple(string_) if isinstance(string_, tuple | list) else (string_ or "",)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


ENGLISH = entries("en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_english_placeholders(language: str) -> None:
    messages = entries(language)
    assert messages.keys() == ENGLISH.keys()
    for key, message in messages.items():
        assert not message.fuzzy, key
        english = set().union(*(fields(form) for form in forms(ENGLISH[key])))
        for form in forms(message):
            assert form, key
            assert fields(form) == english, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_come_from_the_catalog(language: str) -> None:
    po = catalog(language)
    assert po.num_plurals == 2
    plural = {key: m for key, m in entries(language).items() if m.pluralizable}
    assert plural.keys() == {"btn_continue", "code_not_found", "code_wrong"}
    for key, message in plural.items():
        assert len(forms(message)) == po.num_plurals, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_po_file(language: str) -> None:
    compiled = translations(language)
    for key, message in entries(language).items():
        if message.pluralizable:
            one, other = forms(message)
            assert (compiled.ngettext(key, key, 1), compiled.ngettext(key, key, 2)) == (one, other)
        else:
            assert compiled.gettext(key) == forms(message)[0]


def test_a_missing_compiled_catalog_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dialogs.i18n.LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        with pytest.raises(MissingCatalog, match="make install"):
            translations("sv")
    finally:
        translations.cache_clear()


async def test_the_bot_does_not_start_without_its_compiled_catalogs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    )
    monkeypatch.setattr("dialogs.i18n.LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"messages\.mo is missing: run `make install`"):
            async with open_runtime(settings):
                pass
    finally:
        translations.cache_clear()
