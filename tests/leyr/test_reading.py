"""LeyrClinic reads what the dialog needs per item, classifies errors as a patient needs them,
treats names as decoration, falls back from bulk to single cancels, and says what its EHR
supports (bot.leyr.capabilities, overridable by settings)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from bot.leyr.capabilities import Support, support_for
from bot.leyr.client import LeyrClient
from bot.leyr.clinic import NAMES_RETRY_SECONDS, NAMES_TTL_SECONDS, LeyrClinic
from bot.settings import ConfigError, load_settings
from dialogs.clinic import (
    Capabilities,
    ClinicRefused,
    CodeRejected,
    NotSupported,
    OutcomeUnknown,
    PatientNotFound,
    PendingGone,
)
from tests.support.leyr_answers import APPOINTMENT, BASE, INSTANCE, UNIT, envelope

WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))
OSLO = ZoneInfo("Europe/Oslo")


async def no_sleep(_: float) -> None:
    return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client() -> AsyncIterator[LeyrClient]:
    async with LeyrClient(
        base_url=BASE,
        client_id="c",
        client_secret="s",
        emr="webdoc",
        care_unit_id="cu-1",
        sleep=no_sleep,
    ) as leyr:
        yield leyr


@pytest.fixture
def clinic(client: LeyrClient, clock: Clock) -> LeyrClinic:
    return LeyrClinic(client, zone=OSLO, clock=clock)


def names(*, units: int = 200, people: int = 200) -> tuple[respx.Route, respx.Route]:
    return (
        respx.get(f"{BASE}/emrs/webdoc/care-units").respond(
            units, json=[{"id": "cu-1", "name": "Söder"}] if units == 200 else envelope()
        ),
        respx.get(f"{UNIT}/resources").respond(
            people, json=[{"id": "r-1", "name": "Dr A"}] if people == 200 else envelope()
        ),
    )


# -- per item -----------------------------------------------------------------------------------
@respx.mock
async def test_items_need_only_id_start_status(
    clinic: LeyrClinic, caplog: pytest.LogCaptureFixture
) -> None:
    names()
    respx.get(f"{UNIT}/appointments").respond(
        json=[
            {"id": 7, "start": "2026-03-25T14:00:00", "status": "booked", "resource_id": 1},
            {"id": "a-2", "start": "not a time", "status": "booked"},
            {"start": "2026-03-26T10:00:00+01:00", "status": "booked"},
            {"id": "a-4", "start": "2026-03-27T10:00:00+01:00", "status": "booked", "end": 5},
            "garbage",
        ]
    )
    caplog.set_level(logging.WARNING)
    shown = await clinic.list_appointments("p-1", *WINDOW)
    assert [a.id for a in shown] == ["7", "a-4"]
    assert shown[0].start == datetime(2026, 3, 25, 14, tzinfo=OSLO)  # the clinic's wall time
    assert shown[0].end is None and shown[0].resource_id == "1"
    assert shown[1].end is None  # an odd `end` is dropped: no step needs it
    assert "3 of 5 items unreadable, skipped" in caplog.text


@respx.mock
async def test_another_patients_items_are_never_shown(
    clinic: LeyrClinic, caplog: pytest.LogCaptureFixture
) -> None:
    names()
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(
        json={"id": "leyr-9", "emr_id": "p-1", "phones": ["+46701234567"]}
    )
    respx.get(f"{UNIT}/appointments").respond(
        json={
            "data": [
                {**APPOINTMENT, "id": "mine", "patient_id": "p-1"},
                {**APPOINTMENT, "id": "typed", "patient_id": "emr_id:p-1"},
                {**APPOINTMENT, "id": "leyr", "patient_id": "leyr-9"},
                {**APPOINTMENT, "id": "anon", "patient_id": None},
                {**APPOINTMENT, "id": "theirs", "patient_id": "p-2"},
            ]
        }
    )
    await clinic.find_patient("191212121212")
    shown = await clinic.list_appointments("p-1", *WINDOW)
    assert [a.id for a in shown] == ["mine", "typed", "leyr", "anon"]
    assert "1 items of other patients, dropped" in caplog.text


# -- names --------------------------------------------------------------------------------------
@respx.mock
async def test_refused_names_are_not_asked_again_for_an_hour(
    clinic: LeyrClinic, clock: Clock
) -> None:
    units, people = names(units=400, people=400)
    respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    for _ in range(3):
        [shown] = await clinic.list_appointments("p-1", *WINDOW)
        assert (shown.care_unit, shown.practitioner) == ("", "")
    assert (units.call_count, people.call_count) == (1, 1)
    clock.now += NAMES_TTL_SECONDS + 1
    await clinic.list_appointments("p-1", *WINDOW)
    assert (units.call_count, people.call_count) == (2, 2)


@respx.mock
async def test_failing_names_are_tried_again_sooner(clinic: LeyrClinic, clock: Clock) -> None:
    units, people = names(units=502, people=200)
    respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    [shown] = await clinic.list_appointments("p-1", *WINDOW)
    assert (shown.care_unit, shown.practitioner) == ("", "Dr A")
    clock.now += NAMES_RETRY_SECONDS + 1
    units.respond(json=[{"id": "cu-1", "name": "Söder"}])
    [shown] = await clinic.list_appointments("p-1", *WINDOW)
    assert (shown.care_unit, shown.practitioner) == ("Söder", "Dr A")
    assert people.call_count == 1


@respx.mock
async def test_an_empty_list_asks_no_names(clinic: LeyrClinic) -> None:
    units, people = names()
    respx.get(f"{UNIT}/appointments").respond(json=[])
    assert await clinic.list_appointments("p-1", *WINDOW) == []
    assert (units.call_count, people.call_count) == (0, 0)


# -- errors as a patient needs them -------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, envelope(error_code="INVALID_PATIENT_ID"), PatientNotFound),
        (404, {"detail": "Not Found"}, PatientNotFound),
        (400, envelope(error_code="PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED"), NotSupported),
        (400, envelope(error_code="INVALID_PATIENT_ID_TYPE"), NotSupported),
        (400, envelope(error_code="NOT_SUPPORTED"), NotSupported),
        (400, envelope(error_code="BAD_INPUT"), ClinicRefused),
    ],
)
@respx.mock
async def test_lookup_errors(
    clinic: LeyrClinic, status: int, body: dict[str, object], kind: type[Exception]
) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(status, json=body)
    with pytest.raises(kind):
        await clinic.find_patient("191212121212")


@respx.mock
async def test_a_record_without_phones_has_none(clinic: LeyrClinic) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(json={"id": 42, "phones": None})
    record = await clinic.find_patient("191212121212")
    assert (record.patient_id, record.phones) == ("42", ())


@pytest.mark.parametrize(
    ("status", "body", "kind", "reference"),
    [
        (
            422,
            {"detail": [{"loc": ["body"], "msg": "bad", "type": "value_error"}]},
            CodeRejected,
            None,
        ),
        (409, envelope("EMR_ERROR", "CODE_MISMATCH", 409), CodeRejected, INSTANCE),
        (
            400,
            {"code": "BAD_REQUEST", "instance": 12, "errors": {"error_code": "X"}},
            CodeRejected,
            "12",
        ),
        (404, {"detail": "Not Found"}, PendingGone, None),
        (400, envelope(error_code="INVALID_APPOINTMENT_ID"), PendingGone, INSTANCE),
        (429, envelope("UNKNOWN_ERROR", "RATE", 429), OutcomeUnknown, INSTANCE),
        (401, envelope("UNAUTHORIZED", "X", 401), ClinicRefused, INSTANCE),
    ],
)
@respx.mock
async def test_confirm_keeps_the_pending_unless_it_is_gone(
    clinic: LeyrClinic,
    status: int,
    body: dict[str, object],
    kind: type[Exception],
    reference: str | None,
) -> None:
    respx.patch(f"{UNIT}/appointments/n-1").respond(status, json=body)
    with pytest.raises(kind) as caught:
        await clinic.confirm("n-1", "123456")
    assert getattr(caught.value, "reference", None) == reference


# -- bulk ---------------------------------------------------------------------------------------
def single(appointment_id: str, status: int = 200) -> respx.Route:
    body = {"id": appointment_id, "status": "cancelled"} if status == 200 else envelope()
    return respx.patch(f"{UNIT}/appointments/{appointment_id}").respond(status, json=body)


@respx.mock
async def test_bulk_not_supported_falls_back_and_is_remembered(clinic: LeyrClinic) -> None:
    bulk = respx.patch(f"{UNIT}/appointments").respond(
        400, json=envelope(error_code="NOT_SUPPORTED")
    )
    one, two = single("a-1"), single("a-2")
    for _ in range(2):
        outcomes = await clinic.cancel(["a-1", "a-2"], None)
        assert [(o.requested_id, o.status) for o in outcomes] == [
            ("a-1", "cancelled"),
            ("a-2", "cancelled"),
        ]
    assert (bulk.call_count, one.call_count, two.call_count) == (1, 2, 2)


@respx.mock
async def test_too_many_falls_back_each_time_and_a_failed_single_is_left_out(
    clinic: LeyrClinic,
) -> None:
    bulk = respx.patch(f"{UNIT}/appointments").respond(
        400, json=envelope(error_code="MAX_ITEMS_EXCEEDED")
    )
    single("a-1", 400), single("a-2")
    for _ in range(2):
        outcomes = await clinic.cancel(["a-1", "a-2"], None)
        assert [o.requested_id for o in outcomes] == ["a-2"]  # a-1's outcome: re-read
    assert bulk.call_count == 2


@respx.mock
async def test_no_single_answered_raises_the_first_failure(client: LeyrClient) -> None:
    clinic = LeyrClinic(client, support=Support(bulk=False))
    single("a-1", 400), single("a-2", 400)
    with pytest.raises(ClinicRefused):
        await clinic.cancel(["a-1", "a-2"], None)


@respx.mock
async def test_an_unreachable_ehr_stops_the_singles(client: LeyrClient) -> None:
    clinic = LeyrClinic(client, support=Support(bulk=False))
    respx.patch(f"{UNIT}/appointments/a-1").respond(json={"id": "a-1", "status": "cancelled"})
    down = respx.patch(f"{UNIT}/appointments/a-2").mock(side_effect=httpx.ConnectError("down"))
    last = single("a-3")
    outcomes = await clinic.cancel(["a-1", "a-2", "a-3"], None)
    assert [o.requested_id for o in outcomes] == ["a-1"]
    assert (down.call_count, last.call_count) == (1, 0)


# -- capabilities -------------------------------------------------------------------------------
def test_capabilities_from_the_table(client: LeyrClient) -> None:
    assert LeyrClinic(client, support=support_for("webdoc")).capabilities() == Capabilities()
    kaddio = LeyrClinic(client, support=support_for("kaddio")).capabilities()
    assert (kaddio.identify, kaddio.listing, kaddio.cancel) == (True, True, False)
    emr_only = LeyrClinic(client, support=support_for("pasientsky")).capabilities()
    assert not emr_only.identify
    assert support_for("an-ehr-nobody-knows") == Support()  # tried: the answer decides


def test_settings_override_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEYR_CAN_CANCEL", "true")
    monkeypatch.setenv("LEYR_LOOKUP_ID_TYPES", "emr_id, se_personal_number")
    monkeypatch.setenv("LEYR_BULK_CANCEL", "false")
    settings = load_settings()
    support = support_for("kaddio", settings)
    assert support.cancel is True and support.bulk is False
    assert support.lookup_types == frozenset({"emr_id", "se_personal_number"})
    assert support_for("pasientsky", settings).capabilities("se_personal_number").identify
    monkeypatch.setenv("LEYR_LOOKUP_ID_TYPES", "passport")
    with pytest.raises(ConfigError, match="LEYR_LOOKUP_ID_TYPES"):
        load_settings()


@respx.mock
async def test_free_text_in_codes_never_reaches_logs_or_the_patient(
    clinic: LeyrClinic, caplog: pytest.LogCaptureFixture
) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").respond(
        400,
        json={
            "code": "Patient Astrid Testsson",
            "instance": "see Astrid Testsson",
            "errors": [{"error_code": "Astrid Testsson not found"}],
        },
    )
    with pytest.raises(ClinicRefused) as caught:
        await clinic.cancel(["a-1"], None)
    assert (caught.value.code, caught.value.reference) == (None, None)
    assert "Astrid" not in caplog.text
