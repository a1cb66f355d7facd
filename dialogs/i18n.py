"""Translating catalog keys and formatting dates per language, in the clinic's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime

from dialogs.catalogs import en, sv

CATALOGS: dict[str, ModuleType] = {"en": en, "sv": sv}
DEFAULT_LANGUAGE = "en"


def language_for(code: str | None) -> str:
    """Our language for a Telegram `language_code` such as "sv" or "en-GB"."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in CATALOGS else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    language: str
    zone: ZoneInfo

    def __call__(self, key: str, **values: object) -> str:
        catalog = CATALOGS.get(self.language, CATALOGS[DEFAULT_LANGUAGE])
        template: str = catalog.MESSAGES[key]
        return template.format(**values)

    def plural(self, key: str, count: int, **values: object) -> str:
        """The catalog's `{key}_one`, `{key}_other`, ... form for `count` in this language."""
        catalog = CATALOGS.get(self.language, CATALOGS[DEFAULT_LANGUAGE])
        form = Locale.parse(catalog.LOCALE).plural_form(count)
        chosen = f"{key}_{form}" if f"{key}_{form}" in catalog.MESSAGES else f"{key}_other"
        return self(chosen, count=count, **values)

    def when(self, moment: datetime) -> str:
        """Weekday, date and 24-hour time in the clinic's zone, e.g. "Tuesday 3 March, 14:00"."""
        catalog = CATALOGS.get(self.language, CATALOGS[DEFAULT_LANGUAGE])
        return _capital(
            format_datetime(moment, catalog.DATETIME, tzinfo=self.zone, locale=self.language)
        )

    def short(self, moment: datetime) -> str:
        """The same, short enough for a button: "Tue 3 Mar, 14:00"."""
        catalog = CATALOGS.get(self.language, CATALOGS[DEFAULT_LANGUAGE])
        return _capital(
            format_datetime(moment, catalog.SHORT, tzinfo=self.zone, locale=self.language)
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
