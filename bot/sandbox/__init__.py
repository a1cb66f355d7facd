"""The Leyr sandbox: an emulator written from Leyr's documentation (never from `bot.leyr`), with
test patients, one-step and two-step EHRs, visible SMS codes and fault injection, and the
`SandboxAgent` that gives support agents its tools in sandbox chats."""

from bot.sandbox.agent import SandboxAgent
from bot.sandbox.emulator import Emulator

__all__ = ["Emulator", "SandboxAgent"]
