"""National identity numbers (python-stdnum): each kind accepts a valid number in the forms people
type, in the canonical form Leyr takes, and rejects a wrong check digit or an impossible date."""

from __future__ import annotations

import pytest

from dialogs.config import ID_KINDS, IdKind
from dialogs.parsing import personal_number

VALID: list[tuple[IdKind, str, str]] = [
    ("se_personal_number", "19121212-1212", "191212121212"),
    ("se_personal_number", "121212-1212", "201212121212"),  # "-": under 100 years old
    ("se_personal_number", "121212+1212", "191212121212"),  # "+": 100 or older
    ("se_personal_number", "191212121212", "191212121212"),
    ("se_personal_number", "19850375-2308", "198503752308"),  # samordningsnummer (day 15 + 60)
    ("se_personal_number", "850375-2308", "198503752308"),
    ("no_personal_number", "150385 20072", "15038520072"),  # fødselsnummer
    ("no_personal_number", "41018510187", "41018510187"),  # D-number (day 1 + 40)
    ("dk_cpr", "211062-5629", "2110625629"),
    ("dk_cpr", "2110625629", "2110625629"),
    ("fi_hetu", "131052-308T", "131052-308T"),
    ("fi_hetu", "131052-308t", "131052-308T"),
    ("fi_hetu", "250403A234N", "250403A234N"),  # born 2003
    ("fi_hetu", "010594Y234F", "010594Y234F"),  # the 2023 century signs
]

WRONG_CHECK: list[tuple[IdKind, str]] = [
    ("se_personal_number", "19121212-1213"),
    ("se_personal_number", "19850375-2309"),
    ("no_personal_number", "15038520073"),
    ("no_personal_number", "41018510188"),
    ("fi_hetu", "131052-308U"),
    ("fi_hetu", "250403A234M"),
]

IMPOSSIBLE: list[tuple[IdKind, str]] = [
    ("se_personal_number", "19121312-1212"),  # month 13
    ("se_personal_number", "19121292-1212"),  # day 92: not even a samordningsnummer
    ("no_personal_number", "32038520072"),
    ("dk_cpr", "3210625629"),  # 32 October
    ("dk_cpr", "21106256"),
    ("fi_hetu", "321052-308T"),
]


@pytest.mark.parametrize(("kind", "typed", "canonical"), VALID)
def test_a_valid_number_is_accepted_in_its_canonical_form(
    kind: IdKind, typed: str, canonical: str
) -> None:
    assert personal_number(f"  {typed} ", kind) == canonical


@pytest.mark.parametrize(("kind", "typed"), WRONG_CHECK)
def test_a_wrong_check_digit_is_rejected(kind: IdKind, typed: str) -> None:
    assert personal_number(typed, kind) is None


@pytest.mark.parametrize(("kind", "typed"), IMPOSSIBLE)
def test_an_impossible_number_is_rejected(kind: IdKind, typed: str) -> None:
    assert personal_number(typed, kind) is None


def test_the_clinic_region_decides_which_numbers_are_accepted() -> None:
    swedish, norwegian = "19121212-1212", "15038520072"
    assert personal_number(swedish, ID_KINDS["SE"]) is not None
    assert personal_number(swedish, ID_KINDS["NO"]) is None
    assert personal_number(norwegian, ID_KINDS["NO"]) is not None
    assert personal_number(norwegian, ID_KINDS["SE"]) is None
    assert personal_number("131052-308T", ID_KINDS["DK"]) is None
    assert personal_number("2110625629", ID_KINDS["FI"]) is None


@pytest.mark.parametrize("kind", list(ID_KINDS.values()))
def test_hostile_input_is_no_number(kind: IdKind) -> None:
    for text in ("", "1" * 500, "١٢١٢١٢-١٢١٢", "19121212-121", "DROP TABLE"):
        assert personal_number(text, kind) is None
