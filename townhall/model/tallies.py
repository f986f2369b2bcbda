"""A replica that holds tallies, not ballots: how it learns of the ballots others applied.

A replica fed every event applies each ballot (ballots.apply_ballot). A replica that is not fed
the ballots (the Redis engine's workers: a ballot is stored and logged in Redis, and never sent
to every worker) still applies every other event in log order, and is told instead:

- that the log moved past ballots it will not apply (`advance`), so the next event it applies
  follows on, and
- each poll's tally whole, as the store counted it at a point of the log (`take`): absolute
  counts, never a change to add, so a tally missed or taken twice does no harm.

Both are pure: the caller reads the store, the model only checks that what it is given follows
on from what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from townhall.model.state import Ballot, PollStatus

if TYPE_CHECKING:
    from townhall.model.forum import Forum


@dataclass(frozen=True, slots=True)
class PollTally:
    """One poll's tally as the store counted it."""

    counts: Mapping[str, int]  # option id -> its count (a ranking's: Borda points)
    voters: int  # how many have a ballot in the poll
    version: int  # the seq of the poll's last ballot (0: none)
    # For a poll kept by group: group -> option id -> count, and group -> its voters.
    group_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    group_voters: Mapping[str, int] = field(default_factory=dict)


def advance(forum: Forum, seq: int) -> None:
    """The log holds ballots up to `seq` that this replica will not apply: the next event it
    applies is `seq + 1`. Every event up to `seq` that is not a ballot must be applied already;
    the caller knows it (nothing else was published since the last one applied)."""
    if seq > forum.seq:
        forum.seq = seq


def passed_ballot(forum: Forum, poll_id: str) -> None:
    """A ballot in the log this replica reads past without applying it: its poll has a voter
    at least, until its tally is taken (what a forum purge, next in the log, may ask)."""
    poll = forum.polls.get(poll_id)
    if poll is not None and poll.voters == 0:
        poll.voters = 1


def take(forum: Forum, as_of: int, tallies: Mapping[str, PollTally]) -> list[str]:
    """Each poll's tally as counted at `as_of`, a point of the log this replica has reached but
    for ballots; returns the polls whose tally changed. A tally older than what the replica
    holds (`as_of` behind it) is not taken."""
    if as_of < forum.seq:
        return []
    advance(forum, as_of)
    changed = []
    for poll_id, tally in tallies.items():
        poll = forum.polls.get(poll_id)
        if poll is None:
            continue  # not in this replica's agenda yet: its item_added comes first
        counts = {o.id: int(tally.counts.get(o.id, 0)) for o in poll.options}
        groups = (
            {
                group: {o.id: int(c.get(o.id, 0)) for o in poll.options}
                for group, c in tally.group_counts.items()
            }
            if poll.item.by_group
            else {}
        )
        group_voters = dict(tally.group_voters) if poll.item.by_group else {}
        same = (
            counts == poll.counts
            and tally.voters == poll.voters
            and groups == poll.group_counts
            and group_voters == poll.group_voters
        )
        last = poll.openings[-1] if poll.openings else None
        if poll.status is PollStatus.CLOSED and last is not None:
            # Voting is over in the store too (the close is applied here, so it is stored):
            # these are the final counts, which the close recorded from this replica's last.
            same = same and last.counts == counts and last.voters == tally.voters
            last.counts, last.voters = dict(counts), tally.voters
        if same:
            continue
        poll.counts, poll.voters = counts, tally.voters
        poll.group_counts, poll.group_voters = groups, group_voters
        poll.version = max(poll.version, tally.version)
        changed.append(poll_id)
    return changed


def note_voters(forum: Forum, participants: Iterable[str]) -> None:
    """These participants have cast a ballot: a voter of a ballot code has used the code."""
    for participant in participants:
        forum.codes.note_act(participant)


def load_ballots(forum: Forum, poll_id: str, ballots: Mapping[str, Ballot]) -> None:
    """A closed poll's ballots, read from the store for a decision that needs each one (a
    comparison of two polls): a closed poll's ballots no longer change."""
    poll = forum.polls[poll_id]
    if poll.status is not PollStatus.CLOSED:
        raise ValueError(f"poll {poll_id!r} is {poll.status.value}: its ballots still change")
    poll.ballots = dict(ballots)
