"""Talking to the Leyr emulator as Leyr's clients do (the sandbox's tests): the headers, the care
unit's routes, the main test patient, and the requests those tests repeat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from bot.leyr.models import Appointment, ErrorEnvelope
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

HEADERS = {"x-leyr-client-id": SANDBOX_CLIENT_ID, "x-leyr-client-secret": SANDBOX_CLIENT_SECRET}
UNIT = f"/emrs/sandbox/care-units/{SANDBOX_CARE_UNIT}"
MAIN = "se_personal_number:191212121212"
MAIN_PHONE = "+46701234567"
START = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)


def error_code(response: httpx.Response) -> str:
    body = ErrorEnvelope.model_validate(response.json())
    return body.error_codes[0]


async def listing(client: httpx.AsyncClient, emr: str = "sandbox") -> list[Appointment]:
    r = await client.get(
        f"/emrs/{emr}/care-units/{SANDBOX_CARE_UNIT}/appointments", params={"patient_id": MAIN}
    )
    assert r.status_code == 200, r.text
    return [Appointment.model_validate(a) for a in r.json()]


async def cancel(client: httpx.AsyncClient, appointment_id: str, **extra: Any) -> httpx.Response:
    return await client.patch(
        f"{UNIT}/appointments/{appointment_id}", json={"status": "cancelled", **extra}
    )


async def confirm(client: httpx.AsyncClient, pending_id: str, code: str) -> httpx.Response:
    return await client.patch(
        f"{UNIT}/appointments/{pending_id}", json={"confirmation": {"code": code}}
    )
