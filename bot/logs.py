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
)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
