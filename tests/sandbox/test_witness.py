"""The emulator is a witness, not a mirror: it writes Leyr's documented JSON itself, holds a
profile per EHR from the docs' EHR table, and answers in the shapes its switches ask for."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox.agent import SandboxAgent
from bot.sandbox.emulator import Emulator
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bot.store import open_store

SANDBOX = Path(__file__).resolve().parents[2] / "bot" / "sandbox"
HEADERS = {"x-leyr-client-id": SANDBOX_CLIENT_ID, "x-leyr-client-secret": SANDBOX_CLIENT_SECRET}
NOW = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)
PN = "se_personal_number:191212121212"


def leyr_imports(source: str) -> list[str]:
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(n for n in names if n == "bot.leyr" or n.startswith("bot.leyr."))


def test_no_sandbox_module_imports_the_bots_leyr_client() -> None:
    modules = sorted(SANDBOX.rglob("*.py"))
    assert len(modules) > 5
    found = {p.name: leyr_imports(p.read_text()) for p in modules}
    assert {name: names for name, names in found.items() if names} == {}


def test_the_check_sees_every_form_of_import() -> None:
    source = "import bot.leyr.models\nfrom bot.leyr.client import X\nfrom bot import leyr\n"
    assert leyr_imports(source) == [
        "bot.leyr",
        "bot.leyr.client",
        "bot.leyr.client.X",
        "bot.leyr.models",
    ]


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(seed=3, now=lambda: NOW)


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://sandbox.invalid/api", headers=HEADERS
    ) as client:
        yield client


def unit(emr: str) -> str:
    return f"/emrs/{emr}/care-units/{SANDBOX_CARE_UNIT}"


def error_code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["errors"][0]["error_code"])


@pytest.mark.parametrize(
    ("emr", "lookup", "listing", "cancel"),
    [
        ("webdoc", "ok", "ok", "cancelled"),
        ("takecare", "ok", "ok", "cancelled"),
        ("sandbox", "ok", "ok", "awaiting_confirmation"),
        ("kaddio", "ok", "ok", "NOT_SUPPORTED"),
        ("pasientsky", "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "ok", "cancelled"),
        ("anitasystems", "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "NOT_SUPPORTED", "NOT_SUPPORTED"),
        ("cliniko", "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "ok", "cancelled"),
        ("konfidens", "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED", "ok", "awaiting_confirmation"),
    ],
)
async def test_each_ehr_follows_its_profile(
    http: httpx.AsyncClient, emr: str, lookup: str, listing: str, cancel: str
) -> None:
    found = await http.get(f"{unit(emr)}/patients/{PN}")
    assert ("ok" if found.is_success else error_code(found)) == lookup
    listed = await http.get(f"{unit(emr)}/appointments", params={"patient_id": "p-1001"})
    assert ("ok" if listed.is_success else error_code(listed)) == listing
    done = await http.patch(f"{unit(emr)}/appointments/a-002", json={"status": "cancelled"})
    assert (done.json()["status"] if done.is_success else error_code(done)) == cancel


async def test_bulk_limits_and_phones_per_ehr(http: httpx.AsyncClient) -> None:
    three = {"ids": ["a-002", "a-003", "a-004"], "status": "cancelled"}
    assert error_code(await http.patch(f"{unit('takecare')}/appointments", json=three)) == (
        "NOT_SUPPORTED"
    )
    assert error_code(await http.patch(f"{unit('prorenata')}/appointments", json=three)) == (
        "MAX_ITEMS_EXCEEDED"
    )
    assert (await http.patch(f"{unit('webdoc')}/appointments", json=three)).is_success
    record = (await http.get(f"{unit('cliniko')}/patients/emr_id:p-1001")).json()
    assert "phones" not in record and record["id"] == "p-1001"
    assert (await http.get(f"{unit('webdoc')}/patients/p-1001")).json()["phones"]


async def set_shapes(http: httpx.AsyncClient, **switches: bool) -> None:
    response = await http.put("/_sandbox/shapes", json=switches)
    assert response.is_success, response.text


async def test_shape_switches_change_only_the_json(http: httpx.AsyncClient) -> None:
    await set_shapes(http, no_end=True, naive_times=True, numeric_ids=True, wrapped_lists=True)
    listed = await http.get(f"{unit('webdoc')}/appointments", params={"patient_id": "p-1001"})
    items = listed.json()["data"]
    first = items[0]
    assert "end" not in first and isinstance(first["id"], int)
    assert isinstance(first["patient_id"], int)
    assert datetime.fromisoformat(first["start"]).tzinfo is None
    # a numbered id is understood when it comes back, in the path and in the patient filter
    again = await http.get(
        f"{unit('webdoc')}/appointments", params={"patient_id": str(first["patient_id"])}
    )
    assert len(again.json()["data"]) == len(items)
    booked = next(i for i in items if i["status"] == "booked" and i["start"] > "2026-03-03")
    await set_shapes(http, minimal_patch=True)
    done = await http.patch(
        f"{unit('webdoc')}/appointments/{booked['id']}", json={"status": "cancelled"}
    )
    assert done.json() == {"id": booked["id"], "status": "cancelled"}


async def test_error_shapes(http: httpx.AsyncClient) -> None:
    await set_shapes(http, fastapi_errors=True)
    missing = await http.patch(f"{unit('webdoc')}/appointments/nope", json={"status": "cancelled"})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    invalid = await http.patch(f"{unit('webdoc')}/appointments/a-002", json={"status": "x"})
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["type"] == "value_error"
    await set_shapes(http, fastapi_errors=False, odd_envelope=True)
    odd = await http.patch(f"{unit('webdoc')}/appointments/nope", json={"status": "cancelled"})
    body = odd.json()
    assert odd.status_code == 400 and body["status"] == "400"
    assert body["errors"] == {"error_code": "INVALID_APPOINTMENT_ID", "details": None}
    assert isinstance(body["instance"], int)


async def test_name_lookups_and_foreign_items(http: httpx.AsyncClient) -> None:
    await set_shapes(http, names_unsupported=True)
    assert error_code(await http.get(f"{unit('webdoc')}/resources")) == "NOT_SUPPORTED"
    await set_shapes(http, names_unsupported=False, names_failing=True)
    assert (await http.get("/emrs/webdoc/care-units")).status_code == 500
    await set_shapes(http, names_failing=False, foreign_items=True)
    listed = await http.get(f"{unit('webdoc')}/appointments", params={"patient_id": "p-1003"})
    assert {a["patient_id"] for a in listed.json()} >= {"p-1001", "p-1002"}


async def test_unknown_switch_is_refused_and_reset_clears(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    assert (await http.put("/_sandbox/shapes", json={"nope": True})).status_code == 400
    await set_shapes(http, numeric_ids=True)
    emulator.reset()
    assert emulator.shapes.on() == []


async def test_agents_switch_shapes_by_command(emulator: Emulator, tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'agent.sqlite3'}", pseudonym_key="k")
    try:
        agent = SandboxAgent(emulator, store)
        listing = await agent.command(1, "/sandbox_shape", "en")
        assert listing is not None and "minimal_patch" in listing and "[on]" not in listing
        switched = await agent.command(1, "/sandbox_shape MINIMAL_PATCH", "en")
        assert switched == "minimal_patch is now on."
        assert emulator.shapes.minimal_patch
        assert "[on] minimal_patch" in (await agent.command(1, "/sandbox_shape ?", "en") or "")
        switched = await agent.command(1, "/sandbox_shape minimal_patch", "en")
        assert switched == "minimal_patch is now off."
        assert "/sandbox_shape" in (await agent.command(1, "/sandbox", "en") or "")
    finally:
        await store.close()
