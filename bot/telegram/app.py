"""Building the python-telegram-bot `Application`: Bot API location, per-chat ordered concurrent
processing, the rate limiter, and the adapter's handlers. It has no PTB `Updater`: the service
polls with `bot.telegram.polling.InboxPoller`, which confirms updates only once stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.constants import FloodLimit
from telegram.ext import Application, ApplicationBuilder, Job
from telegram.request import BaseRequest

from bot.telegram.handlers import AnyApplication, TelegramAdapter
from bot.telegram.limiter import RetryingRateLimiter
from bot.telegram.ordering import DEFAULT_CONCURRENCY, ChatOrderedProcessor
from bot.telegram.request import BotApiContact, WatchedRequest

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY)
"""Named explicitly: a bot that is not told gets whatever it was last told, by anyone."""

API_CONNECTIONS = 256
"""Bot API calls at once other than getUpdates (PTB's own default), each on a connection in a
lane of its own (`bot.lanes`): in one httpx pool, 128 open connections made every call cost
10 ms of CPU instead of 1.7."""

FLOOD_RETRIES = 3
"""How often the rate limiter retries a call Telegram refused with RetryAfter (flood control)."""


class ServiceApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's `Application` without a slow leak: with no persistence set, it still notes every
    update's chat and user id "to be updated in persistence", in sets that only a persistence
    run empties. We keep nothing per chat in memory, so those notes are skipped."""

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


def api_urls(api_url: str) -> tuple[str, str]:
    """(base_url, base_file_url) for PTB, from the Bot API server's base URL."""
    base = api_url.rstrip("/")
    return f"{base}/bot", f"{base}/file/bot"


def build_application(
    token: str,
    api_url: str,
    adapter: TelegramAdapter,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    flood_retries: int = FLOOD_RETRIES,
    on_done: Callable[[object], None] | None = None,
    request: BaseRequest | None = None,
    overall_rate: float = FloodLimit.MESSAGES_PER_SECOND,
    contact: BotApiContact | None = None,
) -> AnyApplication:
    """The application; `on_done(update)` is told when an update's handling has finished.

    `request` replaces the HTTP connection to the Bot API (the benchmark's in-process fake);
    `overall_rate` is the rate limiter's bound on Bot API calls per second across all chats
    (Telegram's broadcast limit; 0 lifts it). Without `request`, PTB's own httpx connections
    (one for getUpdates) are watched: failed calls are counted and each answer noted in
    `contact`."""
    base_url, base_file_url = api_urls(api_url)
    builder = (
        ApplicationBuilder()
        .application_class(ServiceApplication)
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .updater(None)
        .concurrent_updates(
            ChatOrderedProcessor(concurrency, on_arrival=adapter.arrival, on_done=on_done)
        )
        .rate_limiter(RetryingRateLimiter(max_retries=flood_retries, overall_rate=overall_rate))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        contact = contact or BotApiContact()
        builder = builder.request(
            WatchedRequest(contact, lanes=API_CONNECTIONS)
        ).get_updates_request(WatchedRequest(contact, connection_pool_size=1))
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    adapter.install(application)
    return application
