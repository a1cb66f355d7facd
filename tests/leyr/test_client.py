"""The Leyr client against respx: request shapes, answers, every error class, retries, logs."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import respx
from pydantic import SecretStr

from bot.lanes import LaneTransport
from bot.leyr.client import CONNECTIONS, LANE_CONNECTIONS, LeyrClient
from bot.leyr.errors import (
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
from bot.logs import setup_logging
from bot.settings import ConfigError, Settings
from bot.telegram.ordering import DEFAULT_CONCURRENCY
from tests.support.clock import Sleeps
from tests.support.leyr_answers import APPOINTMENT, BASE, INSTANCE, PERSONAL, SECRET, UNIT, envelope


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


class CountedClient(httpx.AsyncClient):
    """httpx.AsyncClient that records how it was built."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        CountedClient.built.append(kwargs)
        super().__init__(**kwargs)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    CountedClient.built = []
    monkeypatch.setattr(httpx, "AsyncClient", CountedClient)
    return CountedClient.built


def detail_free(error: LeyrError) -> bool:
    return PERSONAL not in str(error) and PERSONAL not in repr(error)


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


@pytest.mark.parametrize(
    "fault",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
)
@respx.mock
async def test_a_write_that_could_not_be_sent_is_not_sent(
    client: LeyrClient, fault: Exception
) -> None:
    route = respx.patch(f"{UNIT}/appointments/a-1").mock(side_effect=fault)
    with pytest.raises(LeyrNotSent) as caught:
        await client.cancel_appointment("a-1")
    assert isinstance(caught.value, LeyrUnavailable)  # nothing changed: the dialog may retry
    assert route.call_count == 1


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout("lost"), httpx.WriteTimeout("half"), httpx.RemoteProtocolError("cut")],
)
@respx.mock
async def test_a_write_that_was_sent_is_never_not_sent(
    client: LeyrClient, fault: Exception
) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").mock(side_effect=fault)
    with pytest.raises(LeyrOutcomeUnknown) as caught:
        await client.cancel_appointment("a-1")
    assert not isinstance(caught.value, LeyrUnavailable)


@pytest.mark.parametrize("status", [500, 503, 429])
@respx.mock
async def test_a_transient_write_answer_keeps_leyr_envelope(
    client: LeyrClient, status: int
) -> None:
    respx.patch(f"{UNIT}/appointments").respond(
        status, json=envelope("EMR_ERROR", "NOT_SUPPORTED", status)
    )
    with pytest.raises(LeyrOutcomeUnknown) as caught:
        await client.cancel_appointments(["a-1", "a-2"])
    error = caught.value
    assert (error.code, error.error_codes, error.instance, error.status) == (
        "EMR_ERROR",
        ("NOT_SUPPORTED",),
        INSTANCE,
        status,
    )
    assert detail_free(error)


@respx.mock
async def test_a_transient_read_answer_keeps_leyr_envelope(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(429, json=envelope("UNKNOWN_ERROR", "X", 429))
    with pytest.raises(LeyrUnavailable) as caught:
        await client.list_resources()
    error = caught.value
    assert (error.code, error.error_codes, error.instance, error.status) == (
        "UNKNOWN_ERROR",
        ("X",),
        INSTANCE,
        429,
    )
    assert detail_free(error)


BROKEN_GZIP = {"content-encoding": "gzip", "content-type": "application/json"}


@respx.mock
async def test_an_undecodable_write_answer_is_an_unknown_outcome(client: LeyrClient) -> None:
    route = respx.patch(f"{UNIT}/appointments/a-1").mock(
        return_value=httpx.Response(200, headers=BROKEN_GZIP, stream=httpx.ByteStream(b"no"))
    )
    with pytest.raises(LeyrOutcomeUnknown):
        await client.cancel_appointment("a-1")
    assert route.call_count == 1


@respx.mock
async def test_an_undecodable_read_answer_is_malformed(client: LeyrClient) -> None:
    route = respx.get(f"{UNIT}/resources").mock(
        return_value=httpx.Response(200, headers=BROKEN_GZIP, stream=httpx.ByteStream(b"no"))
    )
    with pytest.raises(LeyrMalformedResponse):
        await client.list_resources()
    assert route.call_count == 1


@respx.mock
async def test_a_good_gzip_answer_still_reads(client: LeyrClient) -> None:
    packed = gzip.compress(b'[{"id": "r-1", "name": "Dr A"}]')
    respx.get(f"{UNIT}/resources").mock(
        return_value=httpx.Response(200, headers=BROKEN_GZIP, stream=httpx.ByteStream(packed))
    )
    assert [r.id for r in await client.list_resources()] == ["r-1"]


@respx.mock
async def test_reads_retry_on_429(client: LeyrClient, sleeps: Sleeps) -> None:
    route = respx.get(f"{UNIT}/resources")
    route.side_effect = [httpx.Response(429), httpx.Response(200, json=[{"id": "r-1"}])]
    assert [r.id for r in await client.list_resources()] == ["r-1"]
    assert route.call_count == 2 and len(sleeps.delays) == 1


@pytest.mark.parametrize(("jitter", "expected"), [(0.5, [0.1, 0.2, 0.4]), (0.0, [0.05, 0.1, 0.2])])
@respx.mock
async def test_read_backoff_doubles_each_retry(
    sleeps: Sleeps, jitter: float, expected: list[float]
) -> None:
    respx.get(f"{UNIT}/resources").mock(side_effect=httpx.ConnectError("down"))
    async with LeyrClient(
        base_url=BASE,
        client_id="c",
        client_secret=SECRET,
        emr="webdoc",
        care_unit_id="cu-1",
        max_read_attempts=4,
        backoff=0.1,
        sleep=sleeps,
        jitter=lambda: jitter,
    ) as leyr:
        with pytest.raises(LeyrUnavailable):
            await leyr.list_resources()
    assert sleeps.delays == pytest.approx(expected)


def test_every_update_at_work_can_have_a_connection_to_leyr() -> None:
    assert CONNECTIONS >= DEFAULT_CONCURRENCY


async def test_timeouts_and_pool_limits_are_explicit(built: list[dict[str, Any]]) -> None:
    async with LeyrClient(
        base_url=BASE, client_id="c", client_secret=SECRET, emr="webdoc", care_unit_id="cu-1"
    ) as leyr:
        assert leyr._http.timeout == httpx.Timeout(10.0, connect=5.0)
    async with LeyrClient(
        base_url=BASE,
        client_id="c",
        client_secret=SECRET,
        emr="webdoc",
        care_unit_id="cu-1",
        timeout=2.0,
    ) as leyr:
        assert leyr._http.timeout == httpx.Timeout(2.0, connect=2.0)
    for made in built:
        lanes = made["transport"]
        assert isinstance(lanes, LaneTransport)
        assert len(lanes.lanes) * lanes.per_lane == lanes.free == CONNECTIONS
        for lane in lanes.lanes:  # bounded, not None: a small pool each
            assert lane._pool._max_connections == LANE_CONNECTIONS
            assert lane._pool._max_keepalive_connections == LANE_CONNECTIONS


@respx.mock
async def test_one_http_client_serves_every_call(built: list[dict[str, Any]]) -> None:
    respx.get(f"{UNIT}/resources").respond(json=[])
    respx.patch(f"{UNIT}/appointments/a-1").respond(json={**APPOINTMENT, "status": "cancelled"})
    async with LeyrClient(
        base_url=BASE, client_id="c", client_secret=SECRET, emr="webdoc", care_unit_id="cu-1"
    ) as leyr:
        http = leyr._http
        await leyr.list_resources()
        await leyr.cancel_appointment("a-1")
        await leyr.list_resources()
        assert leyr._http is http and not http.is_closed
    assert len(built) == 1 and http.is_closed


def complete_settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "leyr_client_id": "client-1",
        "leyr_client_secret": SecretStr(SECRET),
        "leyr_emr": "webdoc",
        "leyr_care_unit_id": "cu-1",
        "leyr_timeout_seconds": 3.0,
        **changes,
    }
    return Settings.model_construct(**values)


async def test_from_settings_builds_the_live_client() -> None:
    async with LeyrClient.from_settings(complete_settings()) as leyr:
        assert leyr._http.timeout == httpx.Timeout(3.0, connect=3.0)
        assert leyr._http.headers["x-leyr-client-secret"] == SECRET


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"leyr_client_id": None}, "LEYR_CLIENT_ID"),
        ({"leyr_client_secret": SecretStr("")}, "LEYR_CLIENT_SECRET"),
        ({"leyr_emr": None, "leyr_care_unit_id": ""}, "LEYR_EMR, LEYR_CARE_UNIT_IDS"),
    ],
)
def test_from_settings_refuses_incomplete_settings(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LeyrClient.from_settings(complete_settings(**changes))
    assert str(caught.value) == f"the Leyr client needs {named}"
    assert SECRET not in str(caught.value)


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
    assert await client.cancel_appointments(["a-1", "a-2"]) == []  # unreadable item: left out


@respx.mock
async def test_non_json_error_is_unknown_error(client: LeyrClient) -> None:
    respx.get(f"{UNIT}/resources").respond(404, content=b"nope")
    with pytest.raises(LeyrUnknownError) as caught:
        await client.list_resources()
    assert caught.value.status == 404


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


class Held:
    """A Leyr that holds every call until released, counting the calls inside at once."""

    def __init__(self, answer: Any) -> None:
        self.inside = 0
        self.most = 0
        self.full = asyncio.Event()
        self.release = asyncio.Event()
        self._answer = answer

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.inside += 1
        self.most = max(self.most, self.inside)
        if self.inside == CONNECTIONS:
            self.full.set()
        await self.release.wait()
        self.inside -= 1
        return httpx.Response(200, json=self._answer)


@respx.mock
async def test_calls_beyond_the_connections_wait_outside_httpx_then_go(client: LeyrClient) -> None:
    """At most CONNECTIONS calls are inside httpcore at once; the rest wait for a lane (httpcore's
    pool walks every queued request on each pass, which under a burst cost more than the calls)."""
    leyr = Held([{"id": "cu-1", "name": "X"}])
    respx.get(f"{BASE}/emrs/webdoc/care-units").mock(side_effect=leyr)
    calls = [asyncio.create_task(client.list_care_units()) for _ in range(CONNECTIONS + 5)]
    await leyr.full.wait()
    for _ in range(20):  # let every waiting task run as far as it can
        await asyncio.sleep(0)
    assert leyr.inside == CONNECTIONS
    leyr.release.set()
    assert len(await asyncio.gather(*calls)) == CONNECTIONS + 5
    assert leyr.most == CONNECTIONS


@respx.mock
async def test_no_free_connection_within_the_pool_timeout_is_not_sent() -> None:
    held = Held({"id": "a-1", "start": "2026-12-01T09:00:00+01:00"})
    respx.patch(url__regex=rf"{BASE}/.*").mock(side_effect=held)
    async with LeyrClient(
        base_url=BASE,
        client_id="c",
        client_secret=SECRET,
        emr="webdoc",
        care_unit_id="cu-1",
        timeout=0.05,
    ) as leyr:
        busy = [asyncio.create_task(leyr.cancel_appointment(f"a-{i}")) for i in range(CONNECTIONS)]
        await held.full.wait()
        with pytest.raises(LeyrNotSent):
            await leyr.cancel_appointment("a-late")
        held.release.set()
        await asyncio.gather(*busy, return_exceptions=True)
    assert held.most == CONNECTIONS
