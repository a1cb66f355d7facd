"""The documentation matches the code: README's state diagram is the machine's, its quick start is
two commands, its development table names the fast test loop the Makefile runs, and the setup
sections and `.env.example` name only real settings (`.env.example` lists every one)."""

from __future__ import annotations

import re

from dotenv import dotenv_values

from bot.diagram import block, embedded
from bot.settings import Settings
from tests.support.paths import REPO

README = REPO / "README.md"
SETTINGS = {name.upper() for name in Settings.model_fields}
SECTIONS = ("## Configuration", "## Running on Telegram", "## Sandbox chats")


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def test_the_readme_diagram_matches_the_machine() -> None:
    assert embedded(README.read_text(encoding="utf-8")) == block(), "run `make diagram`"


def test_the_quick_start_is_two_commands_run_and_test() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in commands] == ["make chat", "make test"]


def test_the_fast_loop_leaves_out_only_the_slow_tests_and_the_readme_says_so() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^([\w-]+):.*\n\t(.*)$", makefile, re.MULTILINE))
    assert recipes["test"] == "$(BIN)/python -m pytest"
    assert recipes["test-fast"] == '$(BIN)/python -m pytest -m "not slow"'
    assert "`make test-fast`" in _section(README.read_text(encoding="utf-8"), "## Development")


def test_readme_setup_sections_name_real_settings() -> None:
    readme = README.read_text(encoding="utf-8")
    named = {
        name
        for heading in SECTIONS
        for name in re.findall(r"\b[A-Z]+(?:_[A-Z]+)+\b", _section(readme, heading))
    }
    assert {"TELEGRAM_BOT_TOKEN", "SANDBOX_CHAT_IDS", "PSEUDONYM_KEY"} <= named
    assert named <= SETTINGS, named - SETTINGS


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert set(dotenv_values(REPO / ".env.example")) == SETTINGS
