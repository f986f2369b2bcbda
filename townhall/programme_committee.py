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
WHAT = (
    f"a list of up to {MAX_MEMBERS} unique member ids (a-z, 0-9, _ and -),"
    " each alone or as { id = …, name = … }"
)


def read_committee(reader: FieldReader, raw: dict[str, Any], where: str) -> Members:
    """The members' ids in order, and the display names of those given one.

    `committee = ["kim", "lee"]` and `committee = [{ id = "kim", name = "김지현" }, "lee"]` are
    both valid: a plain id is a member shown by their id. An error names the member by number,
    on the line of `committee`.
    """
    field = f"{where}.committee"
    listed = raw.get("committee", [])
    if not isinstance(listed, list) or len(listed) > MAX_MEMBERS:
        raise reader.fail(field, WHAT)
    ids: list[str] = []
    names: list[tuple[str, str]] = []
    for n, entry in enumerate(listed, start=1):
        member, name = _member(entry)
        if member is None or not ID_PATTERN.match(member):
            raise reader.fail(field, f"member {n}: {WHAT}")
        if member in ids:
            raise reader.fail(field, f"member {n}: {member!r} is listed twice; {WHAT}")
        if name is not None:
            if not 0 < len(name.strip()) <= MEMBER_NAME:
                raise reader.fail(field, f"member {n}: a name of 1 to {MEMBER_NAME} characters")
            names.append((member, name.strip()))
        ids.append(member)
    return tuple(ids), tuple(names)


def _member(entry: Any) -> tuple[str | None, str | None]:
    """A committee entry's id and name, or None for what is not there or not a string; a table
    with any other key is no member."""
    if isinstance(entry, str):
        return entry, None
    if not isinstance(entry, dict) or set(entry) - {"id", "name"} or "name" not in entry:
        return None, None
    member, name = entry.get("id"), entry["name"]
    if not isinstance(member, str) or not isinstance(name, str):
        return None, None
    return member, name


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
