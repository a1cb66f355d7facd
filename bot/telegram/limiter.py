"""Outgoing Bot API calls: AIORateLimiter's flood control (RetryAfter), plus bounded retries with
backoff when the Bot API answers 5xx or the network fails, so a reply still arrives once the API
recovers. A 4xx (BadRequest, Forbidden) is final and is not retried.

A send that timed out may have been delivered already; retrying it can show the patient one
message twice, which is better than losing it. getUpdates is left to PTB's polling loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

NOT_RETRIED = frozenset({"getUpdates", "getMe", "logOut", "close"})


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self,
        *,
        max_retries: int = 3,
        overall_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        network_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(overall_max_rate=overall_rate, max_retries=max_retries)
        self.network_retries = network_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep

    async def process_request(  # noqa: PLR0917 - PTB's signature
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as error:
                if endpoint in NOT_RETRIED or attempt >= self.network_retries:
                    raise
                delay = min(self._max_backoff, self._backoff * 2**attempt)
                attempt += 1
                log.warning(
                    "Bot API %s failed (%s), retry %s in %.1fs",
                    endpoint,
                    type(error).__name__,
                    attempt,
                    delay,
                )
                await self._sleep(delay)
