"""The ack an accepted vote, post, upvote, score or host command gets: each shape written once.

The Redis engine builds them from what its scripts report; the model builds them from its state
(the `*_from` functions), which is what the memory engine sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from townhall.model.commands import Actor, Command, HideAuthor, PurgeHidden, SubmitPost, Upvote
from townhall.model.events import Event, ItemAdded, OptionAdded, PostsPurged

if TYPE_CHECKING:
    from townhall.model.forum import Forum


def vote_ack(poll: str, choices: list[str], version: int, duplicate: bool) -> dict[str, Any]:
    """A ballot as stored and the version that includes it."""
    return {
        "ok": True,
        "poll": poll,
        "choices": choices,
        "version": version,
        "duplicate": duplicate,
    }


def post_ack(post: int, state: str, duplicate: bool) -> dict[str, Any]:
    """A post as it stands now."""
    return {"ok": True, "post": post, "state": state, "duplicate": duplicate}


def upvote_ack(post: int, state: str, up: bool, upvotes: int, duplicate: bool) -> dict[str, Any]:
    """The upvoted post as it stands now, whether this participant upvotes it, and its count."""
    return {**post_ack(post, state, duplicate), "up": up, "upvotes": upvotes}


def score_ack(
    candidate: str, scores: list[int | None], seq: int, duplicate: bool
) -> dict[str, Any]:
    """A committee member's scores of one candidate as stored, None where not scored."""
    return {
        "ok": True,
        "candidate": candidate,
        "scores": scores,
        "seq": seq,
        "duplicate": duplicate,
    }


def vote_ack_from(forum: Forum, actor: Actor, poll_id: str, duplicate: bool) -> dict[str, Any]:
    ballot = forum.polls[poll_id].ballots[actor.id]
    return vote_ack(poll_id, list(ballot.choices), ballot.version, duplicate)


def post_ack_from(
    forum: Forum, actor: Actor, command: SubmitPost | Upvote, duplicate: bool
) -> dict[str, Any]:
    if isinstance(command, SubmitPost):
        post_id = forum.boards.boards[command.board].seen(actor.id, command.op) or 0
    else:
        post_id = command.post
    post = forum.boards.posts[post_id]
    if isinstance(command, SubmitPost):
        return post_ack(post_id, post.state.value, duplicate)
    up = actor.id in post.upvoters
    return upvote_ack(post_id, post.state.value, up, len(post.upvoters), duplicate)


def score_ack_from(forum: Forum, actor: Actor, candidate: str, duplicate: bool) -> dict[str, Any]:
    committee = forum.require_committee()
    questions = len(committee.selection.rule.rubric)
    stored = committee.scores.get(actor.id, {}).get(candidate, {})
    return score_ack(candidate, [stored.get(q) for q in range(questions)], forum.seq, duplicate)


def host_ack(seq: int, command: Command, events: Sequence[Event]) -> dict[str, Any]:
    """The ack for a host command; a bulk hide or a purge says how many posts it took, and an
    added item or option its new id."""
    ack: dict[str, Any] = {"ok": True, "seq": seq}
    for event in events:
        if isinstance(event, ItemAdded):
            ack["item"] = event.item
        elif isinstance(event, OptionAdded):
            ack["option"] = event.option
    if isinstance(command, HideAuthor):
        ack["hidden"] = len(events)
    if isinstance(command, PurgeHidden):
        ack["purged"] = sum(len(e.posts) for e in events if isinstance(e, PostsPurged))
    return ack


def redeem_ack(forum: Forum, phone: Actor, duplicate: bool) -> dict[str, Any]:
    """The voter a phone acts as now that it holds a ballot code, and the voter's group."""
    acting = forum.actor_for(phone)
    return {"ok": True, "voter": acting.id, "group": acting.group, "duplicate": duplicate}
