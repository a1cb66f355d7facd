"""A patient in each of the five languages completes a two-step cancellation through the real
`telegram.ext.Application` on the real bot (tests/support/telegram_harness.py): the language comes
from Telegram's `language_code`, and what the patient sees is that language's catalog, dates and
plural forms."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import SANDBOX_EMR
from dialogs.i18n import Translator, translations
from dialogs.machine import CHOOSE
from tests.support.telegram_harness import CLINIC, PERSONAL_NUMBER, PHONE, patches, real_bot

LIVE = 222


def start_of(language: str, key: str) -> str:
    """A message's fixed start, before its first placeholder."""
    return translations(language).gettext(key).split("{")[0]


@pytest.mark.parametrize(
    ("telegram_code", "language"),
    [("en-GB", "en"), ("sv", "sv"), ("no", "nb"), ("da", "da"), ("fi", "fi")],
)
async def test_a_patient_cancels_in_two_steps_in_their_language(
    tmp_path: Path, telegram_code: str, language: str
) -> None:
    t = Translator(language, ZoneInfo("Europe/Stockholm"))  # the clinic's zone (the default)
    async with real_bot(tmp_path) as (d, h):
        api = h.api

        def shown() -> str:
            return api.last(LIVE).text or ""

        await h.send(api.user_text(LIVE, "/start", language=telegram_code))
        assert t("ask_contact") in api.texts(LIVE)[-1]
        await h.send(api.user_contact(LIVE, PHONE, contact_user_id=LIVE, language=telegram_code))
        assert shown() == t("ask_number", format=t("id_format_se_personal_number"))
        await h.send(api.user_text(LIVE, PERSONAL_NUMBER, language=telegram_code))
        assert await d.state(LIVE) == CHOOSE
        listed = shown()
        assert t("list_header", clinic=CLINIC) in listed

        menu = api.with_buttons(LIVE)[-1]
        first = next(data for label, data in menu.buttons() if re.match(r"\d+\. ", label))
        await h.send(api.user_press(LIVE, menu.message_id, first, language=telegram_code))
        assert shown().startswith(start_of(language, "confirm_one"))
        await h.send(api.press(LIVE, t("btn_yes")))
        assert shown().startswith(start_of(language, "ask_code"))
        [sms] = d.leyr.outbox(PHONE)
        chosen = d.leyr.appointment(SANDBOX_EMR, patches(d.leyr)[0])
        assert chosen is not None
        assert t.when(chosen.start) in listed  # the clinic's zone, this language

        wrong = "000000" if sms.code != "000000" else "111111"
        await h.send(api.user_text(LIVE, wrong, language=telegram_code))
        assert t.plural("code_wrong", 4) in shown()
        await h.send(api.user_text(LIVE, sms.code, language=telegram_code))
        assert shown().startswith(start_of(language, "outcome_cancelled"))
    assert patches(d.leyr)[-1] == sms.pending_id  # the right code confirmed the cancellation
