"""The Leyr API: an async client (`LeyrClient`, httpx over `lanes`), its typed answers
(`models`) and failures (`errors`), and `LeyrClinic`, the dialog's `Clinic` over it."""

from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from bot.leyr.errors import (
    LeyrApiError,
    LeyrError,
    LeyrMalformedResponse,
    LeyrNotSent,
    LeyrOutcomeUnknown,
    LeyrUnavailable,
)

__all__ = [
    "LeyrApiError",
    "LeyrClient",
    "LeyrClinic",
    "LeyrError",
    "LeyrMalformedResponse",
    "LeyrNotSent",
    "LeyrOutcomeUnknown",
    "LeyrUnavailable",
]
