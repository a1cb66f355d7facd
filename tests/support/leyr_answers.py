"""Leyr's documented JSON for respx routes: an appointment and the error envelope, with the ids and
secrets the Leyr client's tests use."""

from __future__ import annotations

from typing import Any

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
