"""When a step or the Bot API fails, with a scripted engine: the patient is told without personal
data in the logs, flood control and 5xx answers are waited out and retried, bad requests are
final. The real `telegram.ext.Application` runs against the respx fake Bot API.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from bot.bench.fake_bot_api import ApiError
from bot.telegram.limiter import RetryingRateLimiter
from bot.telegram.texts import SANDBOX_MARK
from tests.support.clock import Sleeps
from tests.support.telegram_harness import ScriptedEngine, running

A, B = 101, 202


async def test_error_handler_logs_without_personal_data_and_tells_the_patient(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = ScriptedEngine(
        fail_with=RuntimeError("leaked 191212121212 +46701234567"), sandbox_chats={B}
    )
    caplog.set_level(logging.INFO)
    async with running(engine) as h:
        update = h.api.user_text(A, "my number is 191212121212")
        await h.send(update)
        await h.send(h.api.user_text(B, "hello", language="sv"))
    apology = h.api.last(A).text or ""
    assert apology.startswith("Sorry, something went wrong") and "+46 8 123 456 00" in apology
    swedish = h.api.last(B).text or ""
    assert swedish.startswith(f"{SANDBOX_MARK}\nTyvärr")
    # httpx would log URLs (with the token): bot.logs holds it at WARNING in the service
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert f"update={update['update_id']}" in logged and f"chat={A}" in logged
    assert "RuntimeError" in logged
    for secret in ("191212121212", "+46701234567", "my number", h.api.token):
        assert secret not in logged
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("bot."))


async def test_error_handler_survives_an_unreachable_chat() -> None:
    engine = ScriptedEngine(fail_with=RuntimeError("boom"))
    async with running(engine) as h:
        h.api.fail_next("sendMessage", ApiError(403, "Forbidden: bot was blocked by the user"))
        await h.send(h.api.user_text(A, "hello"))
    assert h.api.bot_messages(A) == []


async def test_rate_limiter_retries_flood_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def quick_sleep(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", quick_sleep)  # the limiter waits retry_after + 0.1
    engine = ScriptedEngine()
    async with running(engine) as h:
        limiter = h.app.bot.rate_limiter
        assert isinstance(limiter, AIORateLimiter)
        assert limiter._max_retries >= 1
        h.api.fail_next(
            "sendMessage",
            ApiError(429, "Too Many Requests: retry after 3", {"retry_after": 3}),
        )
        await h.send(h.api.user_text(A, "hi"))
    assert h.api.last(A).text == "echo hi"
    assert h.api.method_calls().count("sendMessage") == 2
    assert any(2.9 < delay < 4 for delay in slept)


async def test_a_reply_survives_bot_api_5xx_and_network_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def quick_sleep(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", quick_sleep)
    engine = ScriptedEngine()
    async with running(engine) as h:
        limiter = h.app.bot.rate_limiter
        assert isinstance(limiter, RetryingRateLimiter)
        limiter._sleep = quick_sleep
        h.api.fail_next("sendMessage", ApiError(502, "Bad Gateway"))
        h.api.fail_next("sendMessage", ApiError(500, "Internal Server Error"))
        await h.send(h.api.user_text(A, "hi"))
        assert h.api.last(A).text == "echo hi"
        assert h.api.method_calls().count("sendMessage") == 3
        assert slept[:2] == [0.5, 1.0]


async def test_network_errors_are_retried_but_bad_requests_are_final() -> None:
    sleeps = Sleeps()
    limiter = RetryingRateLimiter(network_retries=2, sleep=sleeps)
    await limiter.initialize()
    calls: list[int] = []

    async def flaky(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise NetworkError("connection reset")
        return True

    assert await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert len(calls) == 3 and sleeps.delays == [0.5, 1.0]

    async def refused(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        raise BadRequest("message is not modified")

    with pytest.raises(BadRequest):
        await limiter.process_request(refused, (), {}, "editMessageText", {"chat_id": 1}, None)
    assert len(calls) == 4

    async def down(*args: object, **kwargs: object) -> bool:
        raise NetworkError("down")

    with pytest.raises(NetworkError):
        await limiter.process_request(down, (), {}, "sendMessage", {"chat_id": 1}, None)
    await limiter.shutdown()
