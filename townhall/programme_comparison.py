"""A poll's comparison with an earlier one: its `compare_to` and `shift_min_cell` fields, and
the check that what each names can be compared (model/comparison.py holds the rule)."""

from __future__ import annotations

from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.agenda import Item
from townhall.model.comparison import comparison_problem
from townhall.model.shift import DEFAULT_MIN_CELL
from townhall.programme_fields import FieldReader

COMPARISON_KEYS = ("compare_to", "shift_min_cell")


def read_comparison(reader: FieldReader, raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A poll's `compare_to` (the earlier poll, or "") and `shift_min_cell`."""
    compare_to = reader.string(raw, "compare_to", where, default="", pattern=ID_PATTERN)
    if "shift_min_cell" in raw and not compare_to:
        raise reader.fail(f"{where}.shift_min_cell", "only for a poll with compare_to")
    least = reader.integer(raw, "shift_min_cell", where, default=DEFAULT_MIN_CELL, low=1, high=100)
    return {"compare_to": compare_to, "shift_min_cell": least}


def check_comparisons(reader: FieldReader, items: tuple[Item, ...]) -> None:
    """Each `compare_to` names an earlier single-choice poll, and its own poll is one too."""
    wrong = comparison_problem(items)
    if wrong is not None:
        raise reader.fail(f"items[{wrong[0]}].compare_to", wrong[1])
