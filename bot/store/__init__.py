"""Storage: per-chat dialog state, chat-to-patient links, the cancellation audit log, and the
inbox of Telegram updates."""

from bot.store.database import open_store
from bot.store.inbox import Inbox, Received
from bot.store.repository import AuditEntry, ChatSnapshot, Erased, Outbox, StaleVersion, Store

__all__ = [
    "AuditEntry",
    "ChatSnapshot",
    "Erased",
    "Inbox",
    "Outbox",
    "Received",
    "StaleVersion",
    "Store",
    "open_store",
]
