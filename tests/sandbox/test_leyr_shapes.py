"""The emulator answers as Leyr documents: credentials, JSON shapes and error envelopes, validation
(400, never 422), listing by range, patients created idempotently, unknown routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.leyr.models import Appointment, CareUnit, ErrorEnvelope, Patient, Resource
from bot.sandbox.emulator import Emulator
from bot.sandbox.seed import (
    PATIENTS,
    ZONE,
)
from bot.settings import SANDBOX_CARE_UNIT
from tests.support.clock import Clock
from tests.support.emulator_http import (
    HEADERS,
    MAIN,
    MAIN_PHONE,
    UNIT,
    cancel,
    error_code,
    listing,
)


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
    unit, *others = [CareUnit.model_validate(u) for u in r.json()]
    assert (unit.id, unit.name) == (SANDBOX_CARE_UNIT, "Sandbox Clinic Södermalm")
    assert [u.id for u in others] == ["cu-sandbox-2", "cu-sandbox-3"]  # the sandbox chain
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
        f"/emrs/anitasystems/care-units/{SANDBOX_CARE_UNIT}/appointments",
        params={"patient_id": MAIN},
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
