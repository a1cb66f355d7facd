"""The sandbox in each Nordic country: valid test patients per country, one sandbox EHR per country
looking patients up by Leyr's id types only, and a sandbox chat per clinic region that offers that
country's test patients (Danish and Finnish ones cannot be identified: Leyr has no id type)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.console import chat
from bot.leyr.identity import LEYR_ID_TYPES
from bot.leyr.models import ErrorEnvelope
from bot.sandbox.emulator import Emulator
from bot.sandbox.seed import PATIENTS
from bot.settings import (
    SANDBOX_CARE_UNIT,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_EMRS,
    load_settings,
)
from dialogs.config import ID_KINDS, IdKind
from dialogs.i18n import Translator
from dialogs.parsing import personal_number
from tests.ops.test_console import Script, first_appointment, option, sms_code

HEADERS = {"x-leyr-client-id": SANDBOX_CLIENT_ID, "x-leyr-client-secret": SANDBOX_CLIENT_SECRET}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=Emulator().transport(), base_url="http://sandbox/api", headers=HEADERS
    ) as c:
        yield c


def error_code(response: httpx.Response) -> str:
    return str(ErrorEnvelope.model_validate(response.json()).errors[0].error_code)


def patient_url(region: str, typed_id: str) -> str:
    return f"/emrs/{SANDBOX_EMRS[region]}/care-units/{SANDBOX_CARE_UNIT}/patients/{typed_id}"


@pytest.mark.parametrize("region", list(ID_KINDS))
def test_each_country_has_test_patients_with_valid_numbers(region: str) -> None:
    people = [p for p in PATIENTS if p["country"] == region]
    assert people
    kind: IdKind = ID_KINDS[region]
    for person in people:
        assert personal_number(person["pn"], kind) == person["pn"], person["label"]
        assert person["id_type"] == LEYR_ID_TYPES[kind]


@pytest.mark.parametrize(
    ("region", "pn", "id_type"),
    [("SE", "198503752308", "se_personal_number"), ("NO", "41018510187", "no_personal_number")],
)
async def test_a_countrys_sandbox_ehr_finds_its_patients_by_leyrs_type(
    client: httpx.AsyncClient, region: str, pn: str, id_type: str
) -> None:
    found = await client.get(patient_url(region, f"{id_type}:{pn}"))
    assert found.status_code == 200, found.text
    other = "no_personal_number" if region == "SE" else "se_personal_number"
    refused = await client.get(patient_url(region, f"{other}:{pn}"))
    assert error_code(refused) == "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED"


async def test_a_number_is_found_only_under_its_own_countrys_type(
    client: httpx.AsyncClient,
) -> None:
    # the Norwegian sandbox EHR holds the Swedish test patients too, but not under a NO type
    missing = await client.get(patient_url("NO", "no_personal_number:191212121212"))
    assert error_code(missing) == "INVALID_PATIENT_ID"


@pytest.mark.parametrize(("region", "emr_id"), [("DK", "p-3001"), ("FI", "p-4001")])
async def test_danish_and_finnish_sandbox_ehrs_look_up_by_emr_id_only(
    client: httpx.AsyncClient, region: str, emr_id: str
) -> None:
    assert (await client.get(patient_url(region, f"emr_id:{emr_id}"))).status_code == 200
    for id_type in ("se_personal_number", "no_personal_number"):
        refused = await client.get(patient_url(region, f"{id_type}:2110625629"))
        assert error_code(refused) == "PATIENT_ID_LOOKUP_TYPE_NOT_SUPPORTED"


async def test_a_norwegian_clinics_sandbox_chat_cancels_for_a_d_number_patient(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}",
        clinic_region="NO",
        clinic_timezone="Europe/Oslo",
        clinic_phone="+47 22 12 34 56",
    )
    t = Translator("en", settings.zone)
    out = io.StringIO()
    answers = [option("Ola Dnummer"), first_appointment, option(t("btn_yes")), sms_code]
    await chat(settings, Script(out, answers), out)
    screen = out.getvalue()
    assert "Kari Nordtest" in screen and "Astrid Testsson" not in screen
    assert "✅ Cancelled:" in screen


@pytest.mark.parametrize(("region", "name"), [("DK", "Mette Testsen"), ("FI", "Aino Testinen")])
async def test_a_danish_or_finnish_sandbox_chat_says_patients_cannot_be_identified(
    tmp_path: Path, region: str, name: str
) -> None:
    settings = load_settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}",
        clinic_region=region,
    )
    out = io.StringIO()
    await chat(settings, Script(out, [option(name)]), out)
    screen = out.getvalue()
    assert "does not allow looking up patients through this chat" in screen
