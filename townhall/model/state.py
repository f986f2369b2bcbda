"""The records a forum's state is made of: each poll with its ballots and tally, and the timer.

`Forum` holds them and is the only one to change them, by applying events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from townhall.model import poll_kinds
from townhall.model.agenda import ChoiceMode, Item, PollOption

# The fewest voters a ballot-code group shows its own counts with, on phones and the projector.
MIN_GROUP = 3


class PollStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True)
class Ballot:
    choices: tuple[str, ...]
    version: int
    ops: tuple[str, ...]
    group: str = ""  # the voter's ballot-code group; empty without a code


@dataclass(slots=True)
class Opening:
    """One spell of voting: when it opened and, once it has, when it closed and the tally then."""

    opened_ms: int
    closed_ms: int | None = None
    counts: dict[str, int] | None = None
    voters: int = 0


@dataclass(slots=True)
class PollState:
    item: Item
    options: tuple[PollOption, ...] = ()  # the programme's, or promoted from an idea board
    status: PollStatus = PollStatus.PENDING
    results_visible: bool = False
    version: int = 0
    ballots: dict[str, Ballot] = field(default_factory=dict)
    # How many have a ballot: `len(ballots)` where the ballots are applied here; a replica that
    # takes its tallies whole (PollTally) holds the number without the ballots.
    voters: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    # Per ballot-code group ("" for voters without a code), each option's count, and its voters.
    group_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    group_voters: dict[str, int] = field(default_factory=dict)
    openings: list[Opening] = field(default_factory=list)
    # Its voters' ids became pseudonyms in a forum purge: a phone that voted would come back as
    # a new participant, so it is never opened again.
    purged: bool = False

    def count(self, choices: tuple[str, ...], group: str, step: int) -> None:
        """Add (step 1) or take back (step -1) one ballot's choices, each with its weight (a
        ranking's Borda points, else 1), in all and, for a poll kept by group, in its group: the
        vote's path does no more for a poll that is not."""
        # Only a ranking weighs its choices; a choice poll's vote builds nothing on its path.
        weighted = (
            tuple(zip(choices, poll_kinds.weights(self.item.choice, choices), strict=True))
            if self.item.choice is ChoiceMode.RANKING
            else None
        )
        counts = self.counts
        if weighted is None:
            for choice in choices:
                counts[choice] += step
        else:
            for choice, weight in weighted:
                counts[choice] += step * weight
        if not self.item.by_group:
            return
        in_group = self.group_counts.get(group)
        if in_group is None:
            in_group = self.group_counts[group] = dict.fromkeys(self.counts, 0)
        self.group_voters[group] = self.group_voters.get(group, 0) + step
        for choice, weight in weighted or tuple((choice, 1) for choice in choices):
            in_group[choice] += step * weight

    def open(self, at_ms: int) -> None:
        self.status = PollStatus.OPEN
        self.openings.append(Opening(at_ms))

    def close(self, at_ms: int) -> None:
        self.status = PollStatus.CLOSED
        last = self.openings[-1]
        last.closed_ms, last.counts, last.voters = at_ms, dict(self.counts), self.voters

    def tally(self, public: bool = False) -> dict[str, Any]:
        """The result as sent to screens: every option's count and the poll's version, and for a
        poll kept by group each group's counts. On `public` views (phones, projector) a group of
        fewer than MIN_GROUP voters would show how its few members voted, and hiding it alone
        would not do (the room's total less the other groups gives it back): so there the
        groups are shown only when every one of them has MIN_GROUP voters or more."""
        tally: dict[str, Any] = {
            "poll": self.item.id,
            "version": self.version,
            "counts": dict(self.counts),
            "voters": self.voters,
        }
        if self.item.choice is ChoiceMode.SCALE:
            tally["mean"] = poll_kinds.scale_mean(self.counts)
        if self.item.by_group:
            voters = [n for n in self.group_voters.values() if n > 0]
            if public and any(n < MIN_GROUP for n in voters):
                tally["groups_hidden"] = MIN_GROUP
            else:
                tally["groups"] = {
                    group: dict(c)
                    for group, c in sorted(self.group_counts.items())
                    if self.group_voters.get(group, 0) > 0
                }
                tally["group_voters"] = {
                    group: n for group, n in sorted(self.group_voters.items()) if n > 0
                }
        return tally


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
