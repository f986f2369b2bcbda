"""A programme's board items as written in its TOML text: Q&A, ideas and word items' fields,
read with their types and bounds checked."""

from __future__ import annotations

from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.agenda import ItemKind, NameMode
from townhall.model.limits import MAX_OPTIONS, QUESTION
from townhall.programme_fields import FieldReader

_BOARD_KEYS = {"id", "kind", "title", "notes", "minutes", "moderated", "names", "max_length"}
BOARD_KEYS = {
    ItemKind.QNA: _BOARD_KEYS,
    ItemKind.IDEAS: _BOARD_KEYS | {"promote_to", "promote_count"},
    # Word answers are anonymous: a name beside each would turn the cloud into a roll call.
    ItemKind.WORDS: (_BOARD_KEYS - {"names"}) | {"question", "answers_per_person", "hidden_words"},
}
MAX_HIDDEN_WORDS = 200
HIDDEN_WORD_LENGTH = 40


def read_board(
    reader: FieldReader, raw: dict[str, Any], where: str, kind: ItemKind
) -> dict[str, Any]:
    """A board item's settings, as `Item` takes them; raises ProgrammeError."""
    moderated = raw.get("moderated", False)
    if not isinstance(moderated, bool):
        raise reader.fail(f"{where}.moderated", "must be true or false")
    if kind is ItemKind.WORDS:
        return {
            "moderated": moderated,
            "names": NameMode.ANONYMOUS,
            "max_length": reader.integer(raw, "max_length", where, default=40, low=10, high=100),
            "question": reader.string(raw, "question", where, default="", max_length=QUESTION),
            "answers_per_person": reader.integer(
                raw, "answers_per_person", where, default=3, low=1, high=10
            ),
            "hidden_words": _hidden_words(reader, raw, where),
        }
    try:
        names = NameMode(reader.string(raw, "names", where, default="optional"))
    except ValueError:
        modes = ", ".join(m.value for m in NameMode)
        raise reader.fail(f"{where}.names", f"must be one of {modes}") from None
    settings: dict[str, Any] = {
        "moderated": moderated,
        "names": names,
        "max_length": reader.integer(raw, "max_length", where, default=280, low=20, high=2000),
    }
    if kind is ItemKind.IDEAS:
        settings["promote_to"] = (
            reader.string(raw, "promote_to", where, default="", pattern=ID_PATTERN)
            if "promote_to" in raw
            else ""
        )
        settings["promote_count"] = reader.integer(
            raw, "promote_count", where, default=3, low=2, high=MAX_OPTIONS
        )
    return settings


def _hidden_words(reader: FieldReader, raw: dict[str, Any], where: str) -> tuple[str, ...]:
    listed = raw.get("hidden_words", [])
    field = f"{where}.hidden_words"
    if not isinstance(listed, list) or len(listed) > MAX_HIDDEN_WORDS:
        raise reader.fail(field, f"must be a list of at most {MAX_HIDDEN_WORDS} words")
    words = []
    for word in listed:
        if not isinstance(word, str) or not word.strip() or len(word) > HIDDEN_WORD_LENGTH:
            raise reader.fail(
                field, f"each word is a string of 1 to {HIDDEN_WORD_LENGTH} characters"
            )
        words.append(word.strip())
    return tuple(words)
