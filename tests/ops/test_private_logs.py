"""No personal data in logs: every test in the suite runs with our logging at DEBUG (see the
autouse fixture in conftest.py), and every captured line is checked for private values."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PRIVATE, private_values_in


def test_the_private_values_are_the_ones_the_tests_use() -> None:
    assert {"191212121212", "+46701234567", "46701234567", "Astrid", "123456"} <= set(PRIVATE)


@pytest.mark.leaks_on_purpose
def test_the_check_catches_a_leak(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("bot.example").info("patient 19121212-1212 texted 070-123 45 67")
    assert private_values_in(caplog.records)
