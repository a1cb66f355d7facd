"""Reading what patients type: personal identity numbers, phone numbers, SMS codes and slash
commands."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer
from stdnum.se import personnummer

from dialogs.config import IdKind

MAX_INPUT = 200  # longer text is never an id or a code
_CODE = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){3,7}(?![0-9])")


def personal_number(text: str, kind: IdKind) -> str | None:
    """The canonical form Leyr takes (SE: 12 digits, NO: 11 digits), or None if not valid."""
    if len(text) > MAX_INPUT:
        return None
    raw = text.strip()
    try:
        if kind == "se_personal_number":
            digits = re.sub(r"[^0-9]", "", personnummer.validate(raw))
            if len(digits) == 12:
                return digits
            return f"{personnummer.get_birth_date(raw).year // 100}{digits}"
        return fodselsnummer.compact(fodselsnummer.validate(raw))
    except (ValidationError, ValueError):
        return None


def clean(raw: str) -> str:
    """Untrusted text made safe to echo and compare: bounded, no control characters."""
    text = unicodedata.normalize("NFKC", raw[: MAX_INPUT * 4])
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n ")
    return re.sub(r"\s+", " ", text).strip()


def index(text: str, size: int) -> int | None:
    """A list position as typed or carried by a button ("0".."999"), if within `size`."""
    if not text.isdigit() or len(text) > 3:
        return None
    position = int(text)
    return position if 0 <= position < size else None


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
