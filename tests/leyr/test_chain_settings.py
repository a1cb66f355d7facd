"""A clinic chain's settings: LEYR_CARE_UNIT_IDS (one or many), and a phone and a cancellation
deadline per care unit where it differs from the chain's."""

from __future__ import annotations

import pytest

from bot.leyr.client import LeyrClient
from bot.settings import ConfigError, load_settings

LIVE = {
    "leyr_client_id": "id",
    "leyr_client_secret": "secret",
    "leyr_emr": "webdoc",
    "pseudonym_key": "k" * 40,
}


def test_one_or_many_care_units() -> None:
    chain = load_settings(_env_file=None, **LIVE, leyr_care_unit_ids=" cu-1, cu-2 ,cu-3,")
    assert chain.care_unit_ids == ("cu-1", "cu-2", "cu-3")
    one = load_settings(_env_file=None, **LIVE, leyr_care_unit_ids="cu-1")
    assert one.care_unit_ids == ("cu-1",)
    spelled_alone = load_settings(_env_file=None, **LIVE, leyr_care_unit_id="cu-1")
    assert spelled_alone.care_unit_ids == ("cu-1",)


def test_per_unit_phones_and_deadlines_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEYR_CARE_UNIT_IDS", "cu-1,cu-2")
    monkeypatch.setenv("CARE_UNIT_PHONES", '{"cu-2": "+46 8 555 000 00"}')
    monkeypatch.setenv("CARE_UNIT_DEADLINE_HOURS", '{"cu-2": 48}')
    settings = load_settings(_env_file=None, **LIVE)
    assert settings.care_unit_phones == {"cu-2": "+46 8 555 000 00"}
    assert settings.care_unit_deadline_hours == {"cu-2": 48.0}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"leyr_care_unit_ids": "cu-1,cu-1"}, "LEYR_CARE_UNIT_IDS"),
        ({"leyr_care_unit_ids": "cu|1"}, "LEYR_CARE_UNIT_IDS"),
        ({"leyr_care_unit_ids": "cu-1", "leyr_care_unit_id": "cu-2"}, "not both"),
        (
            {"leyr_care_unit_ids": "cu-1", "care_unit_phones": {"cu-9": "+46 8 555 000 00"}},
            "cu-9",
        ),
        ({"leyr_care_unit_ids": "cu-1", "care_unit_phones": {"cu-1": "call us"}}, "PHONES"),
        ({"leyr_care_unit_ids": "cu-1", "care_unit_deadline_hours": {"cu-1": -1}}, "DEADLINE"),
        ({}, "LEYR_CARE_UNIT_IDS"),  # credentials without any care unit
    ],
)
def test_a_wrong_chain_setting_is_refused_in_one_line(
    changes: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **LIVE, **changes)
    assert named in str(caught.value) and "\n" not in str(caught.value)


async def test_the_client_reaches_another_care_unit_on_the_same_connections() -> None:
    settings = load_settings(_env_file=None, **LIVE, leyr_care_unit_ids="cu-1,cu 2")
    async with LeyrClient.from_settings(settings) as first:
        second = first.at("cu 2")
        assert first._unit == "/emrs/webdoc/care-units/cu-1"
        assert second._unit == "/emrs/webdoc/care-units/cu%202"
        assert second._http is first._http
