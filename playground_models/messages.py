"""The message catalogues: every text the pages show, one JSON file per language in `locales/`.

The catalogues are the single source of labels and sentences: the parameter table's labels and
help, the templates, the page code and the server's layer notes all refer to keys here. English
is complete; another language may lack a key, which then shows in English.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Self

LANGS = ("en", "zh")
LOCALES = Path(__file__).with_name("locales")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, key → text. Unknown languages raise ValueError."""
    if lang not in LANGS:
        raise ValueError(f"lang: must be one of {', '.join(LANGS)}, got {lang!r}")
    with (LOCALES / f"{lang}.json").open(encoding="utf-8") as f:
        return json.load(f)


def message(key: str, lang: str = "en", /, **values: Any) -> str:
    """One text, with `{name}` placeholders filled; falls back to English, then to the key,
    so a missing translation shows up as English rather than as an error on the page."""
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text


class Said(str):
    """A sentence in English that knows its catalogue key and values, so that whoever shows it
    can say it in another language (`in_lang`). It is a `str`: code that only logs or compares
    it needs to know nothing of this."""

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, /, **values: Any) -> Self:
        text = super().__new__(cls, message(key, "en", **values))
        text.key = key
        text.values = values
        return text


def said(key: str, /, **values: Any) -> Said:
    """The English sentence of `key` with its values, ready to be said in any language."""
    return Said(key, **values)


KEY_SHOWN = 40  # characters of a link's key quoted back in a message


def shortened(text: str) -> str:
    """A link's key or value as a message shows it: one of thousands of characters is cut, so
    the message stays a line or two."""
    return text if len(text) <= KEY_SHOWN else text[:KEY_SHOWN] + "…"


def quoted(key: str) -> str:
    """`shortened`, in quotes."""
    return repr(shortened(key))


def in_lang(text: str, lang: str) -> str:
    """`text` in `lang` where it is a `Said`; any other text as it is."""
    if isinstance(text, Said) and lang in LANGS and lang != "en":
        # A value may be a sentence itself ("{field}: {error}; …"): it is said in `lang` too.
        return message(text.key, lang, **{k: in_lang(v, lang) for k, v in text.values.items()})
    return str(text)
