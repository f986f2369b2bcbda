"""Korean and English: Babel catalogues (`townhall/locale`), chosen per request."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ko", "en")
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
LANG_COOKIE = "townhall_lang"
DEFAULT = "ko"  # the server's own pages, for a browser that asks for neither language


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
    return next(
        (lang for lang in preferred_languages(accept_language) if lang in LANGUAGES), default
    )


def preferred_languages(header: str) -> list[str]:
    """Primary language tags from an Accept-Language header, most preferred first.

    Malformed parts are skipped: the header comes from anyone's browser.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().split("-", 1)[0].split("_", 1)[0].lower()
        if not primary.isalpha() or len(primary) > 8:
            continue
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if quality > 0:
            weighted.append((-quality, position, primary))
    return [primary for _, _, primary in sorted(weighted)]
