"""A programme's `[eligibility]`: who may take part, and the ballot-code groups there are
(docs/ballot-codes.md)."""

from __future__ import annotations

from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.eligibility import Eligibility, EligibilityMode
from townhall.programme_fields import FieldReader

KEYS = {"mode", "groups", "labels", "self_agreement", "codes"}


def read_eligibility(
    reader: FieldReader, raw: Any, forum_id: str
) -> tuple[Eligibility, tuple[str, ...]]:
    """Who may take part (docs/ballot-codes.md), and the ballot-code groups there are."""
    where = "eligibility"
    if not isinstance(raw, dict):
        raise reader.fail(where, "must be a table")
    reader.no_unknown_keys(raw, KEYS, where)
    try:
        mode = EligibilityMode(reader.string(raw, "mode", where, default="open"))
    except ValueError:
        raise reader.fail(f"{where}.mode", "must be open or codes") from None
    groups = raw.get("groups", [])
    if (
        not isinstance(groups, list)
        or len(groups) > 20
        or not all(isinstance(g, str) and ID_PATTERN.match(g) for g in groups)
        or len(set(groups)) != len(groups)
    ):
        raise reader.fail(
            f"{where}.groups", "a list of up to 20 unique group names (a-z, 0-9, _ and -)"
        )
    labels = raw.get("labels", {})
    if not isinstance(labels, dict) or not all(
        isinstance(label, str) and 0 < len(label.strip()) <= 40 for label in labels.values()
    ):
        raise reader.fail(
            f"{where}.labels", 'a table of each group\'s name on screen: jury = "배심원단"'
        )
    unnamed = sorted(set(labels) - set(groups))
    if unnamed:
        raise reader.fail(f"{where}.labels", f"{unnamed[0]!r} is not one of the groups")
    own = raw.get("self_agreement", False)
    if not isinstance(own, bool):
        raise reader.fail(f"{where}.self_agreement", "must be true or false")
    book = reader.string(raw, "codes", where, default=f"{forum_id}.codes.jsonl", max_length=300)
    if not book.endswith(".jsonl") or "/" in book or "\\" in book:
        raise reader.fail(
            f"{where}.codes", "a file name ending .jsonl, beside the programme (no folders)"
        )
    named = tuple((g, labels[g].strip()) for g in groups if g in labels)
    return Eligibility(mode, own, book, tuple(groups), named), tuple(groups)
