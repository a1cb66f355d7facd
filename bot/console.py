"""The terminal adapter: the same dialog as plain text, options shown as numbers.

It always runs against the in-process sandbox, so it needs no account and no network. Lines come
from standard input, so a piped script is a whole conversation (and a test). Each run starts
fresh unless asked to keep the chat's state (`python -m bot chat --keep`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from bot.engine import Handled, Sender
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from dialogs.events import Button, Command, Event, Text
from dialogs.parsing import command_parts
from dialogs.replies import Option, Reply

CONSOLE_CHAT = 1
SEPARATOR = "-" * 60
_LISTED = re.compile(r"^(\d+)\. ", re.MULTILINE)  # "2. Thu 5 Mar ..." in a list
_NUMBERED = re.compile(r"^(?P<tick>[^\w\s]+ )?(?P<number>\d+)\. ")  # "⬜ 2. Thu 5 Mar"


def numbered(reply: Reply) -> list[tuple[int, Option, str]]:
    """Each option with the number to type and the label to show. An option for a listed item
    keeps the item's number from the list (so typing 2 always means item 2); the other options
    come after the list's last number."""
    flat = [option for row in reply.options for option in row]
    own = {id(o): _NUMBERED.match(o.label) for o in flat}
    used = [int(n) for n in _LISTED.findall(reply.text)]
    used += [int(found["number"]) for found in own.values() if found]
    following = max(used, default=0)
    result = []
    for option in flat:
        found = own[id(option)]
        if found:
            label = (found["tick"] or "") + option.label[found.end() :]
            result.append((int(found["number"]), option, label))
        else:
            following += 1
            result.append((following, option, option.label))
    return result


@contextmanager
def errors_only() -> Iterator[None]:
    """Library warnings (a Leyr 400, a retry) are not for the patient: while chatting, only
    errors reach the log handlers (standard error), never warnings amid the conversation."""
    handlers = [*logging.getLogger().handlers, logging.lastResort]
    levels = [handler.level if handler else logging.NOTSET for handler in handlers]
    for handler in handlers:
        if handler:
            handler.setLevel(max(handler.level, logging.ERROR))
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            if handler:
                handler.setLevel(level)


class Console:
    def __init__(self, runtime: Runtime, out: TextIO) -> None:
        self._runtime = runtime
        self._out = out
        self._options: dict[int, Option] = {}
        self._sender = Sender(chat_id=CONSOLE_CHAT, user_id=CONSOLE_CHAT, language_code="en")

    def event_for(self, line: str) -> Event:
        if line.isdigit() and int(line) in self._options:
            return Button(self._options[int(line)].key)
        parts = command_parts(line)
        return Command(parts[0]) if parts else Text(line)

    async def send(self, line: str) -> None:
        agent = self._runtime.agent
        answer = None
        if agent is not None:
            answer = await agent.command(CONSOLE_CHAT, line, self._sender.language_code)
        if answer is not None:
            self._print(answer)
            self._prompt()
            return
        handled = await self._runtime.engine.handle(self._sender, self.event_for(line))
        await self._show(handled)

    async def _show(self, handled: Handled) -> None:
        for reply in handled.replies:
            self._print(reply.text)
            choices = numbered(reply)
            if choices:
                self._options = {number: option for number, option, _ in choices}
                for number, _, label in choices:
                    self._out.write(f"  {number}) {label}\n")
            if reply.request_contact:
                self._out.write("  (The terminal cannot share a phone number: use /start.)\n")
        if self._runtime.agent is not None:
            for note in await self._runtime.agent.notes_for(CONSOLE_CHAT, None):
                self._print(note)
        self._prompt()

    def _prompt(self) -> None:
        self._out.write("> ")
        self._out.flush()

    def _print(self, text: str) -> None:
        self._out.write(f"{SEPARATOR}\n{text}\n")


async def chat(
    settings: Settings,
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    *,
    keep: bool = False,
) -> None:
    """Chat until the input ends. Each run starts fresh, on a database of its own that is gone
    afterwards; with `keep`, the chat's state stays in DATABASE_URL from one run to the next (to
    show what a restart keeps)."""
    with errors_only():
        if keep:
            await _chat(settings, source, out)
            return
        with tempfile.TemporaryDirectory(prefix="cancelbot-chat-") as folder:
            fresh = f"sqlite+aiosqlite:///{Path(folder) / 'chat.sqlite3'}"
            await _chat(settings.model_copy(update={"database_url": fresh}), source, out)


async def _chat(settings: Settings, source: TextIO, out: TextIO) -> None:
    async with open_runtime(settings, all_sandbox=True) as runtime:
        console = Console(runtime, out)
        out.write(
            f"Sandbox chat with the {settings.clinic_name} bot. Type a number to choose, "
            "/help for help, /sandbox for agent tools, Ctrl-D to leave.\n"
        )
        await console.send("/start")
        while True:
            line = await asyncio.to_thread(source.readline)
            if not line:
                break
            line = line.strip()
            if line:
                await console.send(line)
        out.write("\nBye.\n")
