"""Logging setup. Libraries that would log URLs (httpx puts the bot token and patient ids in
them) are held at WARNING; our own lines carry ids, states and error codes, never personal data."""

from __future__ import annotations

import logging

# httpx logs URLs (patient ids, the bot token); PTB at DEBUG logs whole updates (texts, phones).
QUIET = (
    "httpx",
    "httpcore",
    "telegram",
    "transitions",
    "apscheduler",
    "uvicorn.access",
    "aiosqlite",
    "asyncio",
    "alembic",  # at INFO, a line per plugin and migration at every start
)


class WithholdUpdateData(logging.Filter):
    """PTB logs the raw getUpdates answer (message texts, phones) at CRITICAL when it cannot
    parse it: keep the line, drop the data."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Error while parsing updates"):
            record.msg, record.args, record.exc_info = "Error while parsing updates", (), None
        return True


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdUpdateData) for f in logger.filters):
            logger.addFilter(WithholdUpdateData())
