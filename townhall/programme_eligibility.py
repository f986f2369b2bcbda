"""A programme's `[eligibility]`: who may take part, and the ballot-code groups there are
(docs/ballot-codes.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.eligibility import Eligibility, EligibilityMode
from townhall.programme_fields import FieldReader, ProgrammeError

KEYS = {"mode", "groups", "labels", "self_agreement", "codes", "draw"}


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
    book = _beside(reader, raw, "codes", f"{forum_id}.codes.jsonl")
    draw = _beside(reader, raw, "draw", f"{forum_id}.draw.json")
    named = tuple((g, labels[g].strip()) for g in groups if g in labels)
    return Eligibility(mode, own, book, tuple(groups), named, draw), tuple(groups)


def _beside(reader: FieldReader, raw: dict[str, Any], key: str, default: str) -> str:
    """A file's name beside the programme, ending as `default` does (.jsonl, .json)."""
    where, suffix = "eligibility", default[default.rindex(".") :]
    name = reader.string(raw, key, where, default=default, max_length=300)
    if not name.endswith(suffix) or "/" in name or "\\" in name:
        raise reader.fail(
            f"{where}.{key}", f"a file name ending {suffix}, beside the programme (no folders)"
        )
    return name


DRAW_FORMAT = "townhall-draw/1"  # townhall/draw/report.py, which the server does not import


def read_draw_report(path: Path) -> dict[str, Any] | None:
    """The jury draw's report beside the programme (`townhall draw --codes`), for the record, or
    None if there is none. Its numbers with a fraction (the applicants' chances) are kept as the
    decimal text the report wrote: the record holds no floating-point number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgrammeError(str(path), None, "", f"cannot read the draw's report ({exc})") from exc
    try:
        report = json.loads(text, parse_float=str)
    except ValueError as exc:
        raise ProgrammeError(str(path), None, "", f"the draw's report is not JSON: {exc}") from exc
    if not isinstance(report, dict) or report.get("format") != DRAW_FORMAT:
        raise ProgrammeError(str(path), None, "", f"not a draw report ({DRAW_FORMAT})")
    wanted = {"seats": int, "seed": str, "commitment": str, "quotas": list, "panel": list}
    for key, kind in wanted.items():
        if not isinstance(report.get(key), kind):
            raise ProgrammeError(str(path), None, key, f"the draw's report needs {key}")
    return report
