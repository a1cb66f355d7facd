"""The message catalogs: gettext `.po` files per language, compiled to `.mo` by `make install`.

Message ids are keys ("welcome", "btn_yes"); `en/LC_MESSAGES/messages.po` holds the English
texts and is the source the template is extracted from (`make extract`, via `english` below).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.pofile import read_po


def english(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str | tuple[str, str], list[str]]]:
    """Babel extraction method: every message of the English catalog, its English text given to
    the other languages' translators as a comment."""
    for message in read_po(fileobj):
        key, english = message.id, message.string
        if isinstance(key, str) and key and isinstance(english, str):
            yield message.lineno or 0, "gettext", key, english.splitlines()
        elif isinstance(key, tuple) and isinstance(english, tuple):
            singular, plural = english
            comments = [*singular.splitlines(), "|", *plural.splitlines()]
            yield message.lineno or 0, "ngettext", (key[0], key[1]), comments
