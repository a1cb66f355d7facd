"""The async Leyr client: one pooled `httpx.AsyncClient`, both auth headers, typed answers.

Reads retry transient failures with backoff; writes never retry: a write that could not be sent
raises `LeyrNotSent` (safe to retry), one whose answer was lost `LeyrOutcomeUnknown` so the caller
re-reads. Logs carry method, path template, status, timing and Leyr's `instance`; never bodies,
query strings, patient ids, codes or secrets.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.lanes import LaneTransport
from bot.leyr.errors import (
    LeyrApiError,
    LeyrBadRequest,
    LeyrEmrError,
    LeyrError,
    LeyrMalformedResponse,
    LeyrNotSent,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
    LeyrUnknownError,
)
from bot.leyr.models import (
    CANCELLED,
    Appointment,
    AppointmentState,
    CareUnit,
    ErrorEnvelope,
    Patient,
    PatientIdType,
    Resource,
    typed_patient_id,
)
from bot.ops.metrics import leyr_call
from bot.settings import ConfigError, Settings

log = logging.getLogger("bot.leyr")

# [assumed] in docs/leyr-api.md, kept here in one place:
APPOINTMENT_RANGE_PARAMS = ("start", "end")  # names of the date-range filter on appointments

TIMEOUT_SECONDS = 10.0  # each of read, write and pool; `Settings.leyr_timeout_seconds` overrides
CONNECT_TIMEOUT_SECONDS = 5.0  # at most; never longer than the overall timeout
CONNECTIONS = 128
"""Calls to Leyr at once, each on its own kept-alive connection: as many as the updates at work at
once (`bot.telegram.ordering.DEFAULT_CONCURRENCY`), each of which makes one call at a time, so no
step waits for a connection. With 64, a wave of patients all at the personal-number step (two
reads each) waited on connections: 64 carry 320 calls a second at 200 ms, the bot asked for more.
Further calls (wake-ups, sandbox) wait for a free one."""
LANE_CONNECTIONS = 1
"""Connections per lane (`bot.lanes`). httpcore's per-call bookkeeping grows with the
connections in one pool: at 64 in one it cost more CPU than the calls. One per lane costs least
(bench, 2000 patients at 200 ms: CPU per update 4.23 ms against 4.30 with 8 per lane)."""
READ_ATTEMPTS = 3  # reads only; writes are never retried
BACKOFF_SECONDS = 0.2  # sleep before retry n: BACKOFF_SECONDS * 2**(n-1) * (0.5 + jitter in [0, 1))

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
ModelT = TypeVar("ModelT", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]

_ERRORS: dict[str, type[LeyrApiError]] = {
    "BAD_REQUEST": LeyrBadRequest,
    "UNAUTHORIZED": LeyrUnauthorized,
    "EMR_ERROR": LeyrEmrError,
}


class LeyrClient:
    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        emr: str,
        care_unit_id: str,
        timeout: float = TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        max_read_attempts: int = READ_ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "x-leyr-client-id": client_id,
                "x-leyr-client-secret": client_secret,
                "accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            transport=transport
            or LaneTransport(lanes=CONNECTIONS // LANE_CONNECTIONS, per_lane=LANE_CONNECTIONS),
        )
        self._unit = f"/emrs/{quote(emr, safe='')}/care-units/{quote(care_unit_id, safe='')}"
        self._emr = emr
        self._attempts = max(1, max_read_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._jitter = jitter

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> LeyrClient:
        """The live client; ConfigError names (never shows) the Leyr settings that are unset."""
        client_id, secret = settings.leyr_client_id, settings.leyr_client_secret
        emr, units = settings.leyr_emr, settings.care_unit_ids
        if not (client_id and secret and emr and units):
            named = {
                "LEYR_CLIENT_ID": client_id,
                "LEYR_CLIENT_SECRET": secret,
                "LEYR_EMR": emr,
                "LEYR_CARE_UNIT_IDS": units,
            }
            unset = ", ".join(name for name, value in named.items() if not value)
            raise ConfigError(f"the Leyr client needs {unset}")
        return cls(
            base_url=settings.leyr_base_url,
            client_id=client_id,
            client_secret=secret.get_secret_value(),
            emr=emr,
            care_unit_id=units[0],
            timeout=settings.leyr_timeout_seconds,
            transport=transport,
        )

    def at(self, care_unit_id: str) -> LeyrClient:
        """This client for another care unit of the same EHR (a clinic chain's), on the same
        connections. Only the original is closed."""
        other = copy.copy(self)
        other._unit = f"/emrs/{quote(self._emr, safe='')}/care-units/{quote(care_unit_id, safe='')}"
        return other

    async def __aenter__(self) -> LeyrClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- reads ----------------------------------------------------------------------------------
    async def list_care_units(self) -> list[CareUnit]:
        path = f"/emrs/{quote(self._emr, safe='')}/care-units"
        return await self._read_list(path, "/emrs/{emr}/care-units", CareUnit)

    async def list_resources(self) -> list[Resource]:
        return await self._read_list(
            f"{self._unit}/resources", "/emrs/{emr}/care-units/{cu}/resources", Resource
        )

    async def get_patient(self, id_type: PatientIdType, value: str) -> Patient:
        patient_id = quote(typed_patient_id(id_type, value), safe="")
        data = await self._read(
            f"{self._unit}/patients/{patient_id}", "/emrs/{emr}/care-units/{cu}/patients/{id}"
        )
        return _parse(Patient, data, write=False)

    async def list_appointments(
        self, patient_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        start_name, end_name = APPOINTMENT_RANGE_PARAMS
        params = {
            "patient_id": patient_id,
            start_name: start.isoformat(),
            end_name: end.isoformat(),
        }
        return await self._read_list(
            f"{self._unit}/appointments",
            "/emrs/{emr}/care-units/{cu}/appointments",
            Appointment,
            params,
        )

    # -- writes ---------------------------------------------------------------------------------
    async def cancel_appointment(
        self, appointment_id: str, comment: str | None = None
    ) -> AppointmentState:
        body: dict[str, Any] = {"status": CANCELLED}
        if comment:
            body["comment"] = comment
        data = await self._write(
            f"{self._unit}/appointments/{quote(appointment_id, safe='')}",
            "/emrs/{emr}/care-units/{cu}/appointments/{id}",
            body,
        )
        return _parse(AppointmentState, data, write=True)

    async def cancel_appointments(
        self, appointment_ids: Sequence[str], comment: str | None = None
    ) -> list[AppointmentState]:
        """One state per item read; an item that cannot be read is left out (its outcome is
        then unknown to the caller)."""
        body: dict[str, Any] = {"ids": list(appointment_ids), "status": CANCELLED}
        if comment:
            body["comment"] = comment
        template = "/emrs/{emr}/care-units/{cu}/appointments"
        data = await self._write(f"{self._unit}/appointments", template, body)
        return _parse_list(AppointmentState, data, template, write=True)

    async def confirm_cancellation(self, new_id: str, code: str) -> AppointmentState:
        data = await self._write(
            f"{self._unit}/appointments/{quote(new_id, safe='')}",
            "/emrs/{emr}/care-units/{cu}/appointments/{id}",
            {"confirmation": {"code": code}},
        )
        return _parse(AppointmentState, data, write=True)

    # -- plumbing -------------------------------------------------------------------------------
    async def _read_list(
        self,
        path: str,
        template: str,
        model: type[ModelT],
        params: dict[str, str] | None = None,
    ) -> list[ModelT]:
        return _parse_list(model, await self._read(path, template, params), template, write=False)

    async def _read(self, path: str, template: str, params: dict[str, str] | None = None) -> Any:
        for attempt in range(1, self._attempts + 1):
            started = time.perf_counter()
            try:
                response = await self._http.get(path, params=params)
            except httpx.TransportError as error:
                _log_failure("GET", template, attempt, started, type(error).__name__)
                if attempt == self._attempts:
                    raise LeyrUnavailable(
                        f"GET {template} failed: {type(error).__name__}"
                    ) from None
            except httpx.RequestError as error:  # the answer came but cannot be read, e.g. bad gzip
                _log_failure("GET", template, attempt, started, type(error).__name__)
                raise LeyrMalformedResponse(
                    f"GET {template} answer unreadable: {type(error).__name__}"
                ) from None
            else:
                _log_response("GET", template, attempt, started, response)
                if not _transient(response):
                    return _json_or_raise(response, template, write=False)
                if attempt == self._attempts:
                    summary = f"GET {template} kept failing"
                    raise _transient_error(LeyrUnavailable, response, summary)
            await self._sleep(self._backoff * 2 ** (attempt - 1) * (0.5 + self._jitter()))
        raise AssertionError("unreachable")

    async def _write(self, path: str, template: str, body: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            response = await self._http.patch(path, json=body)
        except NOT_SENT as error:
            _log_failure("PATCH", template, 1, started, type(error).__name__)
            raise LeyrNotSent(f"PATCH {template} not sent: {type(error).__name__}") from None
        except httpx.RequestError as error:  # sent: a lost, cut or undecodable answer
            _log_failure("PATCH", template, 1, started, type(error).__name__)
            raise LeyrOutcomeUnknown(
                f"PATCH {template} answer lost: {type(error).__name__}"
            ) from None
        _log_response("PATCH", template, 1, started, response)
        if _transient(response):
            raise _transient_error(
                LeyrOutcomeUnknown, response, f"PATCH {template} answered {response.status_code}"
            )
        return _json_or_raise(response, template, write=True)


def _transient(response: httpx.Response) -> bool:
    """5xx and 429: worth a retry for a read, an unknown outcome for a write."""
    return response.status_code >= 500 or response.status_code == 429


def _envelope(response: httpx.Response) -> ErrorEnvelope | None:
    """Codes and `instance` from whatever JSON object an error came with; None for no object."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return ErrorEnvelope.model_validate(data)
    except ValidationError:  # pragma: no cover - every field of the envelope is optional
        return None


def _api_error(envelope: ErrorEnvelope, status: int, template: str) -> LeyrApiError:
    """By Leyr's top-level code; a body without one (FastAPI's 404/422) by the HTTP status."""
    kind: type[LeyrApiError]
    if envelope.code is not None:
        kind = _ERRORS.get(envelope.code, LeyrUnknownError)
    elif status in (401, 403):
        kind = LeyrUnauthorized
    else:
        kind = LeyrBadRequest if 400 <= status < 500 else LeyrUnknownError
    return kind(
        f"Leyr refused {template}",
        code=envelope.code,
        error_codes=envelope.error_codes,
        instance=envelope.instance,
        status=status,
    )


TransientT = TypeVar("TransientT", LeyrUnavailable, LeyrOutcomeUnknown)


def _transient_error(kind: type[TransientT], response: httpx.Response, summary: str) -> TransientT:
    """A 5xx or 429, keeping the codes and `instance` of Leyr's envelope when it sent one."""
    envelope = _envelope(response)
    if envelope is None:
        return kind(summary, status=response.status_code)
    return kind(
        summary,
        code=envelope.code,
        error_codes=envelope.error_codes,
        instance=envelope.instance,
        status=response.status_code,
    )


def _json_or_raise(response: httpx.Response, template: str, *, write: bool) -> Any:
    if response.is_success:
        try:
            return response.json()
        except ValueError:
            kind = LeyrOutcomeUnknown if write else LeyrMalformedResponse
            raise kind(f"{template}: answer is not JSON", status=response.status_code) from None
    envelope = _envelope(response)
    if envelope is None:
        raise LeyrUnknownError(
            f"{template}: error without Leyr's envelope", status=response.status_code
        )
    raise _api_error(envelope, response.status_code, template)


def _parse(model: type[ModelT], data: Any, *, write: bool) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError:
        kind: type[LeyrError] = LeyrOutcomeUnknown if write else LeyrMalformedResponse
        raise kind(f"unexpected shape for {model.__name__}") from None


@cache
def _list_of(model: type[ModelT]) -> TypeAdapter[list[ModelT]]:
    """Built once per model: building a TypeAdapter costs more than most answers' parsing."""
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _unwrap(data: Any) -> list[Any] | None:
    """A JSON array, or the one array inside an object (`{"data": [...]}` and the like)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) == 1:
            return lists[0]
    return None


def _parse_list(model: type[ModelT], data: Any, template: str, *, write: bool) -> list[ModelT]:
    """Every readable item; those that cannot be read are skipped and counted in the log (never
    shown: their content may be personal)."""
    items = _unwrap(data)
    if items is None:
        kind: type[LeyrError] = LeyrOutcomeUnknown if write else LeyrMalformedResponse
        raise kind(f"unexpected shape for a list of {model.__name__}")
    try:
        return _list_of(model).validate_python(items)
    except ValidationError:
        pass
    read = []
    for item in items:
        try:
            read.append(model.model_validate(item))
        except ValidationError:
            continue
    log.warning(
        "%s: %s of %s items unreadable, skipped", template, len(items) - len(read), len(items)
    )
    return read


def _log_response(
    method: str, template: str, attempt: int, started: float, response: httpx.Response
) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    leyr_call(method, template, str(response.status_code), elapsed / 1000)
    if response.is_success:
        log.debug(
            "%s %s -> %s %.0fms attempt=%s",
            method,
            template,
            response.status_code,
            elapsed,
            attempt,
        )
        return
    envelope = _envelope(response)
    log.warning(
        "%s %s -> %s %.0fms attempt=%s code=%s error_codes=%s instance=%s",
        method,
        template,
        response.status_code,
        elapsed,
        attempt,
        envelope.code if envelope else None,
        ",".join(envelope.error_codes) if envelope else None,
        envelope.instance if envelope else None,
    )


def _log_failure(method: str, template: str, attempt: int, started: float, error: str) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    leyr_call(method, template, error, elapsed / 1000)
    log.warning("%s %s failed %s %.0fms attempt=%s", method, template, error, elapsed, attempt)
