"""The records a forum's state is made of: each poll with its ballots and tally, and the timer.

`Forum` holds them and is the only one to change them, by applying events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from townhall.model.agenda import Item, PollOption


class PollStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True)
class Ballot:
    choices: tuple[str, ...]
    version: int
    ops: tuple[str, ...]


@dataclass(slots=True)
class PollState:
    item: Item
    options: tuple[PollOption, ...] = ()  # the programme's, or promoted from an idea board
    status: PollStatus = PollStatus.PENDING
    results_visible: bool = False
    version: int = 0
    ballots: dict[str, Ballot] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def tally(self) -> dict[str, Any]:
        """The result as sent to screens: every option's count and the poll's version."""
        return {
            "poll": self.item.id,
            "version": self.version,
            "counts": dict(self.counts),
            "voters": len(self.ballots),
        }


@dataclass(slots=True)
class TimerState:
    duration_ms: int = 0
    remaining_ms: int = 0
    running: bool = False
    started_at_ms: int = 0

    def remaining_at(self, now_ms: int) -> int:
        if not self.running:
            return self.remaining_ms
        return max(0, self.remaining_ms - (now_ms - self.started_at_ms))

    def view(self) -> dict[str, Any]:
        return {
            "duration_ms": self.duration_ms,
            "remaining_ms": self.remaining_ms,
            "running": self.running,
            "started_at_ms": self.started_at_ms,
        }
