"""The README's state diagram is the machine's, and its quick start is two commands."""

from __future__ import annotations

import re

from bot.diagram import block, embedded
from tests.support.paths import REPO

README = REPO / "README.md"


def test_the_readme_diagram_matches_the_machine() -> None:
    assert embedded(README.read_text(encoding="utf-8")) == block(), "run `make diagram`"


def test_the_quick_start_is_two_commands_run_and_test() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in commands] == ["make chat", "make test"]
