"""A patient in each of the five languages completes a two-step cancellation through the real
`telegram.ext.Application` (tests/telegram_harness.py): the language comes from Telegram's
`language_code`, and what the patient sees is that language's catalog, dates and plural forms."""

from __future__ import annotations

import re

import pytest

from dialogs.i18n import Translator, translations
from dialogs.machine import CHOOSE
from tests.fake_clinic import CODE, PERSONAL_NUMBER, PHONE, appointment, config
from tests.telegram_harness import dialog, running

LIVE = 222


def start_of(language: str, key: str) -> str:
    """A message's fixed start, before its first placeholder."""
    return translations(language).gettext(key).split("{")[0]


@pytest.mark.parametrize(
    ("telegram_code", "language"),
    [("en-GB", "en"), ("sv", "sv"), ("no", "nb"), ("da", "da"), ("fi", "fi")],
)
async def test_a_patient_cancels_in_two_steps_in_their_language(
    telegram_code: str, language: str
) -> None:
    t = Translator(language, config().zone)
    d = dialog(frozenset())
    async with running(d.engine, agent=d.agent) as h:
        api = h.api

        def shown() -> str:
            return api.last(LIVE).text or ""

        await h.send(api.user_text(LIVE, "/start", language=telegram_code))
        assert t("ask_contact") in api.texts(LIVE)[-1]
        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE, language=telegram_code))
        assert shown() == t("ask_number", format=t("id_format_se_personal_number"))
        await h.send(api.user_text(LIVE, PERSONAL_NUMBER, language=telegram_code))
        assert d.engine.state(LIVE) == CHOOSE
        assert t("list_header", clinic="Test Clinic") in shown()
        assert t.when(appointment(1, 3).start) in shown()  # the clinic's zone, this language

        menu = api.with_buttons(LIVE)[-1]
        first = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
        await h.send(api.user_press(LIVE, menu.message_id, first, language=telegram_code))
        assert shown().startswith(start_of(language, "confirm_one"))
        await h.send(api.press(LIVE, t("btn_yes")))
        assert shown().startswith(start_of(language, "ask_code"))

        await h.send(api.user_text(LIVE, "000000", language=telegram_code))
        assert t.plural("code_wrong", 4) in shown()
        await h.send(api.user_text(LIVE, CODE, language=telegram_code))
        assert shown().startswith(start_of(language, "outcome_cancelled"))
    assert "confirm:n-1" in d.live_clinic.calls
