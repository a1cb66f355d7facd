"""Every text of the sandbox tools, in English and Swedish, kept together so they can move to the
translation catalogs as one piece: the agents' help and command answers, their command menu, the
test patients' labels, the SMS the emulator "sends", and the notes on injected faults."""

from __future__ import annotations

from dialogs.i18n import DEFAULT_LANGUAGE

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "help": (
            "Sandbox tools (agents only):\n"
            "/sandbox_reset: a clean slate: fresh test data, no pending codes, no faults, and "
            "this chat forgotten (dialog, test patient, limits)\n"
            "/sandbox_onestep, /sandbox_twostep: the sandbox EHR cancels at once, or only after "
            "an SMS code\n"
            "/sandbox_fail KIND: the next Leyr call fails; KIND is one of {kinds}\n"
            "/sandbox_shape NAME: switch one way Leyr's answers look on or off (no NAME: list)\n"
            "/start: begin (after /sandbox_reset: pick a test patient)"
        ),
        "reset": (
            "Sandbox reset: every test patient has their appointments back, no codes are "
            "pending, no faults are queued, and this chat starts over. Send /start to pick a "
            "test patient."
        ),
        "one_step": "The sandbox EHR now cancels at once (one step, no SMS code).",
        "two_step": "The sandbox EHR now cancels in two steps: it texts an SMS code to confirm.",
        "fail_usage": "Usage: /sandbox_fail KIND, with KIND one of {kinds}",
        "fail_armed": "The next Leyr call will fail: {fault}.",
        "sms": "📨 SMS to the test patient's phone:\n{text}",
        "sms_text": "Your code to cancel your appointment on {when}: {code}",
        "patient_p-1001": "Astrid Testsson (many appointments)",
        "patient_p-1002": "Bengt Provsson (one appointment)",
        "patient_p-1003": "Cecilia Exempel (no appointments)",
        "patient_p-1004": "Dagny Fiktiv (only a past visit)",
        "patient_p-1005": "Erik Samordning (samordningsnummer)",
        "patient_p-1006": "Greta Kedjesson (three care units)",
        "patient_p-2001": "Kari Nordtest (fødselsnummer)",
        "patient_p-2002": "Ola Dnummer (D-number)",
        "patient_p-3001": "Mette Testsen (CPR)",
        "patient_p-4001": "Aino Testinen (henkilötunnus)",
        "menu_sandbox": "Sandbox: the agent tools",
        "menu_sandbox_reset": "Sandbox: a clean slate",
        "menu_sandbox_onestep": "Sandbox: cancel at once",
        "menu_sandbox_twostep": "Sandbox: cancel with an SMS code",
        "menu_sandbox_fail": "Sandbox: fail the next Leyr call (KIND)",
        "menu_sandbox_shape": "Sandbox: switch an answer shape (NAME)",
        "shape_list": "Answer shapes (/sandbox_shape NAME switches one):",
        "shape_on": "{shape} is now on.",
        "shape_off": "{shape} is now off.",
        "fault": "🧪 Injected fault: {fault}, on {route} ({operation}).\n{action}",
        "fault_timeout": "timeout (no answer came{landed})",
        "fault_reset": "connection reset (cut before the answer{landed})",
        "fault_server_error": "server error (HTTP {status} without Leyr's error body{landed})",
        "fault_error_envelope": "error answer (HTTP {status} {code}: {error_code}{landed})",
        "fault_emr_error": "EHR error (HTTP {status} {code}: the EHR itself failed{landed})",
        "fault_malformed": "unreadable answer (cut-off JSON{landed})",
        "fault_landed": "; the EHR had done the work",
        "op_find_patient": "looking up the patient",
        "op_list_appointments": "reading the appointments",
        "op_cancel": "the cancellation",
        "op_confirm": "the SMS code's confirmation",
        "did_retried": "The bot retried the read ({attempts} attempts in all) and got its answer.",
        "did_read_gave_up": (
            "The bot gave up on the read after {attempts} attempt(s): the patient is told "
            "nothing was changed and to try again."
        ),
        "did_read_refused": (
            "An error answer is final, so the bot did not retry: the patient is told the "
            "clinic's system answered with an error."
        ),
        "did_unknown": (
            "Writes are never retried: the outcome was unknown, so the bot re-reads the "
            "appointments before saying anything."
        ),
        "did_reread": "The bot re-read the appointments; the reply above is what the EHR says.",
        "did_reread_failed": (
            "The bot tried to re-read the appointments but could not: the outcome stays unknown."
        ),
        "did_code_rejected": (
            "The bot took it as a wrong SMS code (Leyr's BAD_INPUT on a confirmation means that)."
        ),
        "did_pending_gone": "The bot took it as an expired code (the pending id is gone).",
        "did_not_sent": "The write was never sent: nothing changed, the patient may try again.",
        "did_write_refused": (
            "Writes are never retried: the bot gave up, and the appointment stays as it was."
        ),
        "did_nothing": "The call still succeeded.",
    },
    "sv": {
        "help": (
            "Sandlådans verktyg (bara för handläggare):\n"
            "/sandbox_reset: börja om helt: nya testdata, inga väntande koder, inga fel, och "
            "den här chatten glömd (dialog, testpatient, gränser)\n"
            "/sandbox_onestep, /sandbox_twostep: sandlådans journalsystem avbokar direkt, eller "
            "först efter en SMS-kod\n"
            "/sandbox_fail TYP: nästa anrop till Leyr misslyckas; TYP är en av {kinds}\n"
            "/sandbox_shape NAMN: slå på/av en svarsform (utan NAMN: lista dem)\n"
            "/start: börja (efter /sandbox_reset: välj en testpatient)"
        ),
        "reset": (
            "Sandlådan är återställd: alla testpatienter har sina tider tillbaka, inga koder "
            "väntar, inga fel är förberedda, och chatten börjar om. Skicka /start för att välja "
            "en testpatient."
        ),
        "one_step": "Sandlådans journalsystem avbokar nu direkt (ett steg, ingen SMS-kod).",
        "two_step": (
            "Sandlådans journalsystem avbokar nu i två steg: det skickar en SMS-kod att bekräfta "
            "med."
        ),
        "fail_usage": "Så här: /sandbox_fail TYP, där TYP är en av {kinds}",
        "fail_armed": "Nästa anrop till Leyr misslyckas: {fault}.",
        "sms": "📨 SMS till testpatientens telefon:\n{text}",
        "sms_text": "Din kod för att avboka din tid {when}: {code}",
        "patient_p-1001": "Astrid Testsson (många tider)",
        "patient_p-1002": "Bengt Provsson (en tid)",
        "patient_p-1003": "Cecilia Exempel (inga tider)",
        "patient_p-1004": "Dagny Fiktiv (bara ett tidigare besök)",
        "patient_p-1005": "Erik Samordning (samordningsnummer)",
        "patient_p-1006": "Greta Kedjesson (tre vårdenheter)",
        "patient_p-2001": "Kari Nordtest (norskt fødselsnummer)",
        "patient_p-2002": "Ola Dnummer (norskt D-nummer)",
        "patient_p-3001": "Mette Testsen (danskt CPR-nummer)",
        "patient_p-4001": "Aino Testinen (finsk henkilötunnus)",
        "menu_sandbox": "Sandlåda: handläggarens verktyg",
        "menu_sandbox_reset": "Sandlåda: börja om helt",
        "menu_sandbox_onestep": "Sandlåda: avboka direkt",
        "menu_sandbox_twostep": "Sandlåda: avboka med SMS-kod",
        "menu_sandbox_fail": "Sandlåda: nästa Leyr-anrop misslyckas (TYP)",
        "menu_sandbox_shape": "Sandlåda: slå på/av en svarsform (NAMN)",
        "shape_list": "Svarsformer (/sandbox_shape NAMN slår på eller av en):",
        "shape_on": "{shape} är nu på.",
        "shape_off": "{shape} är nu av.",
        "fault": "🧪 Inlagt fel: {fault}, vid {route} ({operation}).\n{action}",
        "fault_timeout": "timeout (inget svar kom{landed})",
        "fault_reset": "avbruten anslutning (bruten före svaret{landed})",
        "fault_server_error": "serverfel (HTTP {status} utan Leyrs felbeskrivning{landed})",
        "fault_error_envelope": "felsvar (HTTP {status} {code}: {error_code}{landed})",
        "fault_emr_error": (
            "fel i journalsystemet (HTTP {status} {code}: journalsystemet självt fallerade{landed})"
        ),
        "fault_malformed": "oläsbart svar (avhuggen JSON{landed})",
        "fault_landed": "; journalsystemet hade utfört ändringen",
        "op_find_patient": "patientens uppslagning",
        "op_list_appointments": "läsningen av tiderna",
        "op_cancel": "avbokningen",
        "op_confirm": "bekräftelsen med SMS-koden",
        "did_retried": "Boten försökte läsa igen ({attempts} försök totalt) och fick svar.",
        "did_read_gave_up": (
            "Boten gav upp läsningen efter {attempts} försök: patienten får veta att inget "
            "ändrades och att försöka igen."
        ),
        "did_read_refused": (
            "Ett felsvar är slutgiltigt, så boten försökte inte igen: patienten får veta att "
            "klinikens system svarade med ett fel."
        ),
        "did_unknown": (
            "Skrivningar görs aldrig om: utfallet var okänt, så boten läser om tiderna innan den "
            "säger något."
        ),
        "did_reread": "Boten läste om tiderna; svaret ovan är vad journalsystemet säger.",
        "did_reread_failed": (
            "Boten försökte läsa om tiderna men kunde inte: utfallet är fortfarande okänt."
        ),
        "did_code_rejected": (
            "Boten tolkade det som fel SMS-kod (Leyrs BAD_INPUT vid en bekräftelse betyder det)."
        ),
        "did_pending_gone": "Boten tolkade det som en utgången kod (det väntande id:t finns inte).",
        "did_not_sent": "Skrivningen skickades aldrig: inget ändrades, patienten kan försöka igen.",
        "did_write_refused": (
            "Skrivningar görs aldrig om: boten gav upp, och tiden är som den var."
        ),
        "did_nothing": "Anropet lyckades ändå.",
    },
}


def say(language: str, key: str, **values: object) -> str:
    """One sandbox text in `language` (English when it has none of its own)."""
    texts = _TEXTS.get(language, _TEXTS[DEFAULT_LANGUAGE])
    return texts[key].format(**values)
