"""The five languages: Telegram's language code to ours, the /language menu, dates in the clinic's
zone written each language's way (Babel), and plural forms from the catalogs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.events import Button, Command
from dialogs.i18n import LANGUAGES, Translator, language_for
from tests.support.dialog_driver import Driver

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WINTER = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 14:00 in Stockholm (CET)
SUMMER = datetime(2026, 7, 7, 13, 0, tzinfo=UTC)  # 15:00 (CEST)


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("sv", "sv"),
        ("sv-FI", "sv"),
        ("nb", "nb"),
        ("no", "nb"),
        ("nn", "nb"),
        ("da", "da"),
        ("fi", "fi"),
        ("en-GB", "en"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_telegrams_language_code_picks_ours(code: str | None, language: str) -> None:
    assert language_for(code) == language


@pytest.mark.parametrize(
    ("language", "when", "short", "summer"),
    [
        ("en", "Tuesday 3 March, 14:00", "Tue 3 Mar, 14:00", "Tuesday 7 July, 15:00"),
        ("sv", "Tisdag 3 mars kl. 14:00", "Tis 3 mars kl. 14:00", "Tisdag 7 juli kl. 15:00"),
        ("nb", "Tirsdag 3. mars kl. 14:00", "Tir. 3. mars kl. 14:00", "Tirsdag 7. juli kl. 15:00"),
        (
            "da",
            "Tirsdag d. 3. marts kl. 14.00",
            "Tirs. 3. mar. kl. 14.00",
            "Tirsdag d. 7. juli kl. 15.00",
        ),
        (
            "fi",
            "Tiistai 3. maaliskuuta klo 14.00",
            "Ti 3.3. klo 14.00",
            "Tiistai 7. heinäkuuta klo 15.00",
        ),
    ],
)
def test_dates_are_written_each_languages_way_in_the_clinics_zone(
    language: str, when: str, short: str, summer: str
) -> None:
    t = Translator(language, STOCKHOLM)
    assert (t.when(WINTER), t.short(WINTER), t.when(SUMMER)) == (when, short, summer)


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "That code was not right. 1 try left.", "That code was not right. 2 tries left."),
        ("sv", "Koden stämde inte. 1 försök kvar.", "Koden stämde inte. 2 försök kvar."),
        ("nb", "Koden var feil. 1 forsøk igjen.", "Koden var feil. 2 forsøk igjen."),
        ("da", "Koden var forkert. 1 forsøg tilbage.", "Koden var forkert. 2 forsøg tilbage."),
        ("fi", "Koodi oli väärä. 1 yritys jäljellä.", "Koodi oli väärä. 2 yritystä jäljellä."),
    ],
)
def test_plural_forms_follow_each_language(language: str, one: str, two: str) -> None:
    t = Translator(language, STOCKHOLM)
    assert (t.plural("code_wrong", 1), t.plural("code_wrong", 2)) == (one, two)


async def test_language_offers_all_five_each_in_its_own_name() -> None:
    driver = Driver()
    await driver.send(Command("language"))
    assert [o.label for o in driver.options()] == [
        "English",
        "Svenska",
        "Norsk bokmål",
        "Dansk",
        "Suomi",
    ]
    for language in LANGUAGES:
        await driver.send(Button(f"L:{language}"))
        assert Translator(language, STOCKHOLM)("language_set") in driver.text()
