"""Translating message keys through the gettext catalogs in `dialogs/locale`, and formatting dates
per language in the clinic's time zone (Babel).

The compiled catalogs (`.mo`) are built by `make install`; a missing one is an error, never a
silent fallback to the message keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "sv", "nb", "da", "fi")
"""Every language the bot speaks, in the order the /language menu offers them."""
DEFAULT_LANGUAGE = "en"
ALIASES = {"no": "nb", "nn": "nb"}
"""Telegram language codes that map to another of ours: Norwegian (and Nynorsk) to bokmål."""


class MissingCatalog(RuntimeError):
    """A language's compiled catalog is not there: `make install` compiles them."""


def _own_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


LANGUAGE_NAMES: dict[str, str] = {code: _own_name(code) for code in LANGUAGES}
"""Each language's name in itself, as the /language menu offers it."""


def language_for(code: str | None) -> str:
    """Our language for a Telegram `language_code` such as "sv", "nb", "no" or "en-GB"."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].split("_")[0].lower()
    base = ALIASES.get(base, base)
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> Translations:
    """The compiled catalog of one of `LANGUAGES`."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    except FileNotFoundError:
        raise MissingCatalog(f"{path} is missing: run `make install` to compile it") from None


@dataclass(frozen=True, slots=True)
class Translator:
    language: str
    zone: ZoneInfo

    @property
    def _catalog(self) -> Translations:
        return translations(self.language if self.language in LANGUAGES else DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: object) -> str:
        return self._catalog.gettext(key).format(**values)

    def plural(self, key: str, count: int, **values: object) -> str:
        """The catalog's plural form of `key` for `count` in this language."""
        return self._catalog.ngettext(key, key, count).format(count=count, **values)

    def when(self, moment: datetime) -> str:
        """Weekday, date and 24-hour time in the clinic's zone, e.g. "Tuesday 3 March, 14:00"."""
        return self._format(moment, "when_pattern")

    def short(self, moment: datetime) -> str:
        """The same, short enough for a button: "Tue 3 Mar, 14:00"."""
        return self._format(moment, "short_pattern")

    def _format(self, moment: datetime, pattern: str) -> str:
        locale = self.language if self.language in LANGUAGES else DEFAULT_LANGUAGE
        text = format_datetime(moment, self(pattern), tzinfo=self.zone, locale=locale)
        return text[:1].upper() + text[1:]
