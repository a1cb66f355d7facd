"""The setup documentation names only real settings: README's configuration, running and sandbox
sections, and `.env.example`, which lists every setting."""

from __future__ import annotations

import re

from dotenv import dotenv_values

from bot.settings import Settings
from tests.support.paths import REPO

ROOT = REPO
SETTINGS = {name.upper() for name in Settings.model_fields}
SECTIONS = ("## Configuration", "## Running on Telegram", "## Sandbox chats")


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def test_readme_setup_sections_name_real_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {
        name
        for heading in SECTIONS
        for name in re.findall(r"\b[A-Z]+(?:_[A-Z]+)+\b", _section(readme, heading))
    }
    assert {"TELEGRAM_BOT_TOKEN", "SANDBOX_CHAT_IDS", "PSEUDONYM_KEY"} <= named
    assert named <= SETTINGS, named - SETTINGS


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert set(dotenv_values(ROOT / ".env.example")) == SETTINGS
