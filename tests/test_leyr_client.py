"""The Leyr client against respx: request shapes, answers, every error class, retries, logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from bot.leyr.client import LeyrClient
from bot.leyr.errors import (
    LeyrBadRequest,
    LeyrEmrError,
    LeyrError,
    LeyrMalformedResponse,
    LeyrOutcomeUnknown,
    LeyrUnauthorized,
    LeyrUnavailable,
    LeyrUnknownError,
)
from bot.logs import setup_logging

BASE = "https://api.leyr.io/api"
UNIT = f"{BASE}/emrs/webdoc/care-units/cu-1"
SECRET = "s3cret-value"
PERSONAL = "191212121212"
INSTANCE = "d3e84cc1-148a-4edf-9579-5dcef1d6dbfa"
APPOINTMENT = {
    "id": "a-1",
    "start": "2026-03-25T14:00:00+01:00",
    "end": "2026-03-25T14:30:00+01:00",
    "status": "booked",
    "comment": None,
    "care_unit_id": "cu-1",
    "patient_id": "p-1",
    "resource_id": "r-1",
    "healthcare_service_id": "hs-1",
}


def envelope(
    code: str = "BAD_REQUEST", error_code: str = "BAD_INPUT", status: int = 400
) -> dict[str, Any]:
    return {
        "code": code,
        "type": f"https://docs.leyr.io/api/error-handling/{code.lower()}",
        "title": "Request validation failed",
        "status": status,
        "detail": f"Personnummer {PERSONAL} rejected by EHR",
        "instance": INSTANCE,
        "errors": [{"error_code": error_code, "details": "x", "emr_error": None, "path": None}],
    }


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(sleeps: Sleeps):
    async with LeyrClient(
        base_url=BASE,
        client_id="client-1",
        client_secret=SECRET,
        emr="webdoc",
        care_unit_id="cu-1",
        sleep=sleeps,
    ) as leyr:
        yield leyr


def body(route: respx.Route, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(route.calls[index].request.content)
    return data


@respx.mock
async def test_every_request_carries_both_auth_headers(client: LeyrClient) -> None:
    route = respx.get(f"{BASE}/emrs/webdoc/care-units").respond(json=[{"id": "cu-1", "name": "X"}])
    units = await client.list_care_units()
    assert units[0].id == "cu-1"
    headers = route.calls[0].request.headers
    assert headers["x-leyr-client-id"] == "client-1"
    assert headers["x-leyr-client-secret"] == SECRET


@respx.mock
async def test_resources_and_patient_by_typed_id(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(json=[{"id": "r-1", "name": "Dr A"}])
    patient_route = respx.get(f"{UNIT}/patients/se_personal_number%3A{PERSONAL}").respond(
        json={
            "id": "p-1",
            "emr_id": "p-1",
            "first_name": "A",
            "last_name": "B",
            "care_unit_id": "cu-1",
            "phones": ["+46701234567"],
        }
    )
    assert (await client.list_resources())[0].name == "Dr A"
    patient = await client.get_patient("se_personal_number", PERSONAL)
    assert patient.phones == ["+46701234567"]
    assert patient_route.called


@respx.mock
async def test_list_appointments_sends_patient_and_range(client: LeyrClient) -> None:
    route = respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 9, 1, tzinfo=UTC)
    listed = await client.list_appointments("p-1", start, end)
    assert listed[0].id == "a-1" and listed[0].start.utcoffset() is not None
    params = route.calls[0].request.url.params
    assert params["patient_id"] == "p-1"
    assert datetime.fromisoformat(params["start"]) == start
    assert datetime.fromisoformat(params["end"]) == end


@respx.mock
async def test_cancel_one_without_and_with_comment(client: LeyrClient) -> None:
    route = respx.patch(f"{UNIT}/appointments/a-1").respond(
        json={**APPOINTMENT, "status": "cancelled"}
    )
    assert (await client.cancel_appointment("a-1")).status == "cancelled"
    assert body(route) == {"status": "cancelled"}
    await client.cancel_appointment("a-1", "ill")
    assert body(route, 1) == {"status": "cancelled", "comment": "ill"}
    for call in route.calls:
        assert not {"start", "end", "resource_id"} & set(json.loads(call.request.content))


@respx.mock
async def test_bulk_cancel_is_one_patch_with_all_ids(client: LeyrClient) -> None:
    route = respx.patch(f"{UNIT}/appointments").respond(
        json=[
            {**APPOINTMENT, "status": "cancelled"},
            {**APPOINTMENT, "id": "a-2", "status": "completed"},
        ]
    )
    answered = await client.cancel_appointments(["a-1", "a-2"], "moving")
    assert [a.status for a in answered] == ["cancelled", "completed"]
    assert body(route) == {"ids": ["a-1", "a-2"], "status": "cancelled", "comment": "moving"}
    assert route.call_count == 1


@respx.mock
async def test_two_step_answer_and_confirmation_go_to_the_new_id(client: LeyrClient) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").respond(
        json={**APPOINTMENT, "id": "new-9", "status": "awaiting_confirmation"}
    )
    confirm = respx.patch(f"{UNIT}/appointments/new-9").respond(
        json={**APPOINTMENT, "id": "new-9", "status": "cancelled"}
    )
    pending = await client.cancel_appointment("a-1")
    assert (pending.id, pending.status) == ("new-9", "awaiting_confirmation")
    done = await client.confirm_cancellation(pending.id, "123456")
    assert done.status == "cancelled"
    assert body(confirm) == {"confirmation": {"code": "123456"}}


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("BAD_REQUEST", 400, LeyrBadRequest),
        ("UNAUTHORIZED", 401, LeyrUnauthorized),
        ("EMR_ERROR", 400, LeyrEmrError),
        ("UNKNOWN_ERROR", 400, LeyrUnknownError),
        ("SOMETHING_NEW", 400, LeyrUnknownError),
    ],
)
@respx.mock
async def test_error_envelopes_become_typed_errors_without_detail(
    client: LeyrClient, code: str, status: int, kind: type[LeyrError]
) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").respond(
        status, json=envelope(code, "BAD_INPUT", status)
    )
    with pytest.raises(kind) as caught:
        await client.cancel_appointment("a-1")
    error: LeyrError = caught.value
    assert (error.code, error.error_codes, error.instance) == (code, ("BAD_INPUT",), INSTANCE)
    assert error.has("BAD_INPUT")
    assert PERSONAL not in str(error) and PERSONAL not in repr(error)


@respx.mock
async def test_reads_retry_transient_failures_with_backoff(
    client: LeyrClient, sleeps: Sleeps
) -> None:
    route = respx.get(f"{UNIT}/resources")
    route.side_effect = [
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=[]),
    ]
    assert await client.list_resources() == []
    assert route.call_count == 3
    assert len(sleeps.delays) == 2 and sleeps.delays[1] > sleeps.delays[0] * 0.5


@respx.mock
async def test_reads_give_up_after_the_bound(client: LeyrClient, sleeps: Sleeps) -> None:
    route = respx.get(f"{UNIT}/resources").mock(side_effect=httpx.ConnectError("down"))
    with pytest.raises(LeyrUnavailable):
        await client.list_resources()
    assert route.call_count == 3 and len(sleeps.delays) == 2


@respx.mock
async def test_a_read_5xx_with_envelope_is_still_transient(client: LeyrClient) -> None:
    route = respx.get(f"{UNIT}/resources").respond(502, json=envelope("EMR_ERROR", "X", 502))
    with pytest.raises(LeyrUnavailable) as caught:
        await client.list_resources()
    assert caught.value.instance == INSTANCE and route.call_count == 3


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("lost"),
        httpx.RemoteProtocolError("reset"),
        httpx.Response(500),
        httpx.Response(429),
    ],
)
@respx.mock
async def test_writes_never_retry_and_a_lost_answer_is_unknown(
    client: LeyrClient, fault: httpx.Response | Exception
) -> None:
    route = respx.patch(f"{UNIT}/appointments/a-1").mock(side_effect=[fault])
    with pytest.raises(LeyrOutcomeUnknown):
        await client.cancel_appointment("a-1")
    assert route.call_count == 1


@respx.mock
async def test_a_write_that_could_not_be_sent_is_unavailable(client: LeyrClient) -> None:
    route = respx.patch(f"{UNIT}/appointments/a-1").mock(side_effect=httpx.ConnectError("down"))
    with pytest.raises(LeyrUnavailable):
        await client.cancel_appointment("a-1")
    assert route.call_count == 1


@respx.mock
async def test_malformed_answers(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(200, content=b"{not json")
    respx.get(f"{UNIT}/appointments").respond(200, json={"not": "a list"})
    respx.patch(f"{UNIT}/appointments/a-1").respond(200, content=b"<html>")
    respx.patch(f"{UNIT}/appointments").respond(200, json=[{"id": "a-1"}])
    with pytest.raises(LeyrMalformedResponse):
        await client.list_resources()
    with pytest.raises(LeyrMalformedResponse):
        await client.list_appointments("p-1", datetime.now(UTC), datetime.now(UTC))
    with pytest.raises(LeyrOutcomeUnknown):
        await client.cancel_appointment("a-1")
    with pytest.raises(LeyrOutcomeUnknown):
        await client.cancel_appointments(["a-1", "a-2"])


@respx.mock
async def test_non_json_error_is_unknown_error(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(404, content=b"nope")
    with pytest.raises(LeyrUnknownError) as caught:
        await client.list_resources()
    assert caught.value.status == 404


@respx.mock
async def test_one_pooled_connection_client_is_reused(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(json=[])
    http = client._http
    await client.list_resources()
    await client.list_resources()
    assert client._http is http and not http.is_closed


@respx.mock
async def test_logs_hold_no_personal_data_or_secrets(
    client: LeyrClient, caplog: pytest.LogCaptureFixture
) -> None:
    setup_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    respx.get(f"{UNIT}/patients/se_personal_number%3A{PERSONAL}").respond(
        400, json=envelope("BAD_REQUEST", "INVALID_PATIENT_ID")
    )
    respx.patch(f"{UNIT}/appointments/new-1").respond(400, json=envelope())
    with pytest.raises(LeyrBadRequest):
        await client.get_patient("se_personal_number", PERSONAL)
    with pytest.raises(LeyrBadRequest):
        await client.confirm_cancellation("new-1", "654321")
    text = caplog.text
    assert INSTANCE in text
    for secret in (PERSONAL, "654321", SECRET, "rejected by EHR"):
        assert secret not in text
