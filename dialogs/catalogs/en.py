"""English."""

NAME = "English"
LOCALE = "en"
DATETIME = "EEEE d MMMM, HH:mm"
SHORT = "EEE d MMM, HH:mm"

MESSAGES: dict[str, str] = {
    "welcome": "Welcome to {clinic}. Here you can cancel your appointments.",
    "ask_contact": (
        "First, please tap the button below to share your phone number, so we can check it is you."
    ),
    "share_button": "📱 Share my phone number",
    "contact_not_own": (
        "That is someone else's contact. Please share your own number with the button below."
    ),
    "contact_unreadable": "We could not read that phone number. Please use the button below.",
    "ask_number": "Thank you. Now type your personal identity number ({format}).",
    "number_invalid": (
        "That is not a valid personal identity number. Please type it again ({format})."
    ),
    "id_format_se_personal_number": "12 digits, YYYYMMDD-NNNN",
    "id_format_no_personal_number": "11 digits, DDMMYYNNNNN",
    "identity_failed": (
        "We could not find a patient with that personal identity number and this phone number. "
        "Please check the number and try again, or call {clinic} at {phone}."
    ),
    "identity_locked": (
        "Too many attempts. For your safety, please try again in an hour, or call {clinic} at "
        "{phone}."
    ),
    "pick_test_patient": "Sandbox: pick a test patient to act as.",
    "list_header": "Your upcoming appointments at {clinic}:",
    "list_choose": "Which appointment do you want to cancel?",
    "list_choose_several": "Tap each appointment you want to cancel, then Continue.",
    "list_deadline_note": (
        "🔒 Starts within {hours} hours: it can only be cancelled by phone, {phone}."
    ),
    "list_pending_note": (
        "⏳ Its cancellation is waiting for an SMS code: "
        "choose it to type the code or get a new one."
    ),
    "list_status_note": "Appointments with another status can't be cancelled here.",
    "no_appointments": (
        "You have no upcoming appointments at {clinic}, so there is nothing to cancel. "
        "Send /start to look again later, or call {clinic} at {phone}."
    ),
    "none_cancellable": "None of these can be cancelled here. Please call {clinic} at {phone}.",
    "list_page": "Appointments {first}–{last} of {total}.",
    "btn_earlier": "‹ Earlier",
    "btn_later": "Later ›",
    "reason_dropped": (
        "The reason you typed was removed, as the cancellation was not confirmed within "
        "{minutes} minutes. Nothing was cancelled yet."
    ),
    "identity_aged": (
        "It has been a while, so please confirm who you are again. "
        "Nothing has been changed in your appointments."
    ),
    "btn_several": "Cancel several",
    "btn_continue_one": "Continue ({count} selected)",
    "btn_continue_other": "Continue ({count} selected)",
    "btn_one_at_a_time": "Just one",
    "nothing_selected": "Please select at least one appointment first.",
    "too_many_selected": "You can cancel at most {max} appointments at once.",
    "confirm_one": "Do you want to cancel this appointment?\n{items}",
    "confirm_many": "Do you want to cancel these {count} appointments?\n{items}",
    "confirm_reason": "Your reason, sent to the clinic with the cancellation: {comment}",
    "btn_yes": "Yes, cancel",
    "btn_reason": "Add a reason",
    "btn_no": "No, keep it",
    "ask_reason": ("Type a short reason for the clinic (at most {max} characters), or tap Skip."),
    "btn_skip": "Skip",
    "reason_too_long": "That is too long: please keep it under {max} characters.",
    "kept": "Nothing was cancelled.",
    "ask_code": (
        "We have sent an SMS with a code to your phone. Type the code to confirm cancelling:\n"
        "{item}"
    ),
    "ask_code_next": "Next, type the SMS code for:\n{item}",
    "ask_code_resume": (
        "We sent an SMS with a code for this appointment earlier. Type that code to confirm "
        "cancelling it, or tap Send a new code:\n{item}"
    ),
    "code_not_found_one": "Please type the code from the SMS: {count} try left.",
    "code_not_found_other": "Please type the code from the SMS: {count} tries left.",
    "code_wrong_one": "That code was not right. {count} try left.",
    "code_wrong_other": "That code was not right. {count} tries left.",
    "code_expired": "The code has expired.",
    "code_locked": "Too many wrong codes.",
    "btn_resend": "Send a new code",
    "btn_keep_pending": "Don't cancel it",
    "resend_limit": (
        "No more new codes today for this appointment. Please call {clinic} at {phone}."
    ),
    "outcome_cancelled": "✅ Cancelled: {item}",
    "outcome_not_cancelled": "❌ Not cancelled: {item}",
    "outcome_unknown": (
        "❓ We could not confirm whether this was cancelled: {item}. "
        "Tap Check again in a minute; nothing will be cancelled twice."
    ),
    "why_expired": "The code expired.",
    "why_locked": "Too many wrong codes.",
    "why_error": (
        "{clinic}'s system answered with an error, so nothing was changed. Trying again may work."
    ),
    "why_refused": "{clinic}'s system refused to cancel it.",
    "why_not_cancellable": "It can no longer be cancelled here.",
    "why_stopped": "You stopped before entering the code, so it stays booked.",
    "why_kept": "You chose to keep it, so it stays booked.",
    "why_unavailable": "{clinic}'s system did not answer in time, and it is still booked.",
    "why_code_limit": "We can't send more SMS codes for it today.",
    "words_yes": "yes, y, ok, sure",
    "words_no": "no, n",
    "outcome_call": "For help, call {clinic} at {phone}.",
    "reference": "Reference: {reference}",
    "btn_another": "Cancel another appointment",
    "btn_check_again": "Check again",
    "btn_switch_patient": "🧪 Act as another test patient",
    "btn_retry": "Try again",
    "unavailable": (
        "We can't reach the clinic's system right now, and nothing was changed. "
        "Please try again in a few minutes, or call {clinic} at {phone}."
    ),
    "clinic_error": (
        "We can't reach your appointments right now: {clinic}'s system answered with an error. "
        "Nothing was changed. Please try again in a few minutes, or call {clinic} at {phone}."
    ),
    "identity_error": (
        "We can't check your details right now: {clinic}'s system answered with an error. "
        "Please try again in a few minutes, or call {clinic} at {phone}."
    ),
    "not_supported_identify": (
        "{clinic}'s booking system does not allow looking up patients through this chat. "
        "Please call {clinic} at {phone} to cancel."
    ),
    "not_supported_list": (
        "{clinic}'s booking system does not allow showing appointments through this chat. "
        "Please call {clinic} at {phone} to cancel."
    ),
    "not_supported_cancel": (
        "{clinic}'s booking system does not allow cancelling through this chat, so nothing was "
        "cancelled. Please call {clinic} at {phone}."
    ),
    "help": (
        "This bot lets you cancel your appointments at {clinic}.\n"
        "/start: begin again\n/stop: stop what is going on now\n/language: change language\n"
        "/forget: erase what this bot keeps about you\n"
        "/help: this message\nFor anything else, call {clinic} at {phone}."
    ),
    "forget_confirm": (
        "Erase what this bot keeps about you: this chat's conversation and the link between "
        "your Telegram account and your patient record? Your appointments stay as they are, "
        "and {clinic}'s record of past cancellations is kept without your Telegram account."
    ),
    "btn_forget_yes": "Yes, erase it",
    "btn_forget_no": "No, keep it",
    "forgotten": (
        "Done: this chat's conversation and the link to your patient record are erased. "
        "Send /start to begin again (you will be asked who you are)."
    ),
    "forget_kept": "Nothing was erased. Send /start whenever you like.",
    "stopped": "Stopped. Send /start whenever you like.",
    "stopped_nothing": "Stopped: nothing was cancelled. Send /start whenever you like.",
    "stopped_idle": "There is nothing to stop. Send /start whenever you like.",
    "idle": "Send /start to see your appointments.",
    "stale_button": "That button is from an earlier message. Here is where we are now:",
    "language_prompt": "Choose your language:",
    "language_set": "I will speak English from now on.",
    "unknown_command": "I don't know that command.",
    "use_buttons": "Please choose one of the options below.",
}
