"""Packaging for a clinic's host: the locks, the console script, the image and compose file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import import_module
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("requirements.lock", "requirements-dev.lock")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return {canonicalize_name(match[1]): match[2] for line in lines if (match := PIN.match(line))}


@pytest.mark.parametrize("name", LOCKS)
def test_no_lock_names_this_machines_indexes_or_folders(name: str) -> None:
    """A lock that names `file:///opt/...` or `--find-links /opt/wheels` installs nowhere else."""
    for line in (ROOT / name).read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            continue
        assert not text.startswith("-") or text.startswith("--hash="), line
        assert "file:" not in text and "/opt/" not in text, line


@pytest.mark.parametrize("name", LOCKS)
def test_every_dependency_is_pinned_with_hashes(name: str) -> None:
    text = (ROOT / name).read_text()
    pins = _pins(name)
    wanted = list(PYPROJECT["project"]["dependencies"])
    if name == "requirements-dev.lock":
        wanted += PYPROJECT["project"]["optional-dependencies"]["dev"]
    for requirement in map(Requirement, wanted):
        assert canonicalize_name(requirement.name) in pins, requirement.name
    assert text.count("--hash=sha256:") >= len(pins)


def test_the_production_lock_is_the_dev_lock_without_the_tools() -> None:
    production, development = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: development.get(name) for name in production} == production
    tools = {"pytest", "ruff", "mypy", "respx", "hypothesis", "pyyaml"}
    assert not tools & production.keys()
    assert tools <= development.keys()


def test_the_console_script_is_the_command_line() -> None:
    module, _, name = PYPROJECT["project"]["scripts"]["cancelbot"].partition(":")
    main = getattr(import_module(module), name)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0


def test_python_version_matches_the_project() -> None:
    version = (ROOT / ".python-version").read_text().strip()
    assert version == "3.11"
    assert PYPROJECT["project"]["requires-python"].startswith(">=3.11")


def test_the_image_runs_the_production_lock_as_an_unprivileged_user() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    installs = [line for line in lines if "pip install" in line]
    assert installs == ["RUN pip install --require-hashes --no-deps -r requirements.lock"]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    assert "requirements-dev.lock" not in "\n".join(lines)
    # the bot refuses to start without its compiled catalogs: built after the code is copied
    compile_at = lines.index("RUN python -m babel.messages.frontend compile -d dialogs/locale")
    assert compile_at > lines.index("COPY dialogs ./dialogs")


def test_the_image_context_leaves_secrets_and_local_state_out() -> None:
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything out, then only what the image needs back in
    assert {rule.removeprefix("!") for rule in rules if rule.startswith("!")} == {
        "requirements.lock",
        "bot/",
        "dialogs/",
    }


def test_compose_runs_the_bot_with_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["build"] == "."
    assert db["image"].startswith("postgres:")
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    url = bot["environment"]["DATABASE_URL"].replace("${POSTGRES_PASSWORD:-cancelbot}", "pw")
    assert url.startswith("postgresql://") and "@db:5432/" in url
    settings = load_settings(_env_file=None, database_url=url, metrics_port=9100)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert bot["environment"]["METRICS_PORT"] == "9100"
    assert "9100/healthz" in " ".join(bot["healthcheck"]["test"])


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _compose_available(), reason="no `docker compose` on this machine")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """Offline: `docker compose config` reads and validates the file without a daemon."""
    subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        check=True,
        cwd=tmp_path,
    )
