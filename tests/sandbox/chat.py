"""A sandbox chat driven through the terminal adapter on the real runtime (SQLite, emulator,
agent), one typed line at a time, as an agent would."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.console import Console
from bot.runtime import Runtime, open_runtime
from bot.settings import load_settings


class Chat:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.out = io.StringIO()
        self.console = Console(runtime, self.out)
        self.screen = ""
        self.menu = ""

    async def send(self, line: str) -> str:
        """Type a line; what the chat printed in answer."""
        start = len(self.out.getvalue())
        await self.console.send(line)
        self.screen = self.out.getvalue()[start:]
        if re.search(r"^\s+\d+\) ", self.screen, re.M):
            self.menu = self.screen
        return self.screen

    async def choose(self, label: str) -> str:
        """Type the number of the last shown option whose label holds `label`."""
        for number, text in reversed(re.findall(r"^\s+(\d+)\) (.*)$", self.menu, re.M)):
            if label in text:
                return await self.send(number)
        raise AssertionError(f"no option {label!r} in:\n{self.menu}")

    async def first_appointment(self) -> str:
        """Choose the first appointment that can be cancelled here."""
        listed = re.findall(r"^(\d+)\. (?!🔒)", self.menu, re.M)
        assert listed, self.menu
        return await self.send(listed[0])

    def sms_code(self) -> str:
        return str(re.findall(r"SMS .*:\n.*?(\d{6})$", self.out.getvalue(), re.M)[-1])


async def _no_sleep(_seconds: float) -> None:
    return None


@asynccontextmanager
async def sandbox_chat(tmp_path: Path, **settings: object) -> AsyncIterator[Chat]:
    values = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}", **settings}
    async with open_runtime(
        load_settings(**values), all_sandbox=True, sandbox_sleep=_no_sleep
    ) as runtime:
        yield Chat(runtime)
