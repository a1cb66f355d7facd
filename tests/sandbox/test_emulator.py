"""The Leyr emulator (bot.sandbox): Leyr's documented behaviour, two-step cancellation, faults,
and the real HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from stdnum.se import personnummer

from bot.bench.leyr_process import LISTENING, leyr_process
from bot.leyr.models import Appointment, CareUnit, ErrorEnvelope, Patient, Resource
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.seed import (
    PATIENTS,
    ZONE,
    luhn_digit,
    synthetic_patients,
    synthetic_personal_number,
)
from bot.sandbox.server import bound_port, make_server
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.support.clock import Clock, Sleeps

HEADERS = {"x-leyr-client-id": SANDBOX_CLIENT_ID, "x-leyr-client-secret": SANDBOX_CLIENT_SECRET}
UNIT = f"/emrs/sandbox/care-units/{SANDBOX_CARE_UNIT}"
MAIN = "se_personal_number:191212121212"
MAIN_PHONE = "+46701234567"
START = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def emulator(clock: Clock, sleeps: Sleeps) -> Emulator:
    return Emulator(seed=5, now=clock, sleep=sleeps)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
    ) as c:
        yield c


def error_code(response: httpx.Response) -> str:
    body = ErrorEnvelope.model_validate(response.json())
    return body.errors[0].error_code


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


# --- auth, shapes, validation ---------------------------------------------------------------


async def test_wrong_or_missing_credentials_answer_401(emulator: Emulator) -> None:
    transport = emulator.transport()
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/api") as bare:
        for headers in ({}, {**HEADERS, "x-leyr-client-secret": "nope"}):
            r = await bare.get("/emrs/sandbox/care-units", headers=headers)
            assert r.status_code == 401
            body = ErrorEnvelope.model_validate(r.json())
            assert body.code == "UNAUTHORIZED"
            assert body.status == 401
        r = await bare.post("/_sandbox/reset")
        assert r.status_code == 401


async def test_error_envelope_has_leyr_shape(client: httpx.AsyncClient) -> None:
    r = await cancel(client, "a-999")
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"code", "type", "title", "status", "detail", "instance", "errors"}
    assert body["code"] == "BAD_REQUEST"
    assert body["status"] == 400
    assert len(body["instance"]) == 36
    assert body["errors"] == [
        {
            "error_code": "INVALID_APPOINTMENT_ID",
            "details": body["errors"][0]["details"],
            "emr_error": None,
            "path": None,
        }
    ]


async def test_reads_have_leyr_shapes(client: httpx.AsyncClient, clock: Clock) -> None:
    r = await client.get("/emrs/sandbox/care-units")
    [unit] = [CareUnit.model_validate(u) for u in r.json()]
    assert (unit.id, unit.name) == (SANDBOX_CARE_UNIT, "Sandbox Clinic Södermalm")
    r = await client.get(f"{UNIT}/resources")
    resources = [Resource.model_validate(x) for x in r.json()]
    assert len(resources) == 3
    assert all(x.name for x in resources)

    patient = Patient.model_validate((await client.get(f"{UNIT}/patients/{MAIN}")).json())
    assert patient.emr_id == "p-1001"
    assert patient.phones == [MAIN_PHONE]
    for typed in ("p-1001", "emr_id:p-1001"):
        r = await client.get(f"{UNIT}/patients/{typed}")
        assert r.json()["id"] == "p-1001"

    appointments = await listing(client)
    now = clock()
    future = [a for a in appointments if a.status == "booked" and a.start > now]
    assert len(future) >= 4
    assert len({a.resource_id for a in future}) >= 2
    assert any(a.start - now < timedelta(hours=24) for a in future)
    assert {"completed", "cancelled"} <= {a.status for a in appointments}
    for a in appointments:
        local = a.start.astimezone(ZONE)
        assert local.minute % 15 == 0
        assert local.second == 0
        assert a.healthcare_service_id
        assert a.care_unit_id == SANDBOX_CARE_UNIT


async def test_test_patients_are_valid_and_varied(
    emulator: Emulator, client: httpx.AsyncClient
) -> None:
    patients = emulator.test_patients()
    assert len(patients) == 4
    counts = []
    for p in patients:
        assert personnummer.is_valid(p.personal_number)
        assert len(p.personal_number) == 12
        assert p.label
        r = await client.get(
            f"{UNIT}/appointments", params={"patient_id": f"se_personal_number:{p.personal_number}"}
        )
        counts.append(sum(1 for a in r.json() if a["status"] == "booked"))
    assert 0 in counts
    assert 1 in counts
    r = await client.get("/_sandbox/test-patients")
    assert [x["personal_number"] for x in r.json()] == [p.personal_number for p in patients]


async def test_listing_filters_by_start_range(client: httpx.AsyncClient, clock: Clock) -> None:
    start = clock().isoformat()
    end = (clock() + timedelta(days=10)).isoformat()
    r = await client.get(
        f"{UNIT}/appointments", params={"patient_id": MAIN, "start": start, "end": end}
    )
    got = [Appointment.model_validate(a) for a in r.json()]
    assert got
    assert all(clock() <= a.start < clock() + timedelta(days=10) for a in got)
    assert len(got) < len(await listing(client))


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", f"{UNIT}/appointments", None, "MISSING_REQUIRED_FIELD"),
        ("GET", f"{UNIT}/appointments?patient_id={MAIN}&start=yesterday", None, "BAD_INPUT"),
        (
            "GET",
            f"{UNIT}/patients/nhs_number:9434765919",
            None,
            "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED",
        ),
        (
            "GET",
            f"{UNIT}/patients/no_personal_number:01010112345",
            None,
            "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED",
        ),
        ("GET", f"{UNIT}/patients/passport:123", None, "INVALID_PATIENT_ID_TYPE"),
        ("GET", f"{UNIT}/patients/se_personal_number:199001011234", None, "INVALID_PATIENT_ID"),
        ("GET", f"{UNIT}/patients/p-9999", None, "INVALID_PATIENT_ID"),
        ("GET", "/emrs/nosuch/care-units", None, "NOT_SUPPORTED"),
        ("GET", "/emrs/sandbox/care-units/cu-other/resources", None, "INVALID_CARE_UNIT_ID"),
        (
            "PATCH",
            f"{UNIT}/appointments/a-002",
            {"status": "cancelled", "comment": "x" * 501},
            "INVALID_COMMENT_LENGTH",
        ),
        ("PATCH", f"{UNIT}/appointments/a-002", {"comment": "hi"}, "MISSING_REQUIRED_FIELD"),
        ("PATCH", f"{UNIT}/appointments/a-002", {"status": "booked"}, "BAD_INPUT"),
        ("PATCH", f"{UNIT}/appointments/a-002", {"status": "cancelled", "start": "x"}, "BAD_INPUT"),
        (
            "PATCH",
            f"{UNIT}/appointments/a-002",
            {"status": "cancelled", "resource_id": "r-2"},
            "BAD_INPUT",
        ),
        ("PATCH", f"{UNIT}/appointments/a-002", {"status": "cancelled", "comment": 5}, "BAD_INPUT"),
        ("PATCH", f"{UNIT}/appointments/nope", {"status": "cancelled"}, "INVALID_APPOINTMENT_ID"),
        ("PATCH", f"{UNIT}/appointments/a-006", {"status": "cancelled"}, "BAD_INPUT"),
        ("PATCH", f"{UNIT}/appointments/a-007", {"status": "cancelled"}, "BAD_INPUT"),
        (
            "PATCH",
            f"{UNIT}/appointments",
            {"ids": [], "status": "cancelled"},
            "MISSING_REQUIRED_FIELD",
        ),
        ("PATCH", f"{UNIT}/appointments", {"status": "cancelled"}, "MISSING_REQUIRED_FIELD"),
        ("PATCH", f"{UNIT}/appointments", {"ids": "a-002", "status": "cancelled"}, "BAD_INPUT"),
        (
            "PATCH",
            f"{UNIT}/appointments",
            {"ids": ["a-002"] * 11, "status": "cancelled"},
            "MAX_ITEMS_EXCEEDED",
        ),
        ("PATCH", f"{UNIT}/appointments/a-002", [1, 2], "BAD_INPUT"),
    ],
)
async def test_validation_is_400_never_422(
    client: httpx.AsyncClient,
    emulator: Emulator,
    method: str,
    path: str,
    body: Any,
    expected: str,
) -> None:
    r = await client.request(method, path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "BAD_REQUEST"
    assert error_code(r) == expected
    assert not emulator.outbox()
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]


async def test_malformed_json_body_is_400(client: httpx.AsyncClient) -> None:
    for path in (f"{UNIT}/appointments/a-002", f"{UNIT}/appointments"):
        r = await client.patch(
            path, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
        assert r.json()["code"] == "BAD_REQUEST"


async def test_listing_not_supported(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"/emrs/pasientsky/care-units/{SANDBOX_CARE_UNIT}/appointments", params={"patient_id": MAIN}
    )
    assert r.status_code == 400
    assert error_code(r) == "NOT_SUPPORTED"


async def test_each_emr_has_its_own_data(client: httpx.AsyncClient, emulator: Emulator) -> None:
    r = await client.patch(
        f"/emrs/webdoc/care-units/{SANDBOX_CARE_UNIT}/appointments/a-002",
        json={"status": "cancelled"},
    )
    assert r.json()["status"] == "cancelled"
    assert emulator.appointment("webdoc", "a-002").status == "cancelled"  # type: ignore[union-attr]
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    assert emulator.appointment("kaddio", "a-002").status == "booked"  # type: ignore[union-attr]


# --- one-step ---------------------------------------------------------------------------------


async def test_one_step_cancel(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await cancel(client, "a-003", comment="Feeling better")
    assert r.status_code == 200
    got = Appointment.model_validate(r.json())
    assert (got.id, got.status, got.comment) == ("a-003", "cancelled", "Feeling better")
    assert not emulator.outbox()
    assert emulator.cancel_count("a-003") == 1
    assert ("PATCH", f"/api{UNIT}/appointments/a-003") in emulator.calls
    again = await cancel(client, "a-003")
    assert error_code(again) == "BAD_INPUT"
    assert emulator.cancel_count("a-003") == 2


# --- two-step ---------------------------------------------------------------------------------


async def test_two_step_cancel_with_right_code(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    r = await cancel(client, "a-002", comment="Sick")
    assert r.status_code == 200
    pending = Appointment.model_validate(r.json())
    assert pending.id != "a-002"
    assert pending.status == "awaiting_confirmation"
    original = emulator.appointment("sandbox", "a-002")
    assert original is not None
    assert original.status == "booked"
    assert (pending.start, pending.end, pending.resource_id, pending.patient_id) == (
        original.start,
        original.end,
        original.resource_id,
        original.patient_id,
    )
    [sms] = emulator.outbox(MAIN_PHONE)
    assert (sms.appointment_id, sms.pending_id, sms.phone) == ("a-002", pending.id, MAIN_PHONE)
    assert len(sms.code) == 6
    assert sms.code.isdigit()
    assert sms.text == f"Your code to cancel your appointment on 5 Mar at 09:00: {sms.code}"

    listed = {a.id: a.status for a in await listing(client)}
    assert listed["a-002"] == "booked"
    assert listed[pending.id] == "awaiting_confirmation"

    r = await confirm(client, pending.id, sms.code)
    assert r.status_code == 200
    done = Appointment.model_validate(r.json())
    assert (done.id, done.status) == (pending.id, "cancelled")
    assert original.status == "cancelled"
    assert original.comment == "Sick"
    listed = {a.id: a.status for a in await listing(client)}
    assert pending.id not in listed
    assert listed["a-002"] == "cancelled"
    again = await confirm(client, pending.id, sms.code)
    assert error_code(again) == "INVALID_APPOINTMENT_ID"


async def test_two_step_wrong_code_keeps_pending(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    pending_id = (await cancel(client, "a-002")).json()["id"]
    [sms] = emulator.outbox()
    wrong = "000000" if sms.code != "000000" else "111111"
    r = await confirm(client, pending_id, wrong)
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_REQUEST"
    assert error_code(r) == "BAD_INPUT"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    r = await confirm(client, pending_id, sms.code)
    assert r.json()["status"] == "cancelled"


async def test_two_step_code_expires(
    client: httpx.AsyncClient, emulator: Emulator, clock: Clock
) -> None:
    pending_id = (await cancel(client, "a-002")).json()["id"]
    [sms] = emulator.outbox()
    clock.now += timedelta(minutes=10, seconds=1)
    for _ in range(2):  # leyr-api.md: a wrong or expired code is 400 BAD_REQUEST, BAD_INPUT
        r = await confirm(client, pending_id, sms.code)
        assert r.status_code == 400
        assert r.json()["code"] == "BAD_REQUEST"
        assert error_code(r) == "BAD_INPUT"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    assert pending_id not in {a.id for a in await listing(client)}
    again = (await cancel(client, "a-002")).json()["id"]  # a new code replaces the expired one
    assert error_code(await confirm(client, pending_id, sms.code)) == "INVALID_APPOINTMENT_ID"
    assert (await confirm(client, again, emulator.outbox()[-1].code)).json()["status"] == (
        "cancelled"
    )


async def test_two_step_resend_invalidates_old_pending(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = (await cancel(client, "a-002")).json()["id"]
    second = (await cancel(client, "a-002")).json()["id"]
    assert first != second
    old, new = emulator.outbox()
    assert (old.pending_id, new.pending_id) == (first, second)
    r = await confirm(client, first, old.code)
    assert error_code(r) == "INVALID_APPOINTMENT_ID"
    listed = {a.id for a in await listing(client)}
    assert first not in listed
    assert second in listed
    assert (await confirm(client, second, new.code)).json()["status"] == "cancelled"
    assert emulator.cancel_count("a-002") == 2


async def test_codes_are_deterministic_per_seed(clock: Clock, sleeps: Sleeps) -> None:
    codes = []
    for _ in range(2):
        emulator = Emulator(seed=42, now=clock, sleep=sleeps)
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
        ) as c:
            await cancel(c, "a-002")
        codes.append(emulator.outbox()[0].code)
    assert codes[0] == codes[1]


# --- bulk -------------------------------------------------------------------------------------


async def test_bulk_mixed_outcomes_two_step(client: httpx.AsyncClient, emulator: Emulator) -> None:
    ids = ["a-002", "a-006", "a-003", "a-007"]
    r = await client.patch(f"{UNIT}/appointments", json={"ids": ids, "status": "cancelled"})
    assert r.status_code == 200
    got = [Appointment.model_validate(a) for a in r.json()]
    assert [a.status for a in got] == [
        "awaiting_confirmation",
        "cancelled",
        "awaiting_confirmation",
        "completed",
    ]
    assert got[1].id == "a-006"
    assert got[3].id == "a-007"
    assert len({got[0].id, got[2].id, "a-002", "a-003"}) == 4
    sent = emulator.outbox()
    assert [s.appointment_id for s in sent] == ["a-002", "a-003"]
    assert sent[0].code != sent[1].code or sent[0].pending_id != sent[1].pending_id
    assert [s.text for s in sent] == [  # each SMS names its own appointment (Stockholm time)
        f"Your code to cancel your appointment on 5 Mar at 09:00: {sent[0].code}",
        f"Your code to cancel your appointment on 10 Mar at 14:00: {sent[1].code}",
    ]
    for item, sms in zip([got[0], got[2]], sent, strict=True):
        assert (await confirm(client, item.id, sms.code)).json()["status"] == "cancelled"
    assert emulator.appointment("sandbox", "a-003").status == "cancelled"  # type: ignore[union-attr]


async def test_bulk_one_step(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await client.patch(
        f"{UNIT}/appointments", json={"ids": ["a-004", "a-005"], "status": "cancelled"}
    )
    assert [(a["id"], a["status"]) for a in r.json()] == [
        ("a-004", "cancelled"),
        ("a-005", "cancelled"),
    ]
    assert not emulator.outbox()


async def test_bulk_unknown_id_applies_nothing(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    r = await client.patch(
        f"{UNIT}/appointments", json={"ids": ["a-002", "zzz"], "status": "cancelled"}
    )
    assert r.status_code == 400
    assert error_code(r) == "INVALID_APPOINTMENT_ID"
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    r = await client.patch(
        f"{UNIT}/appointments",
        json={"ids": [f"a-{i:03d}" for i in range(1, 12)], "status": "cancelled"},
    )
    assert error_code(r) == "MAX_ITEMS_EXCEEDED"
    assert emulator.appointment("sandbox", "a-001").status == "booked"  # type: ignore[union-attr]


# --- creating patients ---------------------------------------------------------------------------

NEW_PATIENT = {
    "first_name": "Erik",
    "last_name": "Nyberg",
    "external_id": "199001012380",
    "phones": ["+46705550101"],
    "emails": ["erik@example.org"],
}


async def test_create_patient_is_idempotent_by_external_id(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    r = await client.post(f"{UNIT}/patients", json=NEW_PATIENT)
    assert r.status_code == 200, r.text
    created = Patient.model_validate(r.json())
    assert (created.first_name, created.last_name, created.care_unit_id) == (
        "Erik",
        "Nyberg",
        SANDBOX_CARE_UNIT,
    )
    assert (created.phones, created.emails) == (["+46705550101"], ["erik@example.org"])
    assert created.id == created.emr_id and created.id not in {p["emr_id"] for p in PATIENTS}
    found = await client.get(f"{UNIT}/patients/se_personal_number:199001012380")
    assert Patient.model_validate(found.json()) == created
    again = await client.post(f"{UNIT}/patients", json={**NEW_PATIENT, "first_name": "Other"})
    assert Patient.model_validate(again.json()) == created
    existing = await client.post(
        f"{UNIT}/patients", json={**NEW_PATIENT, "external_id": "191212121212"}
    )
    assert existing.json()["id"] == "p-1001"
    searched = await client.get(f"{UNIT}/patients", params={"last_name": "Nyberg"})
    assert [p["id"] for p in searched.json()] == [created.id]
    other_ehr = f"/emrs/webdoc/care-units/{SANDBOX_CARE_UNIT}/patients/{created.id}"
    assert error_code(await client.get(other_ehr)) == "INVALID_PATIENT_ID"
    assert emulator.operations["create_patient"] == 3
    emulator.reset()
    gone = await client.get(f"{UNIT}/patients/{created.id}")
    assert error_code(gone) == "INVALID_PATIENT_ID"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**NEW_PATIENT, "first_name": ""}, "MISSING_REQUIRED_FIELD"),
        ({k: v for k, v in NEW_PATIENT.items() if k != "external_id"}, "MISSING_REQUIRED_FIELD"),
        ({**NEW_PATIENT, "last_name": 7}, "BAD_INPUT"),
        ({**NEW_PATIENT, "phones": ["070-555 01 01"]}, "BAD_INPUT"),
        ({**NEW_PATIENT, "phones": "+46705550101"}, "BAD_INPUT"),
        ({**NEW_PATIENT, "emails": ["nobody"]}, "BAD_INPUT"),
        ([NEW_PATIENT], "BAD_INPUT"),
    ],
)
async def test_create_patient_validation_is_400(
    client: httpx.AsyncClient, body: Any, expected: str
) -> None:
    r = await client.post(f"{UNIT}/patients", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "BAD_REQUEST"
    assert error_code(r) == expected
    found = await client.get(f"{UNIT}/patients/se_personal_number:199001012380")
    assert error_code(found) == "INVALID_PATIENT_ID"


async def test_unknown_route_or_method_envelope_matches_the_status(
    client: httpx.AsyncClient,
) -> None:
    for r, status, code in (
        (await client.get("/emrs/sandbox/nowhere"), 404, "NOT_FOUND"),
        (await client.delete(f"{UNIT}/appointments/a-002"), 405, "METHOD_NOT_ALLOWED"),
    ):
        body = ErrorEnvelope.model_validate(r.json())
        assert (r.status_code, body.status, body.code) == (status, status, code)
        assert body.type == f"https://docs.leyr.io/api/error-handling/{code.lower()}"
        assert body.instance


# --- controls ---------------------------------------------------------------------------------


async def test_control_endpoints(client: httpx.AsyncClient, emulator: Emulator) -> None:
    r = await client.put("/_sandbox/emrs/sandbox/profile", json={"cancellation": "one_step"})
    assert r.json() == {"cancellation": "one_step", "listing": True}
    assert (await cancel(client, "a-002")).json()["status"] == "cancelled"
    await client.put("/_sandbox/emrs/sandbox/profile", json={"cancellation": "two_step"})
    await cancel(client, "a-003")
    [sms] = (await client.get("/_sandbox/outbox", params={"phone": MAIN_PHONE})).json()
    assert sms["appointment_id"] == "a-003"
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    assert (await client.get("/_sandbox/outbox")).json() == []
    r = await client.post("/_sandbox/faults", json={"kind": "server_error"})
    assert r.status_code == 200
    await client.delete("/_sandbox/faults")
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200
    r = await client.post("/_sandbox/faults", json={"kind": "explode"})
    assert error_code(r) == "BAD_INPUT"
    r = await client.put("/_sandbox/emrs/nope/profile", json={"cancellation": "one_step"})
    assert error_code(r) == "NOT_SUPPORTED"
    assert (await client.put("/_sandbox/latency", json={"ms": 5})).status_code == 200
    assert emulator.faults.latency_ms == 5


async def test_operations_are_counted_by_kind(client: httpx.AsyncClient) -> None:
    await listing(client)
    pending = (await cancel(client, "a-002")).json()
    [sms] = (await client.get("/_sandbox/outbox", params={"phone": MAIN_PHONE})).json()
    await confirm(client, pending["id"], sms["code"])
    await client.patch(f"{UNIT}/appointments", json={"ids": ["a-003"], "status": "cancelled"})
    await client.get(f"{UNIT}/patients/{MAIN}")
    await client.post("/_sandbox/reset")  # counting goes on across resets
    await listing(client)
    counted = (await client.get("/_sandbox/operations")).json()
    assert counted == {"list": 2, "cancel": 1, "confirm": 1, "bulk_cancel": 1, "patient": 1}


# --- synthetic patients -------------------------------------------------------------------------


async def test_synthetic_patients_each_have_two_bookable_appointments(clock: Clock) -> None:
    emulator = Emulator(seed=5, now=clock, synthetic_patients=1000)
    people = synthetic_patients(1000)
    assert len({p["pn"] for p in people}) == len({p["phones"][0] for p in people}) == 1000
    assert all(personnummer.is_valid(p["pn"]) for p in people)
    seeded = {p["pn"] for p in PATIENTS} | {phone for p in PATIENTS for phone in p["phones"]}
    assert not seeded & ({p["pn"] for p in people} | {p["phones"][0] for p in people})
    assert [t.label for t in emulator.test_patients()] == [p["label"] for p in PATIENTS]
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://sandbox/api", headers=HEADERS
    ) as c:
        for person in (people[0], people[999]):
            r = await c.get(f"{UNIT}/patients/se_personal_number:{person['pn']}")
            assert r.json()["phones"] == person["phones"]
            listed = (
                await c.get(f"{UNIT}/appointments", params={"patient_id": person["emr_id"]})
            ).json()
            assert [a["status"] for a in listed] == ["booked", "booked"]
            assert all(
                Appointment.model_validate(a).start - START > timedelta(days=1) for a in listed
            )
            pending = (await cancel(c, listed[0]["id"])).json()
            [sms] = emulator.outbox(person["phones"][0])
            assert (await confirm(c, pending["id"], sms.code)).json()["status"] == "cancelled"
        assert len(await listing(c)) == 7  # the test patients' appointments are all still there


def test_synthetic_personal_numbers_carry_a_luhn_check_digit() -> None:
    assert luhn_digit("121212121") == 2  # 19121212-1212
    assert synthetic_personal_number(0) == "193001011000"
    with pytest.raises(ValueError, match="synthetic_patients"):
        Emulator(synthetic_patients=-1)


# --- faults -----------------------------------------------------------------------------------


async def test_latency_uses_injected_sleep(
    client: httpx.AsyncClient, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.set_latency(250)
    emulator.inject(Fault(kind="latency", ms=1000))
    r = await client.get("/emrs/sandbox/care-units")
    assert r.status_code == 200
    await client.get("/emrs/sandbox/care-units")
    assert sleeps.delays == [1.25, 0.25]


async def test_timeout_lands_the_write_but_loses_the_answer(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="timeout"))
    with pytest.raises(httpx.ReadTimeout):
        await cancel(client, "a-002")
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]
    # the fault is used up
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200


async def test_timeout_not_applied_skips_the_write(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="timeout", applied=False))
    with pytest.raises(httpx.ReadTimeout):
        await cancel(client, "a-002")
    assert not emulator.outbox()


async def test_reset_after_two_step_write_leaves_pending_visible(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="reset"))
    with pytest.raises(httpx.RemoteProtocolError):
        await cancel(client, "a-002")
    [sms] = emulator.outbox()
    listed = {a.id: a.status for a in await listing(client)}
    assert listed[sms.pending_id] == "awaiting_confirmation"


async def test_server_error_does_not_write(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="server_error", count=2))
    assert (await cancel(client, "a-002")).status_code == 503
    assert (await cancel(client, "a-002")).status_code == 503
    assert emulator.appointment("sandbox", "a-002").status == "booked"  # type: ignore[union-attr]
    emulator.inject(Fault(kind="server_error", applied=True))
    assert (await cancel(client, "a-002")).status_code == 500
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]


async def test_error_envelope_fault(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.inject(
        Fault(kind="error_envelope", code="EMR_ERROR", status=502, error_code="EMR_ERROR")
    )
    r = await cancel(client, "a-002")
    assert r.status_code == 502
    body = ErrorEnvelope.model_validate(r.json())
    assert (body.code, body.errors[0].error_code) == ("EMR_ERROR", "EMR_ERROR")
    assert not emulator.outbox()


async def test_malformed_fault(client: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.set_profile("sandbox", cancellation="one_step")
    emulator.inject(Fault(kind="malformed"))
    r = await cancel(client, "a-002")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]


async def test_faults_skip_control_endpoints_and_can_be_cleared(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(kind="server_error"))
    assert (await client.get("/_sandbox/outbox")).status_code == 200
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 503
    emulator.inject(Fault(kind="server_error", count=3))
    emulator.clear_faults()
    assert (await client.get("/emrs/sandbox/care-units")).status_code == 200


async def test_random_faults_are_seeded(emulator: Emulator, client: httpx.AsyncClient) -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        emulator.reset()
        emulator.set_random_faults(0.5, seed=7)
        seen = []
        for _ in range(30):
            try:
                r = await client.get("/emrs/sandbox/care-units")
                seen.append(str(r.status_code) + (r.text[:3] if r.status_code == 200 else ""))
            except httpx.HTTPError as exc:
                seen.append(type(exc).__name__)
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert len(set(outcomes[0])) >= 3
    assert emulator.faults.injected > 0


# --- real HTTP server ---------------------------------------------------------------------------


async def test_real_server_two_step_over_http() -> None:
    emulator = Emulator(seed=3)
    server = make_server("127.0.0.1", 0, emulator, hold_seconds=0.2)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started
        base = f"http://127.0.0.1:{bound_port(server)}/api"
        async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=5) as c:
            pending = (await cancel(c, "a-002")).json()
            assert pending["status"] == "awaiting_confirmation"
            [sms] = emulator.outbox()
            r = await confirm(c, pending["id"], sms.code)
            assert r.json() == {**pending, "status": "cancelled"}
            assert emulator.appointment("sandbox", "a-002").status == "cancelled"  # type: ignore[union-attr]

            emulator.inject(Fault(kind="reset"))
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get("/emrs/sandbox/care-units")
            emulator.inject(Fault(kind="timeout"))
            with pytest.raises(httpx.ReadTimeout):
                await c.get("/emrs/sandbox/care-units", timeout=0.05)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.mark.slow
async def test_the_cli_serves_the_emulator_until_terminated() -> None:
    async with leyr_process(0) as leyr:  # `python -m bot sandbox --port 0` in its own process
        assert LISTENING.fullmatch(f"listening on {leyr.base_url}")
        r = await leyr.http.get("/emrs/sandbox/care-units")  # the helper sends both headers
        assert r.status_code == 200, r.text
        assert [CareUnit.model_validate(u).id for u in r.json()] == [SANDBOX_CARE_UNIT]
        process = leyr.process
    assert not process.is_running()


def test_server_refuses_non_loopback() -> None:
    with pytest.raises(SystemExit):
        make_server("0.0.0.0", 0, Emulator())


def test_server_keeps_idle_connections_longer_than_clients_do() -> None:
    """Else server and client close an idle connection at the same moment and a call sent on it
    is lost: the server must outlast httpx's idle expiry, as API gateways do."""
    server = make_server("127.0.0.1", 0, Emulator())
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    assert server.config.timeout_keep_alive > client_expiry
