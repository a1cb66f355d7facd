"""Settings: embedded defaults, and one clear line naming a missing or invalid setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import SecretStr

from bot.bench.fake_bot_api import TOKEN
from bot.runtime import dialog_config, open_runtime
from bot.settings import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PSEUDONYM_KEY,
    ConfigError,
    Settings,
    load_settings,
)
from bot.telegram.app import api_urls
from bot.telegram.service import run, telegram_api_url, telegram_token
from tests.support.paths import REPO


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
    monkeypatch.setenv("PSEUDONYM_KEY", REAL_KEY)
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


ENV_EXAMPLE = REPO / ".env.example"
REAL_KEY = "k" * 32


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the .env file speaks: no setting from the environment running the tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def _env_example_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The README's first steps: `cp .env.example .env` and set TELEGRAM_BOT_TOKEN."""
    _clean_environment(monkeypatch)
    text = ENV_EXAMPLE.read_text().replace("TELEGRAM_BOT_TOKEN=\n", f"TELEGRAM_BOT_TOKEN={TOKEN}\n")
    (tmp_path / ".env").write_text(text)
    monkeypatch.chdir(tmp_path)


def test_env_example_as_copied_runs_on_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env_example_copy(monkeypatch, tmp_path)
    settings = load_settings()
    defaults = Settings(_env_file=None)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.sandbox_only and settings.is_sandbox_chat(42)
    # every value left empty in .env.example is its documented default
    for name, value in dotenv_values(ENV_EXAMPLE).items():
        if not value and name != "TELEGRAM_BOT_TOKEN":
            field = name.lower()
            assert getattr(settings, field) == getattr(defaults, field), name
    assert settings.leyr_client_id is None and settings.leyr_client_secret is None
    assert settings.pseudonym_key.get_secret_value() == SANDBOX_PSEUDONYM_KEY
    assert settings.sandbox_chat_ids == frozenset()


async def test_env_example_as_copied_opens_the_runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env_example_copy(monkeypatch, tmp_path)
    settings = load_settings()
    async with open_runtime(settings) as runtime:
        assert runtime.leyr is None and runtime.agent is not None
    assert (tmp_path / "cancelbot.sqlite3").exists()  # the documented default, in the work dir


def _leyr(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    _clean_environment(monkeypatch)
    monkeypatch.setenv("LEYR_CLIENT_ID", "clinic-id")
    monkeypatch.setenv("LEYR_CLIENT_SECRET", "clinic-secret")
    monkeypatch.setenv("LEYR_EMR", "webdoc")
    monkeypatch.setenv("LEYR_CARE_UNIT_ID", "cu")
    if key is not None:
        monkeypatch.setenv("PSEUDONYM_KEY", key)


@pytest.mark.parametrize("key", [None, "", SANDBOX_PSEUDONYM_KEY, "short-but-not-empty"])
def test_leyr_credentials_need_a_real_pseudonym_key(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    _leyr(monkeypatch, key)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert "PSEUDONYM_KEY" in message and "\n" not in message


def test_leyr_credentials_with_a_real_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _leyr(monkeypatch, REAL_KEY)
    settings = load_settings(_env_file=None)
    assert not settings.sandbox_only
    assert settings.pseudonym_key.get_secret_value() == REAL_KEY


def test_the_emulators_public_credentials_keep_the_sandbox_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leyr served by the emulator (tests, the benchmark) holds only made-up patients."""
    _clean_environment(monkeypatch)
    settings = load_settings(
        _env_file=None,
        leyr_base_url="http://127.0.0.1:8765/api",
        leyr_client_id=SANDBOX_CLIENT_ID,
        leyr_client_secret=SANDBOX_CLIENT_SECRET,
        leyr_emr="sandbox",
        leyr_care_unit_id="cu-sandbox-1",
    )
    assert not settings.sandbox_only


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLINIC_REGION", "XX"),
        ("CLINIC_REGION", "GB"),  # no national identity number we read
        ("LEYR_BASE_URL", "notaurl"),
        ("LEYR_BASE_URL", "ftp://api.leyr.io/api"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "postgresql+psycopg2://user:pw@db/bot"),  # not the async driver
        ("DATABASE_URL", "not a url"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _clean_environment(monkeypatch)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert name in message and "\n" not in message
    assert "pw" not in message


def test_valid_values_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_environment(monkeypatch)
    monkeypatch.setenv("CLINIC_REGION", "no")
    monkeypatch.setenv("LEYR_BASE_URL", "http://127.0.0.1:8765/api/")
    settings = load_settings(_env_file=None)
    assert settings.clinic_region == "NO"
    assert settings.leyr_base_url == "http://127.0.0.1:8765/api"
    assert dialog_config(settings).id_kind == "no_personal_number"


def test_telegram_settings_are_checked_with_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ConfigError, match=r"^missing setting TELEGRAM_BOT_TOKEN"):
        telegram_token(Settings(telegram_bot_token=None))
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_BOT_TOKEN"):
        telegram_token(Settings(telegram_bot_token=SecretStr("not a token")))
    assert telegram_token(Settings(telegram_bot_token=SecretStr(" 1:abc "))) == "1:abc"
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_API_URL"):
        telegram_api_url(Settings(telegram_api_url="api.telegram.org"))
    with pytest.raises(ConfigError, match=r"^invalid setting TELEGRAM_API_URL"):
        telegram_api_url(Settings(telegram_api_url="http://localhost:8081/bot"))
    assert telegram_api_url(Settings(telegram_api_url="http://127.0.0.1:8081/")) == (
        "http://127.0.0.1:8081"
    )
    assert api_urls("http://127.0.0.1:8081") == (
        "http://127.0.0.1:8081/bot",
        "http://127.0.0.1:8081/file/bot",
    )
    assert run(Settings(telegram_bot_token=None)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: missing setting TELEGRAM_BOT_TOKEN")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://user:p%40ss@db:5432/bot", "postgresql+asyncpg://user:p%40ss@db:5432/bot"),
        ("postgresql://user:pw@db/bot", "postgresql+asyncpg://user:pw@db/bot"),
        ("postgresql+asyncpg://user:pw@db/bot", "postgresql+asyncpg://user:pw@db/bot"),
        (
            "postgres://user:pw@db/bot?sslmode=require",
            "postgresql+asyncpg://user:pw@db/bot?ssl=require",
        ),
        ("sqlite+aiosqlite:///./x.sqlite3", "sqlite+aiosqlite:///./x.sqlite3"),
    ],
)
def test_hosting_platforms_postgres_urls_run_on_asyncpg(
    monkeypatch: pytest.MonkeyPatch, given: str, used: str
) -> None:
    """Heroku, Render, Fly and friends set `postgres://...`; the bot needs the async driver."""
    _clean_environment(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings(_env_file=None).database_url == used


async def test_a_driverless_postgres_url_opens_the_database(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """The platform's `postgres://` form reaches a real server (SQLite: unchanged)."""
    _clean_environment(monkeypatch)
    given = database_url.replace("postgresql+asyncpg://", "postgres://")
    async with open_runtime(load_settings(_env_file=None, database_url=given)) as runtime:
        assert runtime.settings.database_url == database_url
