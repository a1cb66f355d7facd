"""The Bot API connection, watched: every call's outcome feeds the `Bot API errors` metric and
the time of the last answer readiness reports (`/readyz`: "Bot API reachable recently")."""

from __future__ import annotations

import time
from typing import Any

from telegram.request import HTTPXRequest

from bot.lanes import LaneTransport
from bot.ops.metrics import BOT_API_ERRORS


class BotApiContact:
    """When the Bot API last answered at all (any status: it is reachable)."""

    def __init__(self) -> None:
        self.last_answer: float | None = None

    def answered(self) -> None:
        self.last_answer = time.monotonic()

    def seconds_since(self) -> float | None:
        return None if self.last_answer is None else time.monotonic() - self.last_answer


class WatchedRequest(HTTPXRequest):
    """PTB's httpx connection, counting failed calls by Bot API method (the URL's last segment;
    the token before it never reaches a label) and noting each answer in `contact`.

    `lanes`: at most that many calls at once, each on a connection in a lane of its own
    (`bot.lanes`); None: PTB's own single pool of `connection_pool_size` connections."""

    def __init__(self, contact: BotApiContact, *, lanes: int | None = None, **kwargs: Any) -> None:
        self.lanes = LaneTransport(lanes=lanes, per_lane=1) if lanes is not None else None
        if self.lanes is not None:
            kwargs["connection_pool_size"] = lanes
            kwargs["httpx_kwargs"] = {**kwargs.get("httpx_kwargs", {}), "transport": self.lanes}
        super().__init__(**kwargs)
        self._contact = contact

    async def do_request(self, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        method = url.rsplit("/", 1)[-1]
        try:
            status, body = await super().do_request(url, *args, **kwargs)
        except Exception as error:
            BOT_API_ERRORS.labels(method, type(error).__name__).inc()
            raise
        self._contact.answered()
        if status >= 400:
            BOT_API_ERRORS.labels(method, str(status)).inc()
        return status, body
