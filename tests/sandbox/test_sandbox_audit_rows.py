"""A sandbox chat's cancellations are audited as sandbox rows: the clinic's report (the patients'
rows) never holds a test patient."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.chat import sandbox_chat


async def test_a_sandbox_cancellation_is_audited_as_sandbox(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await chat.send("/sandbox_onestep")
        await chat.send("/start")
        await chat.choose("Astrid")
        await chat.first_appointment()
        await chat.choose("Yes, cancel")
        assert "✅ Cancelled" in chat.screen
        store = chat.runtime.store
        assert [a.outcome for a in await store.audits(sandbox=True)] == ["cancelled"]
        assert await store.audits(sandbox=False) == []
