"""Answer-shape switches: make the emulator answer the way the less tidy EHRs behind Leyr do.

Each switch changes only the JSON the emulator writes (or reads back), never its data or rules,
so a test or an agent can meet one variation at a time. All are off by default and after a reset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

EHR_ZONE = ZoneInfo("Europe/Stockholm")  # the zone an EHR without offsets writes its times in
ID_FIELDS = ("id", "emr_id", "patient_id", "resource_id")
FIRST_NUMBER = 1000

SWITCHES: dict[str, str] = {
    "names_unsupported": "care-unit and practitioner lookups answer NOT_SUPPORTED",
    "names_failing": "care-unit and practitioner lookups fail with EMR_ERROR (500)",
    "no_end": "appointments come without `end`",
    "naive_times": "date-times come without a UTC offset (Stockholm wall time)",
    "numeric_ids": "ids are JSON numbers",
    "wrapped_lists": 'lists come wrapped in an object: {"data": [...]}',
    "minimal_patch": 'PATCH answers only {"id", "status"}',
    "fastapi_errors": "unknown ids answer FastAPI's 404, validation errors its 422",
    "odd_envelope": "error envelopes with odd field types (errors an object, numbers as text)",
    "foreign_items": "listings ignore the patient filter: other patients' appointments come too",
}


@dataclass
class Shapes:
    """Which answer-shape switches are on (see SWITCHES)."""

    names_unsupported: bool = False
    names_failing: bool = False
    no_end: bool = False
    naive_times: bool = False
    numeric_ids: bool = False
    wrapped_lists: bool = False
    minimal_patch: bool = False
    fastapi_errors: bool = False
    odd_envelope: bool = False
    foreign_items: bool = False
    _numbers: dict[str, int] = field(default_factory=dict, repr=False)
    _ids: dict[int, str] = field(default_factory=dict, repr=False)

    def set(self, name: str, on: bool) -> None:
        if name not in SWITCHES:
            raise ValueError(f"unknown shape switch {name!r}")
        setattr(self, name, on)

    def on(self) -> list[str]:
        return [f.name for f in fields(self) if f.name in SWITCHES and getattr(self, f.name)]

    # -- ids ----------------------------------------------------------------------------------
    def number(self, value: str) -> int:
        """The stable JSON number standing for an emulator id while `numeric_ids` is on."""
        if value not in self._numbers:
            number = FIRST_NUMBER + len(self._numbers)
            self._numbers[value] = number
            self._ids[number] = value
        return self._numbers[value]

    def original(self, value: str) -> str:
        """The emulator id a caller's id stands for (ids the emulator never numbered unchanged)."""
        if self.numeric_ids and value.isdigit():
            return self._ids.get(int(value), value)
        return value

    def original_typed(self, typed: str) -> str:
        """A typed patient id with a numbered EHR id turned back; personal numbers unchanged."""
        id_type, sep, value = typed.partition(":")
        if not sep:
            return self.original(typed)
        return f"{id_type}:{self.original(value)}" if id_type == "emr_id" else typed

    # -- answers ------------------------------------------------------------------------------
    def item(self, data: dict[str, Any], *, patch: bool = False) -> dict[str, Any]:
        """One object of an answer, reshaped."""
        if patch and self.minimal_patch:
            data = {"id": data["id"], "status": data["status"]}
        data = dict(data)
        if self.no_end:
            data.pop("end", None)
        if self.naive_times:
            for key in ("start", "end"):
                if isinstance(data.get(key), str):
                    local = datetime.fromisoformat(data[key]).astimezone(EHR_ZONE)
                    data[key] = local.replace(tzinfo=None).isoformat()
        if self.numeric_ids:
            for key in ID_FIELDS:
                if isinstance(data.get(key), str):
                    data[key] = self.number(data[key])
        return data

    def answer(self, data: Any, *, patch: bool = False) -> Any:
        """A whole success answer (one object or a list of them), reshaped."""
        if isinstance(data, list):
            items = [self.item(d, patch=patch) if isinstance(d, dict) else d for d in data]
            return {"data": items} if self.wrapped_lists else items
        if isinstance(data, dict):
            return self.item(data, patch=patch)
        return data

    def error(
        self, code: str, error_code: str, status: int, details: str, instance: str
    ) -> tuple[int, dict[str, Any]]:
        """The status and body of an error: Leyr's envelope, or the shape a switch asks for."""
        if self.fastapi_errors and error_code.startswith("INVALID_") and error_code.endswith("_ID"):
            return 404, {"detail": "Not Found"}
        if self.fastapi_errors and error_code in ("BAD_INPUT", "MISSING_REQUIRED_FIELD"):
            problem = {"loc": ["body"], "msg": details, "type": "value_error"}
            return 422, {"detail": [problem]}
        if self.odd_envelope:
            return status, {
                "code": code,
                "status": str(status),
                "title": None,
                "detail": {"message": details},
                "instance": uuid.UUID(instance).int % 10**12,
                "errors": {"error_code": error_code, "details": None},
            }
        return status, {
            "code": code,
            "type": f"https://docs.leyr.io/api/error-handling/{code.lower()}",
            "title": TITLES.get(code, "Request failed"),
            "status": status,
            "detail": details,
            "instance": instance,
            "errors": [
                {"error_code": error_code, "details": details, "emr_error": None, "path": None}
            ],
        }


TITLES = {
    "BAD_REQUEST": "Request validation failed",
    "UNAUTHORIZED": "Unauthorized",
    "EMR_ERROR": "EMR error",
    "NOT_FOUND": "No such endpoint",
    "METHOD_NOT_ALLOWED": "Method not allowed",
}
