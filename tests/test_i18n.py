"""The Korean and English catalogues cover every string the pages and scripts show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from townhall import i18n
from townhall.script_strings import CONSOLE_STRINGS, SCRIPT_STRINGS

STATIC_JS = Path(__file__).resolve().parent.parent / "static" / "js"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_catalogue_entry_is_translated(language: str) -> None:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "townhall.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    assert not [m.id for m in catalog if m.id and m.fuzzy]


def test_script_strings_are_in_the_catalogue() -> None:
    korean = i18n.CATALOGUES["ko"]
    for key, text in SCRIPT_STRINGS.items():
        assert korean.gettext(text) != text, f"{key}: {text!r} has no Korean translation"


def test_every_string_a_script_draws_is_in_its_catalogue() -> None:
    """A key a script asks `t()` for and the catalogue lacks shows the key itself on the page."""
    for path in STATIC_JS.glob("*.js"):
        strings = CONSOLE_STRINGS if path.name == "console.js" else SCRIPT_STRINGS
        asked = set(re.findall(r'\bt\("([a-z0-9_]+)"', path.read_text()))
        missing = sorted(asked - strings.keys())
        assert missing == [], f"{path.name} asks for strings no catalogue has: {missing}"


@pytest.mark.parametrize(
    ("chosen", "accept", "default", "expected"),
    [
        ("en", "ko-KR", "ko", "en"),
        (None, "ko-KR,ko;q=0.9,en;q=0.8", "en", "ko"),
        (None, "en-GB,en;q=0.9", "ko", "en"),
        (None, "fr-FR,de;q=0.5", "ko", "ko"),
        (None, "", "en", "en"),
        ("xx", "garbage;;,", "ko", "ko"),
    ],
)
def test_language_choice(chosen: str | None, accept: str, default: str, expected: str) -> None:
    assert i18n.choose_language(chosen, accept, default) == expected


def test_accept_language_weights_and_garbage() -> None:
    assert i18n.preferred_languages("en;q=0.3, ko;q=0.9, fr") == ["fr", "ko", "en"]
    assert i18n.preferred_languages("ko-KR;q=abc, ;;, 12, en_US") == ["en"]
    assert i18n.preferred_languages("*, en;q=0") == []
