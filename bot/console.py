"""The terminal adapter: the same dialog as plain text, options shown as numbers.

It always runs against the in-process sandbox, so it needs no account and no network. Lines come
from standard input, so a piped script is a whole conversation (and a test).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.engine import Handled, Sender
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from dialogs.events import Button, Command, Event, Text
from dialogs.replies import Option

CONSOLE_CHAT = 1
SEPARATOR = "-" * 60


class Console:
    def __init__(self, runtime: Runtime, out: TextIO) -> None:
        self._runtime = runtime
        self._out = out
        self._options: list[Option] = []
        self._sender = Sender(chat_id=CONSOLE_CHAT, user_id=CONSOLE_CHAT, language_code="en")

    def event_for(self, line: str) -> Event:
        if line.isdigit() and 1 <= int(line) <= len(self._options):
            return Button(self._options[int(line) - 1].key)
        if line.startswith("/") and len(line) > 1:
            return Command(line[1:].split(maxsplit=1)[0].split("@", maxsplit=1)[0].lower())
        return Text(line)

    async def send(self, line: str) -> None:
        if line.startswith("/") and self._runtime.agent is not None:
            name, *args = line[1:].split()
            answer = await self._runtime.agent.command(CONSOLE_CHAT, name.lower(), args)
            if answer is not None:
                self._print(answer)
                return
        handled = await self._runtime.engine.handle(self._sender, self.event_for(line))
        await self._show(handled)

    async def _show(self, handled: Handled) -> None:
        for reply in handled.replies:
            self._print(reply.text)
            flat = [option for row in reply.options for option in row]
            if flat:
                self._options = flat
                for number, option in enumerate(flat, start=1):
                    self._out.write(f"  {number}) {option.label}\n")
            if reply.request_contact:
                self._out.write("  (The terminal cannot share a phone number: use /start.)\n")
        if self._runtime.agent is not None:
            for sms in await self._runtime.agent.sms_for(CONSOLE_CHAT):
                self._print(f"📨 SMS to the patient's phone (sandbox): {sms}")
        self._out.write("> ")
        self._out.flush()

    def _print(self, text: str) -> None:
        self._out.write(f"{SEPARATOR}\n{text}\n")


async def chat(settings: Settings, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
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
