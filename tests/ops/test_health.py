"""Health, readiness and metrics (`METRICS_PORT`): through the real service as a subprocess
(with `LOG_FORMAT=json`), and the readiness rules on their own."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import httpx
import pytest

from bot.bench.fake_bot_api import TOKEN, FakeBotServer, fake_bot_api_server
from bot.ops.health import BOT_API_RECENT_SECONDS, Readiness, health_app
from tests.conftest import PRIVATE
from tests.support.service_process import bot_environment, bot_process

CHAT = 515151
WITHIN = 30.0

pytestmark = pytest.mark.slow


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


async def _port_from_log(log_path: Path, process: asyncio.subprocess.Process) -> int:
    async with asyncio.timeout(60):
        while True:
            for line in _text(log_path).splitlines():
                found = re.search(r"health and metrics on 127\.0\.0\.1:(\d+)", line)
                if found:
                    return int(found[1])
            if process.returncode is not None:
                raise AssertionError(_text(log_path))
            await asyncio.sleep(0.05)


async def _expect(server: FakeBotServer, pattern: str) -> None:
    def shown() -> bool:
        return any(re.search(pattern, m.text or "") for m in server.api.bot_messages(CHAT))

    await server.wait_for(shown, WITHIN)


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly these labels (in any order)."""
    for line in metrics.splitlines():
        found = re.fullmatch(rf"{name}(?:{{(.*)}})? (\S+)", line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found[1] or "")) == labels:
            return float(found[2])
    raise AssertionError(f"{name} {labels} not in metrics:\n{metrics}")


async def test_readyz_and_metrics_answer_through_the_real_service(tmp_path: Path) -> None:
    async with fake_bot_api_server() as (server, api_url):
        api = server.api
        env = {**bot_environment(api_url, tmp_path), "METRICS_PORT": "0", "LOG_FORMAT": "json"}
        async with bot_process(env, tmp_path) as process:
            port = await _port_from_log(tmp_path / "bot.log", process)
            await server.wait_for(lambda: api.sent("getUpdates"), WITHIN)
            api.user_text(CHAT, "/sandbox_onestep")
            await _expect(server, r"one.?step")
            api.user_text(CHAT, "/start")
            await _expect(server, r"test patient")
            api.press(CHAT, "")
            await _expect(server, r"Which appointment")
            menu = api.with_buttons(CHAT)[-1]
            first = next(d for label, d in menu.buttons() if re.match(r"\d+\. ", label))
            api.user_press(CHAT, menu.message_id, first)
            await _expect(server, r"Do you want to cancel")
            api.press(CHAT, "Yes")
            await _expect(server, r"Cancelled")

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/healthz")).status_code == 200
                ready = await client.get("/readyz")
                assert ready.status_code == 200
                assert ready.json() == {
                    "ready": True,
                    "role": "active",
                    "database": True,
                    "bot_api": True,
                }
                metrics = (await client.get("/metrics")).text
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), WITHIN) == 0

    assert _sample(metrics, "cancelbot_updates_handled_total", result="ok") >= 5
    assert _sample(metrics, "cancelbot_updates_in_flight") == 0
    assert _sample(metrics, "cancelbot_dialog_outcomes_total", outcome="cancelled") == 1
    listing = "/emrs/{emr}/care-units/{cu}/appointments"
    assert _sample(
        metrics, "cancelbot_leyr_calls_total", method="GET", endpoint=listing, result="200"
    )
    assert _sample(metrics, "cancelbot_leyr_call_seconds_count", method="GET", endpoint=listing)
    assert "cancelbot_bot_api_errors_total" in metrics
    assert "cancelbot_code_step_expiries_total 0.0" in metrics
    # nothing personal in any label: no chat id, token or private value
    assert str(CHAT) not in metrics and TOKEN not in metrics
    assert not [value for value in PRIVATE if value in metrics]
    # LOG_FORMAT=json: every line the service wrote is one JSON object
    lines = _text(tmp_path / "bot.log").splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert TOKEN not in "\n".join(lines)


def _readiness(database: bool, age: float | None, role: str) -> Readiness:
    async def reachable() -> bool:
        return database

    return Readiness(reachable, lambda: age, lambda: role)


@pytest.mark.parametrize(
    ("database", "age", "role", "ready"),
    [
        (True, 1.0, "active", True),
        (False, 1.0, "active", False),
        (True, None, "active", False),  # the Bot API never answered
        (True, BOT_API_RECENT_SECONDS + 1, "active", False),
        (True, None, "standby", True),  # a standby does not poll: ready to take over
        (False, None, "standby", False),
    ],
)
async def test_readiness_rules(database: bool, age: float | None, role: str, ready: bool) -> None:
    transport = httpx.ASGITransport(app=health_app(_readiness(database, age, role)))
    async with httpx.AsyncClient(transport=transport, base_url="http://health") as client:
        answer = await client.get("/readyz")
    assert answer.status_code == (200 if ready else 503)
    assert answer.json()["ready"] is ready and answer.json()["role"] == role
