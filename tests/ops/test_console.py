"""The terminal chat, driven as a newcomer would with piped input, and `python -m bot chat`."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import chat, numbered
from bot.settings import load_settings
from dialogs.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, translations
from tests.support.paths import REPO

ROOT = REPO


class Script(io.StringIO):
    """Standard input that answers with the next line once the bot has printed a prompt."""

    def __init__(self, out: io.StringIO, answers: list[object]) -> None:
        super().__init__()
        self._out = out
        self._answers = answers

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if not self._answers:
            return ""
        answer = self._answers.pop(0)
        text = str(answer(self._out.getvalue()) if callable(answer) else answer)
        return text + "\n"


def option(label: str):
    def pick(screen: str) -> str:
        last = screen[screen.rfind("-" * 60) :]
        for number, text in re.findall(r"^\s+(\d+)\) (.*)$", last, re.MULTILINE):
            if label in text:
                return str(number)
        raise AssertionError(f"no option {label!r} in:\n{last}")

    return pick


def first_appointment(screen: str) -> str:
    """The first cancellable appointment's number in the list: the number to type."""
    last = screen[screen.rfind("-" * 60) :]
    listed = re.findall(r"^(\d+)\. (?!🔒)", last, re.MULTILINE)
    options = re.findall(r"^\s+(\d+)\) ", last, re.MULTILINE)
    assert listed[0] in options, last
    return str(listed[0])


def sms_code(screen: str) -> str:
    return str(re.findall(r"📨 [^\n]*:\n.*?(\d{6})", screen)[-1])


async def test_a_newcomer_cancels_through_the_two_step_path(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    out = io.StringIO()
    script = Script(
        out,
        [
            "1",  # the first test patient
            first_appointment,
            option("Yes, cancel"),
            sms_code,
        ],
    )
    await chat(settings, script, out)
    screen = out.getvalue()
    assert "pick a test patient" in screen
    assert "We have sent an SMS" in screen
    assert "✅ Cancelled:" in screen.split("We have sent an SMS")[-1]


@pytest.mark.slow
def test_python_m_bot_chat_runs_with_piped_input(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEYR_", "TELEGRAM_", "DATABASE_URL", "SANDBOX_"))
    }
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="/help\n/stop\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "/start: begin again" in done.stdout
    assert "Stopped: nothing was cancelled." in done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "chat.sqlite3").exists()  # a fresh chat each run, gone afterwards

    kept = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--keep"],
        input="/stop\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert kept.returncode == 0, kept.stderr
    assert (tmp_path / "chat.sqlite3").exists()  # --keep: the state stays in DATABASE_URL


async def test_the_number_in_the_list_is_the_number_to_type(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    out = io.StringIO()
    await chat(settings, Script(out, ["1", "2"]), out)
    screen = out.getvalue()
    listing = screen.split("-" * 60)[-2]
    second = re.search(r"^2\. (.*?) · ", listing, re.MULTILINE)
    assert second is not None, listing
    options = re.findall(r"^\s+(\d+)\) (.*)$", listing, re.MULTILINE)
    numbers = [number for number, _ in options]
    assert len(numbers) == len(set(numbers))  # one number, one meaning
    assert not any(re.match(r"\d+\. ", label) for _, label in options)  # no "2) 2. Sat"
    assert dict(options)["2"].startswith(second.group(1)[:3])
    confirm = screen.split("-" * 60)[-1]
    assert "Do you want to cancel" in confirm and second.group(1) in confirm


def test_options_of_a_listed_item_keep_its_number_and_the_rest_come_after() -> None:
    from dialogs.replies import Option, Reply

    reply = Reply(
        text="Your appointments:\n1. 🔒 Mon\n2. Tue\n3. Wed",
        options=(
            (Option("k:a1", "⬜ 2. Tue"),),
            (Option("k:c", "Continue (0 selected)"), Option("k:1", "Just one")),
        ),
    )
    assert [(n, o.key, label) for n, o, label in numbered(reply)] == [
        (2, "k:a1", "⬜ Tue"),
        (4, "k:c", "Continue (0 selected)"),
        (5, "k:1", "Just one"),
    ]


async def test_library_warnings_stay_out_of_the_conversation(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    out, logged = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logged)
    root = logging.getLogger()
    root.addHandler(handler)

    def warn_then_help(screen: str) -> str:
        logging.getLogger("bot.leyr").warning("PATCH /appointments/x 400")
        logging.getLogger("bot.leyr").error("an error still reaches standard error")
        return "/help"

    try:
        await chat(settings, Script(out, [warn_then_help]), out)
    finally:
        root.removeHandler(handler)
    assert "PATCH" not in out.getvalue() and "PATCH" not in logged.getvalue()
    assert "an error still reaches" in logged.getvalue()
    assert handler.level == logging.NOTSET  # restored after the chat


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_patient_cancels_in_two_steps_in_each_language(
    tmp_path: Path, language: str
) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    t = Translator(language, settings.zone)
    out = io.StringIO()
    script = Script(
        out,
        [
            "/language",
            option(LANGUAGE_NAMES[language]),
            "1",  # the first test patient
            first_appointment,
            option(t("btn_yes")),
            sms_code,
        ],
    )
    await chat(settings, script, out)
    screen = out.getvalue()
    assert t("language_set") in screen and t("pick_test_patient") in screen
    asked = translations(language).gettext("ask_code").split("{")[0]
    assert asked in screen
    cancelled = translations(language).gettext("outcome_cancelled").split("{")[0]
    assert cancelled in screen.split(asked)[-1]


async def test_each_run_starts_fresh_unless_asked_to_keep_the_state(tmp_path: Path) -> None:
    """Three runs in a row, as a new agent would: each offers the test patients again. With
    keep, the second run goes back to where the first one left off (a restart demo)."""
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    for _ in range(3):
        out = io.StringIO()
        await chat(settings, Script(out, ["1"]), out)
        assert "pick a test patient" in out.getvalue()
        assert "Which appointment" in out.getvalue()
        assert "Please choose one of the options" not in out.getvalue()

    for run in range(2):
        out = io.StringIO()
        await chat(settings, Script(out, ["1"] if run == 0 else []), out, keep=True)
    assert "pick a test patient" not in out.getvalue()
    assert "Which appointment" in out.getvalue()


async def test_an_agent_command_is_answered_with_the_prompt_after_it(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}")
    out = io.StringIO()
    await chat(settings, Script(out, ["/sandbox_onestep", "/sandbox_twostep"]), out)
    screen = out.getvalue()
    assert "The sandbox EHR now cancels at once (one step, no SMS code).\n> " in screen
    assert "The sandbox EHR now cancels in two steps: it texts an SMS code" in screen
    assert "two step." not in screen
