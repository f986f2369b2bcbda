"""The selection committee as a programme writes it: its members (ids, or tables with an id and a
display name) and the meaning of each score (`score_labels`)."""

from __future__ import annotations

from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.scorer import Rule
from townhall.programme_fields import FieldReader

MAX_MEMBERS = 50
MEMBER_NAME = 60  # a member's display name, in characters
SCORE_LABEL = 40  # a score's label, in characters

Members = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]


def read_committee(reader: FieldReader, raw: dict[str, Any], where: str) -> Members:
    """The members' ids in order, and the display names of those given one.

    `committee = ["kim", "lee"]` and `committee = [{ id = "kim", name = "김지현" }, "lee"]` are
    both valid: a plain id is a member shown by their id.
    """
    field = f"{where}.committee"
    listed = raw.get("committee", [])
    if not isinstance(listed, list) or len(listed) > MAX_MEMBERS:
        raise reader.fail(field, f"a list of up to {MAX_MEMBERS} members")
    ids: list[str] = []
    names: list[tuple[str, str]] = []
    for i, entry in enumerate(listed):
        at = f"{field}[{i}]"
        if isinstance(entry, dict):
            reader.no_unknown_keys(entry, {"id", "name"}, at)
            member = reader.string(entry, "id", at, pattern=ID_PATTERN)
            names.append((member, reader.string(entry, "name", at, max_length=MEMBER_NAME).strip()))
        elif isinstance(entry, str) and ID_PATTERN.match(entry):
            member = entry
        else:
            raise reader.fail(at, "a member id (a-z, 0-9, _ and -) or a table { id = …, name = … }")
        if member in ids:
            raise reader.fail(at, f"{member!r} is listed twice")
        ids.append(member)
    return tuple(ids), tuple(names)


def read_score_labels(
    reader: FieldReader, raw: dict[str, Any], where: str, rule: Rule
) -> tuple[str, ...]:
    """One label per score from the lowest to the highest, or none (the pages' own wording)."""
    if "score_labels" not in raw:
        return ()
    labels = raw["score_labels"]
    count = rule.highest - rule.lowest + 1
    if (
        not isinstance(labels, list)
        or len(labels) != count
        or not all(isinstance(s, str) and 0 < len(s.strip()) <= SCORE_LABEL for s in labels)
    ):
        raise reader.fail(
            f"{where}.score_labels",
            f"{count} labels, one for each score from {rule.lowest} to {rule.highest},"
            f" each 1 to {SCORE_LABEL} characters",
        )
    return tuple(s.strip() for s in labels)
