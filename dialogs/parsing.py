"""Reading what patients type: personal identity numbers, phone numbers, SMS codes and slash
commands."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from stdnum import luhn
from stdnum.dk import cpr
from stdnum.exceptions import InvalidFormat, InvalidLength, ValidationError
from stdnum.fi import hetu
from stdnum.no import fodselsnummer
from stdnum.se import personnummer
from stdnum.util import isdigits

from dialogs.config import IdKind

MAX_INPUT = 200  # longer text is never an id or a code
_CODE = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){3,7}(?![0-9])")


def personal_number(text: str, kind: IdKind) -> str | None:
    """The canonical form of a valid national identity number of `kind`, or None: SE 12 digits
    (as Leyr takes it), NO 11 digits (as Leyr takes it), DK 10 digits, FI "DDMMYY-NNNC"."""
    if len(text) > MAX_INPUT:
        return None
    raw = text.strip()
    try:
        match kind:
            case "se_personal_number":
                return _swedish(raw)
            case "no_personal_number":
                return fodselsnummer.compact(fodselsnummer.validate(raw))
            case "dk_cpr":
                return cpr.compact(cpr.validate(raw))
            case "fi_hetu":
                return hetu.compact(hetu.validate(raw))
    except (ValidationError, ValueError):
        return None


COORDINATION_DAYS = 60
"""A Swedish samordningsnummer is a personnummer whose birth day has 60 added."""


def _swedish(raw: str) -> str:
    """A personnummer or samordningsnummer as 12 digits. python-stdnum checks the date and the
    Luhn digit of personnummer only, so a samordningsnummer's date is checked day-60."""
    number = personnummer.compact(raw)
    if len(number) not in (11, 13):
        raise InvalidLength()
    digits = number[:-5] + number[-4:]
    if number[-5] not in "-+" or not isdigits(digits):
        raise InvalidFormat()
    day = int(number[-7:-5])
    if day > COORDINATION_DAYS:
        number = f"{number[:-7]}{day - COORDINATION_DAYS:02d}{number[-5:]}"
    born = personnummer.get_birth_date(number)
    luhn.validate(digits[-10:])
    return f"{born.year // 100}{digits[-10:]}"


def clean(raw: str) -> str:
    """Untrusted text made safe to echo and compare: no control characters, white space folded.
    Never cut: what is left is checked for length where it matters (a reason), so padding
    cannot push the end of a text out unseen (adapters bound what arrives: Telegram at 4096)."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n ")
    return re.sub(r"\s+", " ", text).strip()


def index(text: str, size: int) -> int | None:
    """A list position as typed or carried by a button ("0".."999"), if within `size`. Only
    decimal digits count: others that `isdigit` admits (Ethiopic, superscripts) `int` refuses."""
    if not text.isdecimal() or len(text) > 3:
        return None
    position = int(text)
    return position if 0 <= position < size else None


def holds_number(text: str) -> bool:
    """The text carries a long run of digits, as a personal or phone number does: it should not
    stay in the chat."""
    return sum(ch.isdecimal() for ch in text) >= 6


def e164(phone: str, region: str) -> str | None:
    """The phone in E.164, or None. Telegram sends contacts' numbers without the plus."""
    if len(phone) > MAX_INPUT:
        return None
    candidate = phone.strip()
    if candidate and candidate[0].isdigit() and len(re.sub(r"[^0-9]", "", candidate)) > 10:
        candidate = "+" + candidate
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sms_code(text: str) -> str | None:
    """The 4 to 8 digit code in what the patient typed ("123 456", "code: 123-456"), or None."""
    if len(text) > MAX_INPUT:
        return None
    found = _CODE.findall(text)
    if len(found) != 1:
        return None
    return re.sub(r"[^0-9]", "", found[0])


def command_parts(text: str) -> tuple[str, list[str]] | None:
    """("name", [args]) for "/Name@bot a b"; None when the text is not a command."""
    if not text.startswith("/"):
        return None
    words = text[1:].split()
    if not words:
        return None
    name = words[0].partition("@")[0].lower()
    return (name, words[1:]) if name else None
