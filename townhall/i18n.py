"""Korean and English: Babel catalogues (`townhall/locale`), chosen per request."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ko", "en")
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
LANG_COOKIE = "townhall_lang"


def _load(language: str) -> Translations:
    # Compiled from the .po source at start, so the repository holds no build products.
    with (LOCALE_DIR / language / "LC_MESSAGES" / "townhall.po").open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="townhall")


CATALOGUES: dict[str, Translations] = {language: _load(language) for language in LANGUAGES}


def choose_language(chosen: str | None, accept_language: str, default: str) -> str:
    """The switch's choice if any, else the browser's preference, else the programme's."""
    if chosen in LANGUAGES:
        return chosen
    preferred = []
    for part in accept_language.split(","):
        tag = part.split(";", 1)[0].strip()
        if tag and tag != "*":
            preferred.append(tag.replace("_", "-"))
    found = negotiate_locale(preferred, list(LANGUAGES), sep="-") if preferred else None
    if found is None and preferred:
        # "ko-KR" against "ko": compare the primary language tag.
        primaries = [Locale.parse(p, sep="-").language for p in preferred if _parses(p)]
        found = next((p for p in primaries if p in LANGUAGES), None)
    return found or default


def _parses(tag: str) -> bool:
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, TypeError):
        return False
    return True
