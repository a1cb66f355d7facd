"""`python -m bot run`: the Telegram long-polling service.

Start: the Telegram settings are checked first (one clear line naming a missing or invalid one),
then the runtime (storage, Leyr clients, sandbox) opened (a database that cannot be opened is one
line naming DATABASE_URL, before any call to Telegram), the application initialized (getMe), the
wake-ups of dialogs waiting for an SMS code set again (a code's expiry is announced
even across a restart), the command menus registered, any webhook removed (keeping its pending
updates), and `InboxPoller` polls with `ALLOWED_UPDATES` named. Updates that arrived while the
bot was down are handled; so are those fetched but not finished before a crash: the poller
confirms an update to the Bot API only once it is stored in the inbox, and queues the inbox's
updates again at start.

Stop (SIGTERM, SIGINT):
1. the poller stops fetching (an open long poll is abandoned);
2. `Application.stop()` drains: every update already queued is handled and saved, and the
   tasks made with `Application.create_task` (e.g. a button press's early answer) are awaited;
3. one last getUpdates confirms everything stored, and the handled updates leave the inbox;
4. the wake-up timers are cancelled (an expiry is noticed at the next message anyway), the
   application shut down and the runtime (database, Leyr) closed.
The process then exits with status 0.

Only one process may poll a bot token at a time (a second one makes Telegram answer both with
409 Conflict). Replicas sharing a PostgreSQL database take turns (`bot.ops.leadership`): after
opening the runtime a replica waits as standby until it holds the poller lock, and only then
sets its wake-ups, registers commands and polls; if it loses the lock it drains as on SIGTERM
and exits with status 1. On SQLite a second replica is refused at start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram.constants import FloodLimit
from telegram.error import InvalidToken, NetworkError

from bot.heap import settled_heap
from bot.ops.health import Readiness, database_check, serving_health
from bot.ops.leadership import LeadershipLost, leadership
from bot.ops.retention import purging
from bot.runtime import Runtime, open_runtime
from bot.settings import ConfigError, Settings
from bot.store import Inbox
from bot.telegram.admission import Admission
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.commands import register_commands
from bot.telegram.handlers import AnyApplication, TelegramAdapter
from bot.telegram.ordering import DEFAULT_CONCURRENCY
from bot.telegram.polling import InboxPoller
from bot.telegram.request import BotApiContact

log = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 30
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]+")


def telegram_token(settings: Settings) -> str:
    """The bot token, or ConfigError naming TELEGRAM_BOT_TOKEN."""
    secret = settings.telegram_bot_token
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token:
        raise ConfigError("missing setting TELEGRAM_BOT_TOKEN: the bot's token from @BotFather")
    if not TOKEN_PATTERN.fullmatch(token):
        raise ConfigError(
            "invalid setting TELEGRAM_BOT_TOKEN: expected the form 123456789:AAE... from @BotFather"
        )
    return token


def telegram_api_url(settings: Settings) -> str:
    """The Bot API server's base URL without a trailing slash, or ConfigError naming it."""
    url = settings.telegram_api_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "invalid setting TELEGRAM_API_URL: must be an http(s) base URL such as "
            "https://api.telegram.org"
        )
    if parts.path.endswith("/bot"):
        raise ConfigError(
            "invalid setting TELEGRAM_API_URL: give the server's base URL, without /bot"
        )
    return url


def _quiet_telegram_logs() -> None:
    """At DEBUG, PTB logs whole updates (message texts, phone numbers): never below INFO."""
    for name in ("telegram", "telegram.ext"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))


@dataclass(frozen=True)
class Service:
    """The Telegram settings, checked; the rest is built by `serve`."""

    settings: Settings
    token: str
    api_url: str
    contact: BotApiContact = field(default_factory=BotApiContact)
    """When the Bot API last answered (for /readyz)."""
    overall_rate: float = FloodLimit.MESSAGES_PER_SECOND
    """Bot API calls per second across all chats (Telegram's broadcast limit; 0 lifts it)."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Updates at work at once."""


def build_service(settings: Settings) -> Service:
    """The checked settings; ConfigError when the Telegram settings are wrong."""
    return Service(settings, telegram_token(settings), telegram_api_url(settings))


def adapter_for(runtime: Runtime) -> TelegramAdapter:
    """The Telegram adapter over the runtime's engine and sandbox agent."""
    return TelegramAdapter(
        runtime.engine,
        runtime.agent,
        clinic_name=runtime.settings.clinic_name,
        clinic_phone=runtime.settings.clinic_phone,
    )


def _nothing(runtime: Runtime, application: AnyApplication) -> None:
    """No preparation."""


async def serve(
    service: Service,
    stop: asyncio.Event,
    *,
    prepare: Callable[[Runtime, AnyApplication], None] = _nothing,
    on_done: Callable[[object], None] | None = None,
) -> None:
    """Open the runtime, build the adapter and application over it, and run until `stop` is set
    (or the poller gives up on an invalid token), then drain. `prepare` sees the runtime and
    the application before polling starts, `on_done` each finished update after the poller
    (the benchmark adds its reference handlers and its meter there)."""
    settings = service.settings
    async with AsyncExitStack() as resources:
        bot_id = int(service.token.split(":", 1)[0])
        replica = await resources.enter_async_context(leadership(settings.database_url, bot_id))
        runtime = await resources.enter_async_context(open_runtime(settings))
        if settings.metrics_port is not None:
            readiness = Readiness(
                database_check(runtime.store.engine),
                service.contact.seconds_since,
                lambda: replica.role,
            )
            await resources.enter_async_context(
                serving_health(readiness, settings.metrics_host, settings.metrics_port)
            )
        adapter = adapter_for(runtime)
        poller = InboxPoller(
            ALLOWED_UPDATES,
            timeout=POLL_TIMEOUT_SECONDS,
            on_fetch=adapter.arrival,
            admission=Admission(adapter.busy),
        )
        adapter.replayed = poller.replayed

        def finished(update: object) -> None:
            poller.finished(update)
            if on_done is not None:
                on_done(update)

        application = build_application(
            service.token,
            service.api_url,
            adapter,
            on_done=finished,
            contact=service.contact,
            overall_rate=service.overall_rate,
            concurrency=service.concurrency,
        )
        await application.initialize()
        resources.push_async_callback(application.shutdown)
        if not await _until_stopped(replica.acquire(), stop):
            return  # stopped while standby: nothing was polled
        await resources.enter_async_context(purging(runtime.store, settings.data_retention))
        prepare(runtime, application)
        if adapter.scheduler is not None:
            for chat_id, when in await runtime.engine.wake_ups():
                adapter.scheduler.schedule(chat_id, when)
        await register_commands(
            application.bot,
            settings.sandbox_chat_ids,
            every_chat_sandbox=settings.sandbox_only,
        )
        await application.bot.delete_webhook(drop_pending_updates=False)  # else getUpdates: 409
        await application.start()
        log.info(
            "bot @%s ready: %s",
            application.bot.username,
            "every chat is a sandbox chat"
            if settings.sandbox_only
            else f"{len(settings.sandbox_chat_ids)} sandbox chat(s), the others on Leyr",
        )
        inbox = Inbox(runtime.store)
        resources.enter_context(settled_heap())  # what lives as long as the service: frozen
        polling = asyncio.create_task(poller.run(application.bot, application.update_queue, inbox))
        stopping = asyncio.create_task(stop.wait())
        lost = asyncio.create_task(replica.lost())
        try:
            await asyncio.wait({polling, stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            lost.cancel()
            poller.stop()
            await asyncio.wait({polling})
            await application.stop()
            await poller.confirm(application.bot, inbox)
            if adapter.scheduler is not None:
                adapter.scheduler.cancel_all()
            log.info("stopped: every fetched update was handled")
        polling.result()  # InvalidToken or an unexpected failure of the poller
        if not lost.cancelled():
            raise LeadershipLost


async def _until_stopped(waiting: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Await `waiting` unless `stop` is set first; whether it finished."""
    task = asyncio.create_task(waiting)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
        return False
    task.result()
    return True


async def _main(service: Service) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    await serve(service, stop)


def run(settings: Settings) -> int:
    """Poll until SIGTERM/SIGINT; the exit status (0 after a clean stop, 2 for configuration)."""
    try:
        service = build_service(settings)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _quiet_telegram_logs()
    try:
        asyncio.run(_main(service))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except InvalidToken:
        print(
            "configuration error: invalid setting TELEGRAM_BOT_TOKEN: refused by the Bot API at "
            "TELEGRAM_API_URL",
            file=sys.stderr,
        )
        return 2
    except LeadershipLost:
        print("lost the poller lock: stopped polling; start again to stand by", file=sys.stderr)
        return 1
    except NetworkError as error:
        print(
            f"cannot reach the Bot API at TELEGRAM_API_URL: {type(error).__name__}",
            file=sys.stderr,
        )
        return 1
    return 0
