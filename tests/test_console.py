"""The terminal chat, driven as a newcomer would with piped input, and `python -m bot chat`."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.console import chat
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


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
    last = screen[screen.rfind("-" * 60) :]
    return str(re.findall(r"^\s+(\d+)\) \d+\. ", last, re.MULTILINE)[0])


def sms_code(screen: str) -> str:
    return str(re.findall(r"SMS to the patient's phone \(sandbox\): .*?(\d{6})", screen)[-1])


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
    assert "Stopped." in done.stdout
    assert "Traceback" not in done.stderr
