"""Typed Leyr failures. Messages and reprs carry codes and `instance`, never Leyr's raw `detail`.

The hierarchy (what the client raises, and what `bot.leyr.clinic` makes of it for the dialog):

* LeyrError
  + LeyrApiError               Leyr answered with its error envelope
  | + LeyrBadRequest           400: validation, unknown ids, wrong code, NOT_SUPPORTED, ...
  | + LeyrUnauthorized         401: client id or secret wrong (configuration)
  | + LeyrEmrError             EMR_ERROR: the EHR itself failed
  | + LeyrUnknownError         UNKNOWN_ERROR, or a code we do not know
  + LeyrUnavailable            not reached, or kept failing transiently: nothing changed
  | + LeyrNotSent              a write that never left: safe to send again
  + LeyrOutcomeUnknown         a write was sent, its answer lost: re-read first
  + LeyrMalformedResponse      an answer that is not the JSON we rely on (a read)
"""

from __future__ import annotations


class LeyrError(Exception):
    """Base of every failure talking to Leyr.

    `code` is Leyr's top-level code (BAD_REQUEST, UNAUTHORIZED, EMR_ERROR, UNKNOWN_ERROR) when
    Leyr answered with an error envelope; `error_codes` the `errors[].error_code` values;
    `instance` the per-request id Leyr support can trace; `status` the HTTP status if any.
    """

    def __init__(
        self,
        summary: str,
        *,
        code: str | None = None,
        error_codes: tuple[str, ...] = (),
        instance: str | None = None,
        status: int | None = None,
    ) -> None:
        self.summary = summary
        self.code = code
        self.error_codes = error_codes
        self.instance = instance
        self.status = status
        super().__init__(str(self))

    def has(self, error_code: str) -> bool:
        return error_code in self.error_codes

    def __str__(self) -> str:
        parts = [self.summary]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.error_codes:
            parts.append("error_codes=" + ",".join(self.error_codes))
        if self.instance:
            parts.append(f"instance={self.instance}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class LeyrApiError(LeyrError):
    """Leyr answered with its error envelope."""


class LeyrBadRequest(LeyrApiError):
    """400 BAD_REQUEST: validation, unknown ids, wrong SMS code (BAD_INPUT), NOT_SUPPORTED, ..."""


class LeyrUnauthorized(LeyrApiError):
    """401 UNAUTHORIZED: missing or unknown client id or secret. A configuration fault."""


class LeyrEmrError(LeyrApiError):
    """EMR_ERROR: the EHR itself failed; its raw text stays out of this exception."""


class LeyrUnknownError(LeyrApiError):
    """UNKNOWN_ERROR, or an envelope with a code we do not know."""


class LeyrUnavailable(LeyrError):
    """Leyr could not be reached or kept failing transiently; nothing was changed."""


class LeyrNotSent(LeyrUnavailable):
    """A write never left: no connection, or none free in the pool. Safe to send again."""


class LeyrOutcomeUnknown(LeyrError):
    """A write was sent but its answer was lost or unreadable: re-read before retrying."""


class LeyrMalformedResponse(LeyrError):
    """Leyr answered something that is not the JSON shape we rely on (a read)."""
