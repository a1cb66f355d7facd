"""Logging setup, as text lines or one JSON object per line (`LOG_FORMAT=json`). Libraries that
would log URLs (httpx puts the bot token and patient ids in them) are held at WARNING; our own
lines carry ids, states and error codes, never personal data, in either format."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

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


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the
    traceback when there is one. Nothing else of the record: `extra` fields are not written."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str = "INFO", log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdUpdateData) for f in logger.filters):
            logger.addFilter(WithholdUpdateData())
