"""Each injected fault is told to the agent in the sandbox chat: which Leyr call it hit, what it
was (a 502 EHR error is not a timeout), and what the bot did: retried, re-read or gave up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.chat import Chat, sandbox_chat


async def _at_confirm(chat: Chat) -> None:
    await chat.send("/start")
    await chat.choose("Astrid")
    await chat.first_appointment()
    assert "Do you want to cancel" in chat.screen


@pytest.mark.parametrize(
    ("kind", "what", "did", "patient_reads"),
    [
        (
            "timeout",
            "timeout (no answer came; the EHR had done the work)",
            "the outcome was unknown, so the bot re-reads",
            "We have sent an SMS",
        ),
        (
            "reset",
            "connection reset (cut before the answer; the EHR had done the work)",
            "the outcome was unknown, so the bot re-reads",
            "We have sent an SMS",
        ),
        (
            "malformed",
            "unreadable answer (cut-off JSON; the EHR had done the work)",
            "the outcome was unknown, so the bot re-reads",
            "We have sent an SMS",
        ),
        (
            "server_error",
            "server error (HTTP 503 without Leyr's error body)",
            "the outcome was unknown, so the bot re-reads",
            "Not cancelled",
        ),
        (
            "emr_error",
            "EHR error (HTTP 502 EMR_ERROR: the EHR itself failed)",
            "the outcome was unknown, so the bot re-reads",
            "Not cancelled",
        ),
        (
            "error_envelope",
            "error answer (HTTP 400 BAD_REQUEST: BAD_INPUT)",
            "the bot gave up, and the appointment stays as it was",
            "Not cancelled",
        ),
    ],
)
async def test_a_fault_on_the_cancel_says_what_it_was_and_what_the_bot_did(
    tmp_path: Path, kind: str, what: str, did: str, patient_reads: str
) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await _at_confirm(chat)
        armed = await chat.send(f"/sandbox_fail {kind}")
        assert "The next Leyr call will fail" in armed
        await chat.choose("Yes, cancel")
        note = next(block for block in chat.screen.split("-" * 60) if "Injected fault" in block)
        assert f"Injected fault: {what}, on PATCH /appointments/{{id}} (the cancellation)" in note
        assert did in note
        if "re-reads" in did:
            assert "The bot re-read the appointments" in note
        assert "timeout" not in note or kind == "timeout"
        assert patient_reads in chat.screen


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("timeout", "timeout (no answer came)"),
        ("reset", "connection reset (cut before the answer)"),
        ("server_error", "server error (HTTP 503 without Leyr's error body)"),
        ("emr_error", "EHR error (HTTP 502 EMR_ERROR: the EHR itself failed)"),
    ],
)
async def test_a_read_that_failed_once_says_it_was_retried(
    tmp_path: Path, kind: str, what: str
) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await chat.send("/start")
        await chat.send(f"/sandbox_fail {kind}")
        await chat.choose("Astrid")
        assert (
            f"Injected fault: {what}, on GET /patients/{{patient_id}} (looking up the patient)"
            in chat.screen
        )
        assert "The bot retried the read (2 attempts in all) and got its answer." in chat.screen
        assert "Which appointment" in chat.screen


async def test_a_read_that_cannot_be_read_is_given_up(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await chat.send("/start")
        await chat.send("/sandbox_fail malformed")
        await chat.choose("Astrid")
        assert "unreadable answer (cut-off JSON), on GET /patients/{patient_id}" in chat.screen
        assert "The bot gave up on the read after 1 attempt(s)" in chat.screen


async def test_an_error_answer_to_a_code_is_told_as_a_wrong_code(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await _at_confirm(chat)
        await chat.choose("Yes, cancel")
        await chat.send("/sandbox_fail error_envelope")
        await chat.send(chat.sms_code())
        assert "on PATCH /appointments/{id} (the SMS code's confirmation)" in chat.screen
        assert "The bot took it as a wrong SMS code" in chat.screen


async def test_fault_notes_the_sms_and_the_labels_follow_the_chats_language(tmp_path: Path) -> None:
    async with sandbox_chat(tmp_path) as chat:
        await chat.send("/language")
        await chat.choose("Svenska")
        await chat.send("/start")
        assert "Astrid Testsson (många tider)" in chat.screen  # the test patients' labels too
        await chat.choose("Astrid")
        await chat.first_appointment()
        await chat.send("/sandbox_fail timeout")
        await chat.choose("Ja")
        assert "Inlagt fel: timeout (inget svar kom; journalsystemet hade utfört" in chat.screen
        assert "SMS till testpatientens telefon:\nDin kod för att avboka din tid" in chat.screen
