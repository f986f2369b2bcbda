"""The committee's scores as the sheet `townhall score --committee` reads: one row per member
and candidate, a column per rubric question (`committee.csv`, online and in an archive)."""

from __future__ import annotations

from typing import Any


def committee_rows(table: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The sheet's columns and rows, from a selection export's `table`."""
    questions = len(table["rule"]["rubric"])
    columns = ["member", "candidate", *(f"q{q}" for q in range(1, questions + 1))]
    rows = [
        {"member": member, "candidate": candidate}
        | {f"q{q}": given.get(str(q), "") for q in range(1, questions + 1)}
        for member, by_candidate in table["committee_scores"].items()
        for candidate, given in by_candidate.items()
    ]
    return columns, rows
