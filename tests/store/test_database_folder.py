"""A SQLite database whose folder is missing or read-only is refused before it is opened, with
one sentence saying which."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.runtime import open_database
from bot.settings import ConfigError, load_settings
from bot.store.database import sqlite_folder_problem


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "nowhere"
    assert sqlite_folder_problem(_url(folder / "bot.sqlite3")) == (
        f"the folder {folder} does not exist"
    )


def test_a_file_where_the_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    assert sqlite_folder_problem(_url(tmp_path / "plain" / "bot.sqlite3")) == (
        f"{tmp_path / 'plain'} is not a folder"
    )


def test_a_read_only_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.access is asked (root may write anywhere, so the test cannot rely on chmod)."""
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != tmp_path and real(path, mode)
    )
    assert sqlite_folder_problem(_url(tmp_path / "bot.sqlite3")) == (
        f"the folder {tmp_path} is not writable"
    )


def test_a_usable_folder_memory_and_postgres_pass(tmp_path: Path) -> None:
    assert sqlite_folder_problem(_url(tmp_path / "bot.sqlite3")) is None
    assert sqlite_folder_problem("sqlite+aiosqlite://") is None
    assert sqlite_folder_problem("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_folder_problem("postgresql+asyncpg://u:p@127.0.0.1/db") is None


def test_a_relative_path_is_checked_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_folder_problem("sqlite+aiosqlite:///./bot.sqlite3") is None
    assert sqlite_folder_problem("sqlite+aiosqlite:///./gone/bot.sqlite3") == (
        f"the folder {tmp_path / 'gone'} does not exist"
    )


async def test_opening_refuses_before_touching_the_file(tmp_path: Path) -> None:
    settings = load_settings(database_url=_url(tmp_path / "gone" / "bot.sqlite3"))
    with pytest.raises(ConfigError, match=r"DATABASE_URL .*: the folder .*gone does not exist$"):
        await open_database(settings)
    assert not (tmp_path / "gone").exists()
