"""The sandbox chain in the terminal chat: its chain patient, with an appointment at each of the
three care units, sees them labelled with their care units and cancels two at different care
units in one go (two-step: an SMS code for each)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.console import chat
from bot.settings import load_settings
from tests.ops.test_console import Script, option


def code_for_prompt(screen: str) -> str:
    """The SMS code for the appointment the last code prompt names (the sandbox's SMS names it
    in the chat's language, e.g. "Saturday 5 December, 13:00")."""
    asked = max(screen.rfind("confirm cancelling:"), screen.rfind("Next, type the SMS code"))
    day, month, time = re.findall(r"(\d+) ([A-Z][a-z]{2})[a-z]*, (\d\d:\d\d)", screen[asked:])[0]
    codes = re.findall(rf"{day} {month}[a-z]*, {time}: (\d{{6}})", screen)
    return str(codes[-1])


async def test_a_chain_patient_cancels_two_at_different_care_units_in_one_go(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
    )
    out = io.StringIO()
    script = Script(
        out,
        [
            option("Greta Kedjesson"),
            option("Cancel several"),
            "1",  # the first two, at Södermalm and Kungsholmen
            "2",
            option("Continue"),
            option("Yes, cancel"),
            code_for_prompt,
            code_for_prompt,
        ],
    )
    await chat(settings, script, out)
    screen = out.getvalue()
    listing = screen[screen.find("Your upcoming appointments") :]
    for unit in ("Södermalm", "Kungsholmen", "Solna"):
        assert f"Sandbox Clinic {unit}" in listing
    ending = screen[screen.rfind("Next, type the SMS code") :]
    cancelled = re.findall(r"✅ Cancelled: .*· (Sandbox Clinic \w+) ·", ending)
    assert len(cancelled) == 2 and len(set(cancelled)) == 2, ending
