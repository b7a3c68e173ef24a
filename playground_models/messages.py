"""The message catalogues: every text the pages show, one JSON file per language in `locales/`.

The catalogues are the single source of labels and sentences: the parameter table's labels and
help, the templates, the page code and the server's layer notes all refer to keys here. English
is complete; another language may lack a key, which then shows in English.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("en", "zh")
LOCALES = Path(__file__).with_name("locales")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, key → text. Unknown languages raise ValueError."""
    if lang not in LANGS:
        raise ValueError(f"lang: must be one of {', '.join(LANGS)}, got {lang!r}")
    with (LOCALES / f"{lang}.json").open(encoding="utf-8") as f:
        return json.load(f)


def message(key: str, lang: str = "en", **values: Any) -> str:
    """One text, with `{name}` placeholders filled; falls back to English, then to the key,
    so a missing translation shows up as English rather than as an error on the page."""
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text
