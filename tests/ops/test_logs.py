"""`LOG_FORMAT=json`: one JSON object per line, with the privacy of the text lines (the suite's
leak check, conftest.private_values_in, reads every record in both formats)."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from bot.logs import JsonFormatter, formatter
from bot.settings import ConfigError, load_settings
from tests.conftest import private_values_in


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("bot.engine", logging.WARNING, __file__, 1, message, args, info)


def test_a_json_line_holds_time_level_logger_message_and_traceback() -> None:
    line = JsonFormatter().format(_record("chat %s: step %s", 42, "choose", exc=True))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.engine"
    assert entry["message"] == "chat 42: step choose"
    assert entry["time"].endswith("+00:00")
    assert "ValueError: boom" in entry["exception"]


def test_extra_fields_are_not_written() -> None:
    record = _record("step")
    record.phone = "+46701234567"
    assert "phone" not in json.loads(JsonFormatter().format(record))


def test_non_ascii_is_written_as_is_so_the_leak_check_sees_it() -> None:
    assert "Åsa" in JsonFormatter().format(_record("name Åsa"))


@pytest.mark.leaks_on_purpose
def test_the_leak_check_reads_json_tracebacks() -> None:
    try:
        raise RuntimeError("patient 191212121212")
    except RuntimeError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    assert private_values_in([record]).count("191212121212") == 2  # text and JSON


@pytest.mark.parametrize("value", ["text", "json"])
def test_log_format_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LOG_FORMAT", value)
    settings = load_settings(_env_file=None)
    assert settings.log_format == value
    assert isinstance(formatter(settings.log_format), JsonFormatter) == (value == "json")


def test_an_unknown_log_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings(_env_file=None)
