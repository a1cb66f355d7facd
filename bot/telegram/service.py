"""`python -m bot run`: the Telegram long-polling service.

Start: the Telegram settings are checked first (one clear line naming a missing or invalid one),
then PTB's `run_polling` initializes the bot (getMe), opens the runtime (storage, Leyr clients,
sandbox) in `post_init`, registers the command menus, and polls with `ALLOWED_UPDATES` named and
`drop_pending_updates=False`, so updates that arrived while the bot was down are handled.

Stop (SIGTERM, SIGINT): `run_polling` installs handlers for both. On the signal it
1. stops polling: the open long poll is cancelled and one last getUpdates confirms the offset of
   everything already fetched, so nothing fetched is fetched again;
2. `Application.stop()` drains: it lets the fetcher take every update still in the queue and
   waits (`update_queue.join()`) until each one's handler has finished, then awaits the tasks
   made with `create_task` (e.g. a button press's early answer);
3. `post_stop` cancels the wake-up timers (an expiry is noticed at the next message anyway);
4. `post_shutdown`, after PTB closed its HTTP clients, closes the runtime (database, Leyr).
So in-flight updates finish and are saved before the process exits with status 0.

Only one process may poll a bot token at a time: a second one makes Telegram answer both with
409 Conflict, which the error handler logs as such.
"""

from __future__ import annotations

import logging
import re
import sys
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError

from bot.runtime import open_runtime
from bot.settings import ConfigError, Settings
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.commands import register_commands
from bot.telegram.handlers import AnyApplication, TelegramAdapter

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


def build_service(settings: Settings) -> AnyApplication:
    """The application with the runtime opened in post_init and closed in post_shutdown."""
    token = telegram_token(settings)
    api_url = telegram_api_url(settings)
    adapter = TelegramAdapter(
        clinic_name=settings.clinic_name,
        clinic_phone=settings.clinic_phone,
        is_sandbox=settings.is_sandbox_chat,
    )
    resources = AsyncExitStack()

    async def post_init(application: AnyApplication) -> None:
        runtime = await resources.enter_async_context(open_runtime(settings))
        adapter.attach(runtime.engine, runtime.agent)
        await register_commands(application.bot)
        log.info(
            "bot @%s ready: %s",
            application.bot.username,
            "every chat is a sandbox chat"
            if settings.sandbox_only
            else f"{len(settings.sandbox_chat_ids)} sandbox chat(s), the others on Leyr",
        )

    async def post_stop(application: AnyApplication) -> None:
        if adapter.scheduler is not None:
            adapter.scheduler.cancel_all()
        log.info("stopped: every fetched update was handled")

    async def post_shutdown(application: AnyApplication) -> None:
        await resources.aclose()

    return build_application(
        token,
        api_url,
        adapter,
        post_init=post_init,
        post_stop=post_stop,
        post_shutdown=post_shutdown,
    )


def run(settings: Settings) -> int:
    """Poll until SIGTERM/SIGINT; the exit status (0 after a clean stop, 2 for configuration)."""
    try:
        application = build_service(settings)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _quiet_telegram_logs()
    try:
        application.run_polling(
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
            timeout=POLL_TIMEOUT_SECONDS,
        )
    except InvalidToken:
        print(
            "configuration error: invalid setting TELEGRAM_BOT_TOKEN: refused by the Bot API at "
            "TELEGRAM_API_URL",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        print(
            f"cannot reach the Bot API at TELEGRAM_API_URL: {type(error).__name__}",
            file=sys.stderr,
        )
        return 1
    return 0
