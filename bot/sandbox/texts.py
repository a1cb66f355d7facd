"""Every text of the sandbox tools (the agents' help and command answers, their command menu, the
test patients' labels, the SMS the emulator "sends", and the notes on injected faults), read from
the gettext catalogs in `dialogs/locale`, where their keys start with `sandbox_`."""

from __future__ import annotations

from dialogs.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations

PREFIX = "sandbox_"
"""What the sandbox's keys start with in the catalogs, so they never collide with the dialog's."""


def say(language: str, key: str, **values: object) -> str:
    """One sandbox text in `language` (English when it is not one of ours). A key the catalog
    lacks is a bug, raised as KeyError rather than shown to the agent as the bare key."""
    catalog = translations(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    text = catalog.gettext(PREFIX + key)
    if text == PREFIX + key:
        raise KeyError(key)
    return text.format(**values)
