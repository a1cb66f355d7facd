"""`python -m bot doctor`: read-only checks, one line each, non-zero when patients cannot be
served; it passes against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from bot.__main__ import main
from bot.doctor import Check, diagnose
from bot.leyr.capabilities import Support, support_for
from bot.leyr.client import LeyrClient
from bot.leyr.models import PatientIdType
from bot.sandbox.emulator import Emulator
from bot.settings import SANDBOX_CARE_UNIT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


async def no_sleep(_: float) -> None:
    return None


async def run(
    emr: str,
    *,
    emulator: Emulator | None = None,
    secret: str = SANDBOX_CLIENT_SECRET,
    care_unit: str = SANDBOX_CARE_UNIT,
    id_type: PatientIdType = "se_personal_number",
    support: Support | None = None,
    refuse_typed_listing: bool = False,
) -> dict[str, Check]:
    emulator = emulator or Emulator(sleep=no_sleep)
    transport = emulator.transport()
    async with LeyrClient(
        base_url="http://leyr.invalid/api",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
        emr=emr,
        care_unit_id=care_unit,
        transport=Refusing(transport) if refuse_typed_listing else transport,
        sleep=no_sleep,
    ) as client:
        checks = await diagnose(
            client,
            care_unit_id=care_unit,
            id_type=id_type,
            support=support or support_for(emr),
        )
    writes = [call for call in emulator.calls if call[0] != "GET"]
    assert writes == [], "the doctor only reads"
    return {c.name: c for c in checks}


class Refusing(httpx.AsyncBaseTransport):
    """The emulator, as an EHR that lists appointments by its own id only would answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if ":" in request.url.params.get("patient_id", ""):
            refusal = {"code": "BAD_REQUEST", "errors": [{"error_code": "INVALID_PATIENT_ID"}]}
            return httpx.Response(400, json={**refusal, "instance": "i-1"})
        return await self._inner.handle_async_request(request)


def failing(checks: dict[str, Check]) -> list[str]:
    return [name for name, check in checks.items() if check.fails]


async def test_a_webdoc_clinic_passes() -> None:
    checks = await run("webdoc")
    assert {c.verdict for c in checks.values()} == {"ok"}
    assert failing(checks) == []


@pytest.mark.parametrize(
    ("emr", "blocked", "verdict"),
    [
        ("kaddio", "cancelling", "unsupported"),
        ("pasientsky", "patient lookup by se_personal_number", "unsupported"),
        ("anitasystems", "listing appointments", "unsupported"),
    ],
)
async def test_what_an_ehr_lacks_is_a_blocking_line(emr: str, blocked: str, verdict: str) -> None:
    checks = await run(emr)
    assert blocked in failing(checks)
    assert checks[blocked].verdict == verdict


async def test_the_answer_decides_where_the_table_is_silent() -> None:
    checks = await run("pasientsky", support=Support())  # e.g. an EHR code the table lacks
    lookup = checks["patient lookup by se_personal_number"]
    assert lookup.verdict == "unsupported" and lookup.instance  # Leyr's trace id shown
    assert failing(checks) == ["patient lookup by se_personal_number"]


async def test_listing_by_the_personal_number_is_reported_but_never_blocks() -> None:
    name = "listing appointments by se_personal_number"
    assert "beside the lookup" in (await run("webdoc"))[name].note
    checks = await run("webdoc", refuse_typed_listing=True)
    assert checks[name].verdict == "unsupported" and checks[name].instance == "i-1"
    assert "after the lookup" in checks[name].note and failing(checks) == []
    assert name not in await run("anitasystems")  # no listing at all: nothing to ask


async def test_wrong_credentials_and_care_unit() -> None:
    refused = await run("webdoc", secret="wrong")
    assert list(refused) == ["credentials"]
    assert refused["credentials"].verdict == "error" and refused["credentials"].instance
    assert "instance" in refused["credentials"].line()
    unknown = await run("webdoc", care_unit="cu-nope")
    assert "care unit" in failing(unknown)


async def test_names_are_reported_but_never_block() -> None:
    emulator = Emulator(sleep=no_sleep)
    emulator.shapes.set("names_unsupported", True)
    checks = await run("webdoc", emulator=emulator)
    assert checks["care-unit names"].verdict == "unsupported"
    assert checks["practitioner names"].verdict == "unsupported"
    assert failing(checks) == []


async def test_a_record_without_phones_blocks() -> None:
    emulator = Emulator(sleep=no_sleep)
    emulator.ehrs["webdoc"].profile.phones = False
    checks = await run("webdoc", emulator=emulator)
    assert failing(checks) == ["patient lookup by se_personal_number"]


def test_the_command_passes_against_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEYR_CLIENT_ID", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "The bot can serve patients."
    assert len([line for line in out if line.startswith("ok ")]) == 8
