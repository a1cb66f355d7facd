"""The sandbox agent's answers come from the catalogs, in the agent's language."""

from __future__ import annotations

import pytest

from bot.sandbox.agent import FAULTS, SandboxAgent
from bot.sandbox.emulator import Emulator
from dialogs.i18n import LANGUAGES, translations


@pytest.mark.parametrize("language", LANGUAGES)
async def test_agent_commands_answer_in_the_agents_language(language: str) -> None:
    agent = SandboxAgent(Emulator())
    say = translations(language).gettext
    help_text = await agent.command(1, "sandbox", [], language)
    assert help_text == say("agent_help").format(kinds=", ".join(FAULTS))
    assert await agent.command(1, "sandbox_reset", [], language) == say("agent_reset")
    assert await agent.command(1, "sandbox_onestep", [], language) == say("agent_one_step")
    assert await agent.command(1, "sandbox_twostep", [], language) == say("agent_two_step")
    failing = await agent.command(1, "sandbox_fail", ["timeout"], language)
    assert failing == say("agent_fail_next").format(kind="timeout")
    usage = await agent.command(1, "sandbox_fail", ["nonsense"], language)
    assert usage == say("agent_fail_usage").format(kinds=", ".join(FAULTS))
    assert await agent.command(1, "start", [], language) is None


async def test_an_unknown_language_answers_in_english() -> None:
    answer = await SandboxAgent(Emulator()).command(1, "sandbox_reset", [], "xx")
    assert answer == translations("en").gettext("agent_reset")
