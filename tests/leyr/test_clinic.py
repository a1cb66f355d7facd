"""LeyrClinic: names resolved and cached, phones in E.164, single vs bulk, error mapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
import respx

from bot.leyr.capabilities import Support
from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from dialogs.clinic import (
    ClinicError,
    ClinicRefused,
    ClinicUnavailable,
    CodeRejected,
    NotSupported,
    OutcomeUnknown,
    PatientNotFound,
    PendingGone,
)
from tests.support.clock import no_sleep
from tests.support.leyr_answers import APPOINTMENT, BASE, INSTANCE, UNIT, envelope


@pytest.fixture
async def clinic():
    client = LeyrClient(
        base_url=BASE,
        client_id="c",
        client_secret="s",
        emr="webdoc",
        care_unit_id="cu-1",
        sleep=no_sleep,
    )
    yield LeyrClinic(client)
    await client.aclose()


WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC))


@respx.mock
async def test_names_are_resolved_and_cached(clinic: LeyrClinic) -> None:
    units = respx.get(f"{BASE}/emrs/webdoc/care-units").respond(
        json=[{"id": "cu-1", "name": "Söder"}]
    )
    people = respx.get(f"{UNIT}/resources").respond(json=[{"id": "r-1", "name": "Dr A"}])
    listing = respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    first = await clinic.list_appointments("p-1", *WINDOW)
    second = await clinic.list_appointments("p-1", *WINDOW)
    assert (first[0].care_unit, first[0].practitioner) == ("Söder", "Dr A")
    assert first == second
    assert (units.call_count, people.call_count, listing.call_count) == (1, 1, 2)


@respx.mock
async def test_patient_phones_become_e164(clinic: LeyrClinic) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(
        json={"id": "x", "emr_id": "p-1", "phones": ["070-123 45 67", "garbage", "+4670 765 43 21"]}
    )
    record = await clinic.find_patient("191212121212")
    assert record.patient_id == "p-1"
    assert record.phones == ("+46701234567", "+46707654321")


@respx.mock
async def test_single_uses_one_patch_and_several_one_bulk_patch(clinic: LeyrClinic) -> None:
    single = respx.patch(f"{UNIT}/appointments/a-1").respond(
        json={**APPOINTMENT, "status": "cancelled"}
    )
    bulk = respx.patch(f"{UNIT}/appointments").respond(
        json=[
            {**APPOINTMENT, "id": "n-1", "status": "awaiting_confirmation"},
            {**APPOINTMENT, "id": "n-2", "status": "awaiting_confirmation"},
        ]
    )
    [one] = await clinic.cancel(["a-1"], None)
    assert (one.requested_id, one.id, one.status) == ("a-1", "a-1", "cancelled")
    many = await clinic.cancel(["a-1", "a-2"], "x")
    assert [(o.requested_id, o.id) for o in many] == [("a-1", "n-1"), ("a-2", "n-2")]
    assert single.call_count == 1 and bulk.call_count == 1


def item(appointment_id: str, status: str) -> dict[str, object]:
    return {**APPOINTMENT, "id": appointment_id, "status": status}


TWO = ["a-1", "a-2"]
THREE = ["a-1", "a-2", "a-3"]


@pytest.mark.parametrize(
    ("requested", "answer", "expected"),
    [
        pytest.param(  # one-step, answered out of order: paired by id, not by position
            TWO,
            [item("a-2", "cancelled"), item("a-1", "completed")],
            [("a-1", "a-1", "completed"), ("a-2", "a-2", "cancelled")],
            id="same-ids-any-order",
        ),
        pytest.param(  # two-step: new ids, as many as requested: paired by position
            TWO,
            [item("n-1", "awaiting_confirmation"), item("n-2", "awaiting_confirmation")],
            [("a-1", "n-1", "awaiting_confirmation"), ("a-2", "n-2", "awaiting_confirmation")],
            id="new-ids-by-position",
        ),
        pytest.param(  # a not-cancellable one keeps its id; the rest pair up by position
            TWO,
            [item("n-1", "awaiting_confirmation"), item("a-2", "completed")],
            [("a-1", "n-1", "awaiting_confirmation"), ("a-2", "a-2", "completed")],
            id="mixed",
        ),
        pytest.param(  # one new id for two unmatched ids: a guess, so both stay unknown
            THREE,
            [item("a-3", "cancelled"), item("n-9", "awaiting_confirmation")],
            [("a-3", "a-3", "cancelled")],
            id="new-ids-short",
        ),
        pytest.param(  # an extra item: the unmatched ones stay unknown
            TWO,
            [item("n-1", "cancelled"), item("n-2", "cancelled"), item("n-3", "cancelled")],
            [],
            id="too-many",
        ),
    ],
)
@respx.mock
async def test_bulk_answers_are_matched_to_requested_ids(
    clinic: LeyrClinic,
    requested: list[str],
    answer: list[dict[str, object]],
    expected: list[tuple[str, str, str]],
) -> None:
    respx.patch(f"{UNIT}/appointments").respond(json=answer)
    if not expected:  # nothing could be matched: the dialog re-reads at once
        with pytest.raises(OutcomeUnknown):
            await clinic.cancel(requested, None)
        return
    outcomes = await clinic.cancel(requested, None)
    assert [(o.requested_id, o.id, o.status) for o in outcomes] == expected


@respx.mock
async def test_an_empty_bulk_answer_is_unknown(clinic: LeyrClinic) -> None:
    respx.patch(f"{UNIT}/appointments").respond(json=[])
    with pytest.raises(OutcomeUnknown):
        await clinic.cancel(["a-1", "a-2"], None)


@respx.mock
async def test_transient_failures_carry_leyr_reference(clinic: LeyrClinic) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").respond(503, json=envelope("EMR_ERROR", "X", 503))
    respx.get(f"{UNIT}/appointments").respond(429, json=envelope("UNKNOWN_ERROR", "Y", 429))
    with pytest.raises(OutcomeUnknown) as unknown:
        await clinic.cancel(["a-1"], None)
    assert (unknown.value.reference, unknown.value.code) == (INSTANCE, "X")
    with pytest.raises(ClinicUnavailable) as unavailable:
        await clinic.list_appointments("p-1", *WINDOW)
    assert (unavailable.value.reference, unavailable.value.code) == (INSTANCE, "Y")


@respx.mock
async def test_a_cancel_that_was_not_sent_is_unavailable(clinic: LeyrClinic) -> None:
    respx.patch(f"{UNIT}/appointments/a-1").mock(side_effect=httpx.ConnectError("down"))
    with pytest.raises(ClinicUnavailable):
        await clinic.cancel(["a-1"], None)


@pytest.mark.parametrize(
    ("error_code", "kind"),
    [
        ("BAD_INPUT", CodeRejected),
        ("INVALID_APPOINTMENT_ID", PendingGone),
        ("OTHER", CodeRejected),  # any 4xx refusal of a code keeps the pending cancellation
    ],
)
@respx.mock
async def test_confirm_errors(clinic: LeyrClinic, error_code: str, kind: type[ClinicError]) -> None:
    respx.patch(f"{UNIT}/appointments/n-1").respond(400, json=envelope(error_code=error_code))
    with pytest.raises(kind) as caught:
        await clinic.confirm("n-1", "1")
    assert caught.value.reference == INSTANCE


@respx.mock
async def test_error_mapping(clinic: LeyrClinic) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(
        400, json=envelope(error_code="INVALID_PATIENT_ID")
    )
    respx.get(f"{UNIT}/appointments").respond(400, json=envelope(error_code="NOT_SUPPORTED"))
    respx.patch(f"{UNIT}/appointments/a-1").respond(503)
    respx.patch(f"{UNIT}/appointments/a-2").respond(401, json=envelope("UNAUTHORIZED", "X", 401))
    respx.get(f"{UNIT}/resources").respond(500)
    with pytest.raises(PatientNotFound):
        await clinic.find_patient("191212121212")
    with pytest.raises(NotSupported):
        await clinic.list_appointments("p-1", *WINDOW)
    with pytest.raises(OutcomeUnknown):
        await clinic.cancel(["a-1"], None)
    with pytest.raises(ClinicRefused):
        await clinic.cancel(["a-2"], None)
    # names are decoration: their lookup failing leaves the list without them
    respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    respx.get(f"{BASE}/emrs/webdoc/care-units").respond(json=[])
    [shown] = await clinic.list_appointments("p-1", *WINDOW)
    assert (shown.id, shown.practitioner) == (APPOINTMENT["id"], "")


PATIENT = {"id": "x-9", "emr_id": "p-1", "phones": ["+46701234567"]}
TYPED = "se_personal_number:191212121212"


@respx.mock
async def test_the_lookup_and_the_listing_by_the_same_number_go_out_together(
    clinic: LeyrClinic,
) -> None:
    listing_arrived = asyncio.Event()

    async def patient(request: httpx.Request) -> httpx.Response:
        await asyncio.wait_for(listing_arrived.wait(), 5)  # only passes if both are in flight
        return httpx.Response(200, json=PATIENT)

    def listing(request: httpx.Request) -> httpx.Response:
        listing_arrived.set()
        theirs = {**APPOINTMENT, "id": "a-2", "patient_id": "p-2"}
        by_leyr_id = {**APPOINTMENT, "id": "a-3", "patient_id": "x-9"}
        return httpx.Response(200, json=[APPOINTMENT, theirs, by_leyr_id])

    respx.get(url__regex=rf"{UNIT}/patients/.*").mock(side_effect=patient)
    listed = respx.get(f"{UNIT}/appointments").mock(side_effect=listing)
    respx.get(f"{BASE}/emrs/webdoc/care-units").respond(json=[])
    respx.get(f"{UNIT}/resources").respond(json=[])
    record = await clinic.find_patient("191212121212", WINDOW)
    assert listed.calls.last.request.url.params["patient_id"] == TYPED
    assert record.patient_id == "p-1" and record.phones == ("+46701234567",)
    assert isinstance(record.listing, list)
    assert [a.id for a in record.listing] == ["a-1", "a-3"]  # another patient's item dropped
    assert record.listing == await clinic.list_appointments("p-1", *WINDOW)


@respx.mock
async def test_without_a_window_the_lookup_goes_alone(clinic: LeyrClinic) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(json=PATIENT)
    listed = respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    record = await clinic.find_patient("191212121212")
    assert record.listing is None and listed.call_count == 0


@respx.mock
async def test_an_unknown_number_raises_whatever_the_listing_said(clinic: LeyrClinic) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(
        400, json=envelope(error_code="INVALID_PATIENT_ID")
    )
    listed = respx.get(f"{UNIT}/appointments").respond(
        400, json=envelope(error_code="INVALID_PATIENT_ID")
    )
    with pytest.raises(PatientNotFound):
        await clinic.find_patient("191212121212", WINDOW)
    assert listed.call_count == 1 and clinic.lists_by_number  # the EHR said nothing about it
    listed.respond(json=[APPOINTMENT])
    respx.get(f"{BASE}/emrs/webdoc/care-units").respond(json=[])
    respx.get(f"{UNIT}/resources").respond(json=[])
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(
        json={**PATIENT, "phones": ["+46709999999"]}
    )
    record = await clinic.find_patient("191212121212", WINDOW)
    assert record.listing is not None  # it is the dialog that checks the phone, then looks


@respx.mock
@pytest.mark.parametrize(
    "answer",
    [
        (400, "INVALID_PATIENT_ID_TYPE"),
        (400, "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED"),
        (400, "INVALID_PATIENT_ID"),
        (404, "NOT_FOUND"),
    ],
)
async def test_an_ehr_that_lists_by_its_own_id_only_is_asked_that_way_from_then_on(
    clinic: LeyrClinic, answer: tuple[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    status, error_code = answer
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(json=PATIENT)
    listed = respx.get(f"{UNIT}/appointments").respond(
        status, json=envelope(error_code=error_code, status=status)
    )
    record = await clinic.find_patient("191212121212", WINDOW)
    assert record.patient_id == "p-1" and record.listing is None  # the dialog lists by id
    assert not clinic.lists_by_number
    assert "191212121212" not in caplog.text and INSTANCE in caplog.text
    again = await clinic.find_patient("191212121212", WINDOW)
    assert again.listing is None and listed.call_count == 1


@respx.mock
async def test_a_listing_that_failed_beside_the_lookup_is_the_listings_error(
    clinic: LeyrClinic,
) -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(json=PATIENT)
    listed = respx.get(f"{UNIT}/appointments").respond(
        503, json=envelope("UNKNOWN_ERROR", "BAD_INPUT", 503)
    )
    record = await clinic.find_patient("191212121212", WINDOW)
    assert isinstance(record.listing, ClinicUnavailable)
    assert record.listing.reference == INSTANCE and clinic.lists_by_number
    listed.respond(400, json=envelope(error_code="NOT_SUPPORTED"))
    record = await clinic.find_patient("191212121212", WINDOW)
    assert isinstance(record.listing, NotSupported) and clinic.lists_by_number


@respx.mock
async def test_an_ehr_known_not_to_list_is_only_looked_up() -> None:
    respx.get(url__regex=rf"{UNIT}/patients/.*").respond(json=PATIENT)
    listed = respx.get(f"{UNIT}/appointments").respond(json=[APPOINTMENT])
    async with LeyrClient(
        base_url=BASE, client_id="c", client_secret="s", emr="webdoc", care_unit_id="cu-1"
    ) as client:
        silent = LeyrClinic(client, support=Support(listing=False))
        record = await silent.find_patient("191212121212", WINDOW)
    assert record.patient_id == "p-1" and record.listing is None and listed.call_count == 0
