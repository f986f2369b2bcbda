"""A replica that takes tallies whole instead of applying ballots (model/tallies.py): fed every
event but the ballots, and each poll's tally now and then, it shows what a replica fed every
ballot shows."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.jury_room import jury_room
from tests.test_model import HOST, MULTI, SINGLE, make_forum
from townhall.model import tallies
from townhall.model.commands import Actor, ClosePoll, OpenPoll, RedeemCode, Role, Vote
from townhall.model.events import BallotCast, Event
from townhall.model.forum import Forum
from townhall.model.state import PollStatus
from townhall.model.tallies import PollTally


def tally_of(forum: Forum, poll_id: str) -> PollTally:
    """What the store would report: the poll's counts as the ballots make them."""
    poll = forum.polls[poll_id]
    last = max((b.version for b in poll.ballots.values()), default=0)
    return PollTally(
        dict(poll.counts),
        len(poll.ballots),
        last,
        {g: dict(c) for g, c in poll.group_counts.items() if poll.group_voters.get(g, 0) > 0},
        {g: n for g, n in poll.group_voters.items() if n > 0},
    )


def follow(full: Forum, replica: Forum, events: list[Event], tick: int) -> None:
    """Apply to `full` every event; to `replica` all but the ballots, and at every `tick`-th
    seq the tallies `full` holds then, as a worker's tick would."""
    for event in events:
        full.apply(event)
        if not isinstance(event, BallotCast):
            tallies.advance(replica, full.seq - 1)
            replica.apply(event)
        if full.seq % tick == 0:
            read = {p: tally_of(full, p) for p in full.polls}
            tallies.take(replica, full.seq, read)


def shown(forum: Forum) -> object:
    return [forum.state_view(role) for role in Role], forum.poll_results()


@pytest.mark.parametrize("tick", [1, 3, 50])
def test_a_replica_fed_tallies_shows_what_one_fed_ballots_shows(tick: int) -> None:
    full, replica, rng = make_forum(), make_forum(), random.Random(tick)
    events: list[Event] = []

    def run(actor: Actor, command: object) -> None:
        decided = full.decide(actor, command, 0)  # type: ignore[arg-type]
        events.extend(decided)
        follow(full, replica, decided, tick)

    for poll in (SINGLE, MULTI):
        run(HOST, OpenPoll(poll))
    for n in range(40):
        voter = Actor(Role.PARTICIPANT, f"p{rng.randrange(12)}")
        if rng.random() < 0.7:
            run(voter, Vote(SINGLE, (rng.choice("abc"),), f"s{n}"))
        else:
            run(voter, Vote(MULTI, tuple(rng.sample(["x", "y", "z"], 2)), f"m{n}"))
    run(HOST, ClosePoll(SINGLE))
    # The tick after the close: the closed poll's final counts, as the close recorded them.
    tallies.take(replica, full.seq, {p: tally_of(full, p) for p in full.polls})
    assert replica.seq == full.seq
    assert replica.polls[SINGLE].status is PollStatus.CLOSED
    assert shown(replica) == shown(full)
    assert replica.polls[SINGLE].openings[-1].counts == full.polls[SINGLE].openings[-1].counts


def test_a_poll_kept_by_group_is_taken_with_its_groups(tmp_path: Path) -> None:
    programme, codes = jury_room(tmp_path)
    full, replica = Forum(programme), Forum(programme)
    decided = full.decide(HOST, OpenPoll("pre"), 0)
    events: list[Event] = list(decided)
    follow(full, replica, decided, 1)
    for n, code in enumerate([*codes.jury, *codes.audience]):
        phone = Actor(Role.PARTICIPANT, f"phone{n}")
        decided = full.decide(phone, RedeemCode(code), 0)
        follow(full, replica, decided, 1)
        voter = full.actor_for(phone)
        decided = full.decide(voter, Vote("pre", ("yes" if n % 2 else "no",), f"o{n}"), 0)
        events.extend(decided)
        follow(full, replica, decided, 100)
    tallies.take(replica, full.seq, {"pre": tally_of(full, "pre")})
    assert replica.polls["pre"].tally() == full.polls["pre"].tally()
    assert replica.polls["pre"].tally(public=True) == full.polls["pre"].tally(public=True)


def test_an_older_tally_is_not_taken_and_an_unchanged_one_reports_nothing() -> None:
    full, replica = make_forum(), make_forum()
    follow(full, replica, full.decide(HOST, OpenPoll(SINGLE), 0), 1)
    vote = full.decide(Actor(Role.PARTICIPANT, "p1"), Vote(SINGLE, ("a",), "o"), 0)
    follow(full, replica, vote, 1)
    assert replica.polls[SINGLE].counts["a"] == 1
    read = {SINGLE: tally_of(full, SINGLE)}
    assert tallies.take(replica, full.seq, read) == [], "nothing changed"
    stale = {SINGLE: PollTally({"a": 0}, 0, 0)}
    assert tallies.take(replica, full.seq - 1, stale) == [], "behind the replica: not taken"
    assert replica.polls[SINGLE].counts["a"] == 1


def test_ballots_are_loaded_only_for_a_closed_poll() -> None:
    full, replica = make_forum(), make_forum()
    follow(full, replica, full.decide(HOST, OpenPoll(SINGLE), 0), 1)
    with pytest.raises(ValueError, match="still change"):
        tallies.load_ballots(replica, SINGLE, {})
