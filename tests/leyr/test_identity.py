"""Leyr's patient id types for the Nordic identity numbers: Swedish and Norwegian numbers are looked
up by Leyr's own types; for Danish and Finnish ones Leyr has none, so nothing is sent and the
dialog hears NotSupported, and `identity_gap` says it plainly for `bot doctor`."""

from __future__ import annotations

from typing import get_args

import pytest
import respx

from bot.leyr.client import LeyrClient
from bot.leyr.clinic import LeyrClinic
from bot.leyr.identity import LEYR_ID_TYPES, identity_gap
from bot.leyr.models import PatientIdType
from bot.settings import Settings, load_settings
from dialogs.clinic import NotSupported

BASE = "https://leyr.test/api"


def settings(region: str) -> Settings:
    return load_settings(
        _env_file=None,
        leyr_base_url=BASE,
        leyr_client_id="id",
        leyr_client_secret="secret",
        leyr_emr="webdoc",
        leyr_care_unit_id="cu-1",
        pseudonym_key="k" * 40,
        clinic_region=region,
    )


@pytest.mark.parametrize(
    ("region", "number", "typed"),
    [
        ("SE", "198503752308", "se_personal_number%3A198503752308"),
        ("NO", "41018510187", "no_personal_number%3A41018510187"),
    ],
)
async def test_swedish_and_norwegian_numbers_use_leyrs_id_types(
    region: str, number: str, typed: str
) -> None:
    config = settings(region)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(url__regex=rf".*/patients/{typed}$").respond(
            json={"id": "p-1", "emr_id": "p-1", "phones": ["+46701234567"]}
        )
        async with LeyrClient.from_settings(config) as client:
            record = await LeyrClinic.from_settings(client, config).find_patient(number)
    assert route.called and record.patient_id == "p-1"
    assert identity_gap(region) is None


@pytest.mark.parametrize("region", ["DK", "FI"])
async def test_danish_and_finnish_numbers_have_no_leyr_type_and_are_never_sent(
    region: str,
) -> None:
    config = settings(region)
    with respx.mock(assert_all_mocked=True) as router:
        async with LeyrClient.from_settings(config) as client:
            with pytest.raises(NotSupported):
                await LeyrClinic.from_settings(client, config).find_patient("2110625629")
        assert not router.calls
    gap = identity_gap(region)
    assert gap is not None and "no patient id type" in gap and f"CLINIC_REGION={region}" in gap


def test_only_leyrs_documented_id_types_are_used() -> None:
    used = {id_type for id_type in LEYR_ID_TYPES.values() if id_type is not None}
    assert used == {"se_personal_number", "no_personal_number"}
    assert used <= set(get_args(PatientIdType))
