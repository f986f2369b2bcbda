"""A poll's ballots: whether a vote may be cast, and counting it in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from townhall.model import poll_kinds, refusals
from townhall.model.agenda import ChoiceMode
from townhall.model.commands import Actor, Role, Vote
from townhall.model.events import BallotCast, Event, ForumPurged
from townhall.model.state import Ballot, PollStatus

if TYPE_CHECKING:
    from townhall.model.forum import Forum

# How many of a ballot's recent message ids are remembered, so a late resend is recognised.
# One phone has one vote in flight at a time; this covers several tabs changing votes at once.
RECENT_OPS = 16


def check_vote(forum: Forum, actor: Actor, vote: Vote) -> tuple[str, ...]:
    """The vote's choices in option order (a ranking's in the voter's order), if the vote is
    well formed for its poll.

    Reads only the programme and who holds which ballot code, never the poll's changing state,
    so any engine can run it before the atomic part (is the poll open, is this message new)
    that `decide_vote` does here.
    """
    if actor.role is not Role.PARTICIPANT or not actor.id:
        raise refusals.participants_only_vote()
    poll = forum.polls.get(vote.poll)
    if poll is None:
        raise refusals.unknown_poll(vote.poll)
    item = poll.item
    forum.codes.check_voter(actor, item.voters)
    option_ids = [o.id for o in poll.options]
    unknown = [c for c in vote.choices if c not in option_ids]
    if unknown:
        raise refusals.unknown_option(unknown[0])
    if not vote.choices or len(set(vote.choices)) != len(vote.choices):
        raise refusals.invalid_choice()
    if item.choice.fixed_options:
        poll_kinds.check_ballot(item.choice, option_ids, vote.choices)
        if item.choice is ChoiceMode.RANKING:
            return vote.choices
    limit = 1 if item.choice is ChoiceMode.SINGLE else item.max_choices
    if len(vote.choices) > limit:
        raise refusals.too_many_choices(limit)
    return tuple(c for c in option_ids if c in vote.choices)


def decide_vote(forum: Forum, actor: Actor, vote: Vote) -> list[Event]:
    choices = check_vote(forum, actor, vote)
    poll = forum.polls[vote.poll]
    ballot = poll.ballots.get(actor.id)
    if ballot is not None and vote.op in ballot.ops:
        # A resend of a message already counted: acked as it stands, even once the poll
        # has closed, so the phone never reports a counted vote as refused.
        return []
    if poll.status is not PollStatus.OPEN:
        raise refusals.poll_not_open()
    # A repeat of the same choices under a new id is still recorded, so that a late resend of
    # it can never revert a later change.
    return [BallotCast(vote.poll, actor.id, choices, vote.op, actor.group)]


def apply_ballot(forum: Forum, event: BallotCast) -> None:
    poll = forum.polls[event.poll]
    poll.version = forum.seq
    previous = poll.ballots.get(event.participant)
    if previous is not None:
        poll.count(previous.choices, previous.group, -1)
        ops = (*previous.ops[-(RECENT_OPS - 1) :], event.op)
    else:
        ops = (event.op,)
        poll.voters += 1
    poll.count(event.choices, event.group, 1)
    poll.ballots[event.participant] = Ballot(event.choices, forum.seq, ops, event.group)


def check_reopen(forum: Forum, poll_id: str) -> None:
    """Refuse to open a closed poll again where that would change what is settled."""
    if forum.committee is not None:
        forum.committee.check_reopen(poll_id)
    forum.shifts.check_reopen(poll_id)
    if forum.polls[poll_id].purged:
        raise refusals.poll_purged()


def apply_purge(forum: Forum, event: ForumPurged) -> None:
    """A forum purge: the polls voted in and the posts it lists take no more ballots or
    upvotes, and ballot codes are taken no more, since those who cast or held them are
    pseudonyms now."""
    for poll in forum.polls.values():
        poll.purged = poll.purged or poll.voters > 0
    forum.boards.mark_purged(event.posts)
    forum.codes.purged = True
