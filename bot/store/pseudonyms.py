"""Keyed pseudonyms (HMAC-SHA256 with PSEUDONYM_KEY) for what the audit log may not hold in
clear: patient ids and Telegram chat ids. Stable per value, unreadable without the key."""

from __future__ import annotations

import hashlib
import hmac


def patient_key(key: str, patient_id: str | None) -> str:
    return hmac.new(key.encode(), (patient_id or "").encode(), hashlib.sha256).hexdigest()


def chat_key(key: str, chat_id: int) -> str:
    """A chat's pseudonym; prefixed so that it never equals a patient's."""
    return hmac.new(key.encode(), f"chat:{chat_id}".encode(), hashlib.sha256).hexdigest()
