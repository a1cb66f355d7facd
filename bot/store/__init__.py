"""Storage: per-chat dialog state, chat-to-patient links, and the cancellation audit log."""

from bot.store.database import open_store
from bot.store.repository import AuditEntry, ChatSnapshot, Erased, Outbox, StaleVersion, Store

__all__ = ["AuditEntry", "ChatSnapshot", "Erased", "Outbox", "StaleVersion", "Store", "open_store"]
