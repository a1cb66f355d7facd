"""Settings: embedded defaults, and one clear line naming a missing or invalid setting."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


def test_defaults_run_everything_on_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEYR_CLIENT_ID", raising=False)
    settings = load_settings(_env_file=None)
    assert settings.sandbox_only and settings.is_sandbox_chat(42)


def test_sandbox_chat_ids_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CHAT_IDS", "12, -34")
    monkeypatch.setenv("LEYR_CLIENT_ID", "id")
    monkeypatch.setenv("LEYR_CLIENT_SECRET", "secret")
    monkeypatch.setenv("LEYR_EMR", "webdoc")
    monkeypatch.setenv("LEYR_CARE_UNIT_ID", "cu")
    settings = load_settings(_env_file=None)
    assert settings.sandbox_chat_ids == {12, -34}
    assert settings.is_sandbox_chat(12) and not settings.is_sandbox_chat(99)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("CLINIC_TIMEZONE", "Mars/Olympus", "CLINIC_TIMEZONE"),
        ("CLINIC_PHONE", "call us", "CLINIC_PHONE"),
        ("CODE_MAX_ATTEMPTS", "0", "CODE_MAX_ATTEMPTS"),
        ("LEYR_CLIENT_ID", "only-id", "LEYR_CLIENT_SECRET"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert named in message and "\n" not in message
