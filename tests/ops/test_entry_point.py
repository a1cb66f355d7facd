"""`python -m bot`: what the entry point sets up for every command."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from telegram.error import RetryAfter

from bot.__main__ import main


def test_the_entry_point_takes_telegram_time_periods_as_timedelta(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without it PTB 22 warns on every flood-control answer (RetryAfter) in the service's logs."""
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    assert main(["diagram"]) == 0
    assert "stateDiagram" in capsys.readouterr().out
    assert os.environ["PTB_TIMEDELTA"] == "1"
    assert RetryAfter(3).retry_after == timedelta(seconds=3)
