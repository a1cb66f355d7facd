"""Svenska."""

NAME = "Svenska"
LOCALE = "sv"
DATETIME = "EEEE d MMMM 'kl.' HH:mm"
SHORT = "EEE d MMM 'kl.' HH:mm"

MESSAGES: dict[str, str] = {
    "welcome": "Välkommen till {clinic}. Här kan du avboka dina tider.",
    "ask_contact": (
        "Tryck först på knappen nedan och dela ditt telefonnummer, så att vi kan se att det är du."
    ),
    "share_button": "📱 Dela mitt telefonnummer",
    "contact_not_own": (
        "Det där är någon annans kontakt. Dela ditt eget nummer med knappen nedan."
    ),
    "contact_unreadable": "Vi kunde inte läsa telefonnumret. Använd knappen nedan.",
    "ask_number": "Tack. Skriv nu ditt personnummer ({format}).",
    "number_invalid": "Det är inget giltigt personnummer. Skriv det igen ({format}).",
    "id_format_se_personal_number": "12 siffror, ÅÅÅÅMMDD-NNNN",
    "id_format_no_personal_number": "11 siffror, DDMMÅÅNNNNN",
    "identity_failed": (
        "Vi hittade ingen patient med det personnumret och det här telefonnumret. "
        "Kontrollera numret och försök igen, eller ring {clinic} på {phone}."
    ),
    "identity_locked": (
        "För många försök. Av säkerhetsskäl: försök igen om en timme, eller ring {clinic} på "
        "{phone}."
    ),
    "pick_test_patient": "Sandlåda: välj en testpatient att agera som.",
    "list_header": "Dina kommande tider hos {clinic}:",
    "list_choose": "Vilken tid vill du avboka?",
    "list_choose_several": "Tryck på varje tid du vill avboka och sedan på Fortsätt.",
    "list_deadline_note": ("🔒 Börjar inom {hours} timmar: kan bara avbokas per telefon, {phone}."),
    "list_pending_note": (
        "⏳ Avbokningen väntar på en SMS-kod: välj tiden för att skriva koden eller få en ny."
    ),
    "list_status_note": "Tider med annan status kan inte avbokas här.",
    "no_appointments": (
        "Du har inga kommande tider hos {clinic}, så det finns inget att avboka. "
        "Skicka /start för att titta igen senare, eller ring {clinic} på {phone}."
    ),
    "none_cancellable": "Ingen av dessa kan avbokas här. Ring {clinic} på {phone}.",
    "list_page": "Tider {first}–{last} av {total}.",
    "btn_earlier": "‹ Tidigare",
    "btn_later": "Senare ›",
    "reason_dropped": (
        "Anledningen du skrev har tagits bort, eftersom avbokningen inte bekräftades inom "
        "{minutes} minuter. Inget har avbokats ännu."
    ),
    "identity_aged": (
        "Det var ett tag sedan, så bekräfta gärna vem du är igen. "
        "Inget har ändrats i dina bokningar."
    ),
    "btn_several": "Avboka flera",
    "btn_continue_one": "Fortsätt ({count} vald)",
    "btn_continue_other": "Fortsätt ({count} valda)",
    "btn_one_at_a_time": "Bara en",
    "nothing_selected": "Välj minst en tid först.",
    "too_many_selected": "Du kan avboka högst {max} tider åt gången.",
    "confirm_one": "Vill du avboka den här tiden?\n{items}",
    "confirm_many": "Vill du avboka de här {count} tiderna?\n{items}",
    "confirm_reason": "Din anledning, som skickas till mottagningen med avbokningen: {comment}",
    "btn_yes": "Ja, avboka",
    "btn_reason": "Lägg till anledning",
    "btn_no": "Nej, behåll",
    "ask_reason": (
        "Skriv en kort anledning till mottagningen (högst {max} tecken), eller tryck Hoppa över."
    ),
    "btn_skip": "Hoppa över",
    "reason_too_long": "Det är för långt: håll det under {max} tecken.",
    "kept": "Inget avbokades.",
    "ask_code": (
        "Vi har skickat ett SMS med en kod till din telefon. Skriv koden för att bekräfta "
        "avbokningen:\n{item}"
    ),
    "ask_code_next": "Skriv nu SMS-koden för:\n{item}",
    "ask_code_resume": (
        "Vi skickade tidigare ett SMS med en kod för den här tiden. Skriv koden för att bekräfta "
        "avbokningen, eller tryck Skicka ny kod:\n{item}"
    ),
    "code_not_found_one": "Skriv koden från SMS:et: {count} försök kvar.",
    "code_not_found_other": "Skriv koden från SMS:et: {count} försök kvar.",
    "code_wrong_one": "Koden stämde inte. {count} försök kvar.",
    "code_wrong_other": "Koden stämde inte. {count} försök kvar.",
    "code_expired": "Koden har gått ut.",
    "code_locked": "För många felaktiga koder.",
    "btn_resend": "Skicka ny kod",
    "btn_keep_pending": "Avboka inte",
    "resend_limit": ("Inga fler nya koder i dag för den här tiden. Ring {clinic} på {phone}."),
    "outcome_cancelled": "✅ Avbokad: {item}",
    "outcome_not_cancelled": "❌ Inte avbokad: {item}",
    "outcome_unknown": (
        "❓ Vi kunde inte bekräfta om den här avbokades: {item}. "
        "Tryck på Kontrollera igen om en minut; inget avbokas två gånger."
    ),
    "why_expired": "Koden gick ut.",
    "why_locked": "För många felaktiga koder.",
    "why_error": (
        "{clinic}s system svarade med ett fel, så inget ändrades. Det kan gå att försöka igen."
    ),
    "why_refused": "{clinic}s system vägrade avboka den.",
    "why_not_cancellable": "Den kan inte längre avbokas här.",
    "why_stopped": "Du avbröt innan koden skrevs in, så tiden är kvar.",
    "why_kept": "Du valde att behålla den, så tiden är kvar.",
    "why_unavailable": "{clinic}s system svarade inte i tid, och tiden är fortfarande bokad.",
    "why_code_limit": "Vi kan inte skicka fler SMS-koder för den i dag.",
    "words_yes": "ja, j, ok",
    "words_no": "nej, n",
    "outcome_call": "Behöver du hjälp, ring {clinic} på {phone}.",
    "reference": "Referens: {reference}",
    "btn_another": "Avboka en annan tid",
    "btn_check_again": "Kontrollera igen",
    "btn_switch_patient": "🧪 Agera som en annan testpatient",
    "btn_retry": "Försök igen",
    "unavailable": (
        "Vi når inte mottagningens system just nu, och inget har ändrats. "
        "Försök igen om några minuter, eller ring {clinic} på {phone}."
    ),
    "clinic_error": (
        "Vi kan inte visa dina tider just nu: {clinic}s system svarade med ett fel. "
        "Inget har ändrats. Försök igen om några minuter, eller ring {clinic} på {phone}."
    ),
    "identity_error": (
        "Vi kan inte kontrollera dina uppgifter just nu: {clinic}s system svarade med ett fel. "
        "Försök igen om några minuter, eller ring {clinic} på {phone}."
    ),
    "not_supported_identify": (
        "{clinic}s bokningssystem tillåter inte att patienter slås upp via den här chatten. "
        "Ring {clinic} på {phone} för att avboka."
    ),
    "not_supported_list": (
        "{clinic}s bokningssystem tillåter inte att tider visas via den här chatten. "
        "Ring {clinic} på {phone} för att avboka."
    ),
    "not_supported_cancel": (
        "{clinic}s bokningssystem tillåter inte avbokning via den här chatten, så inget "
        "avbokades. Ring {clinic} på {phone}."
    ),
    "help": (
        "Här kan du avboka dina tider hos {clinic}.\n"
        "/start: börja om\n/stop: avbryt det som pågår\n/language: byt språk\n"
        "/forget: radera det boten sparar om dig\n"
        "/help: det här meddelandet\nFör allt annat, ring {clinic} på {phone}."
    ),
    "forget_confirm": (
        "Radera det boten sparar om dig: den här chattens konversation och kopplingen mellan "
        "ditt Telegramkonto och din patientjournal? Dina tider ändras inte, och {clinic}s "
        "register över tidigare avbokningar sparas utan ditt Telegramkonto."
    ),
    "btn_forget_yes": "Ja, radera",
    "btn_forget_no": "Nej, behåll",
    "forgotten": (
        "Klart: chattens konversation och kopplingen till din patientjournal är raderade. "
        "Skicka /start för att börja om (du får visa vem du är igen)."
    ),
    "forget_kept": "Inget raderades. Skicka /start när du vill.",
    "stopped": "Avbrutet. Skicka /start när du vill.",
    "stopped_nothing": "Avbrutet: inget avbokades. Skicka /start när du vill.",
    "stopped_idle": "Det finns inget att avbryta. Skicka /start när du vill.",
    "idle": "Skicka /start för att se dina tider.",
    "stale_button": "Den knappen hör till ett tidigare meddelande. Så här ser det ut nu:",
    "language_prompt": "Välj språk:",
    "language_set": "Jag pratar svenska från och med nu.",
    "unknown_command": "Det kommandot känner jag inte till.",
    "use_buttons": "Välj ett av alternativen nedan.",
}
