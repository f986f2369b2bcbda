"""The opinion shift's part of the recount (docs/record.md, "The opinion shift"): a `shift` line's
cells against those recomputed from the ballots so far, with the model's own count."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from townhall.model.shift import shift_cells


class Ballots(Protocol):
    """A poll as the replay holds it: its status, and each pseudonym's choices and group."""

    @property
    def status(self) -> str: ...
    @property
    def ballots(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def groups(self) -> Mapping[str, str]: ...


def shift_problems(pre: Ballots, final: Ballots, event: dict[str, Any]) -> list[str]:
    """What disagrees between a `shift` line and the record so far, one message each."""
    visible, cells = event["visible"], event["cells"]
    if not isinstance(visible, bool):
        return [f"visible: expected true or false, found {_show(visible)}"]
    if not visible:
        return [] if cells == [] else [f"cells: a hidden shift carries none, found {_show(cells)}"]
    found = [
        f"{which} poll {event[key]!r} is {poll.status}: a shift is shown once both are closed"
        for which, key, poll in (("the earlier", "compare_to", pre), ("the later", "poll", final))
        if poll.status != "closed"
    ]
    expected = [list(cell) for cell in shift_cells(_choices(pre), _choices(final))]
    if cells != expected:
        found.append(f"cells: expected {_show(expected)} from the ballots, found {_show(cells)}")
    return found


def _choices(poll: Ballots) -> dict[str, tuple[str, str]]:
    """Each voter's one choice and group; a poll compared is single choice (the programme's
    rule), and a ballot that is not was reported where it was cast."""
    return {
        person: (choices[0], poll.groups.get(person, ""))
        for person, choices in poll.ballots.items()
        if len(choices) == 1
    }


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
