"""How a record's ballot is checked and counted for its poll's `choice`, as docs/record.md says:
written from the spec on its own, not with the server's model, so the two can disagree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from townhall.record.values import _int


def ballot_problem(item: dict[str, Any], options: list[str], choices: list[str]) -> str | None:
    """What is wrong with a ballot's choices (known to be the poll's options), or None."""
    mode = item.get("choice")
    if mode == "ranking":
        if sorted(choices) != sorted(options):
            return f"choices: a ranking lists each of {options} once, found {choices}"
        return None
    limit = 1 if mode in ("single", "scale") else _int(item.get("max_choices"), "max_choices")
    if choices != [o for o in options if o in choices] or not 1 <= len(choices) <= limit:
        return f"choices: expected 1 to {limit} of {options} in that order, found {choices}"
    return None


def counted(
    item: dict[str, Any], options: list[str], ballots: Iterable[tuple[str, ...]]
) -> dict[str, int]:
    """Each option's count: in a ranking its Borda points (of n options, a ballot's first gets
    n - 1, its last 0), else the number of ballots that include it."""
    found = dict.fromkeys(options, 0)
    for ballot in ballots:
        for place, option in enumerate(ballot):
            found[option] += len(ballot) - 1 - place if item.get("choice") == "ranking" else 1
    return found
