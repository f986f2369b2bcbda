"""What each role is shown of a forum: the agenda, polls and tallies, boards, one's own ballots,
and a committee member's scoring sheet. Read from the state; nothing here changes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townhall.model import selection
from townhall.model.agenda import ChoiceMode, Item, ItemKind
from townhall.model.commands import BOARD_MODERATORS, Role

if TYPE_CHECKING:
    from townhall.model.forum import Forum
    from townhall.model.state import PollState


def tally_visible_to(forum: Forum, poll_id: str, role: Role) -> bool:
    return role is Role.HOST or forum.polls[poll_id].results_visible


def state_view(forum: Forum, role: Role) -> dict[str, Any]:
    items = [
        item_view(item, forum.polls.get(item.id), with_notes=role is Role.HOST)
        for item in forum.programme.items
    ]
    polls = {
        poll_id: {
            "status": poll.status.value,
            "results_visible": poll.results_visible,
            "version": poll.version,
            # How many have voted, for every role: a hidden round shows the room its turnout.
            "voters": poll.voters,
            "tally": (
                poll.tally(public=role is not Role.HOST)
                if tally_visible_to(forum, poll_id, role)
                else None
            ),
        }
        for poll_id, poll in forum.polls.items()
    }
    view = {
        "seq": forum.seq,
        "current": forum.current,
        "items": items,
        "polls": polls,
        "timer": forum.timer.view(),
    }
    if role in (Role.HOST, Role.SCREEN):
        view["blank"] = forum.blank
    if forum.committee is not None:
        view["selection"] = selection.selection_view(forum, role)
    if any(item.compare_to for item in forum.programme.items):
        view["shift"] = forum.shifts.view(forum, role)
    if forum.codes.in_use:
        view["group_labels"] = dict(forum.programme.eligibility.labels)
    if role is Role.HOST and forum.codes.in_use:
        view["codes"] = forum.codes.host_view()
    return view


def item_view(item: Item, poll: PollState | None, *, with_notes: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind.value,
        "title": item.title,
        "minutes": item.minutes,
    }
    if with_notes:
        view["notes"] = item.notes
    if poll is not None:
        view["question"] = item.question
        view["options"] = [{"id": o.id, "label": o.label} for o in poll.options]
        view["choice"] = item.choice.value
        view["max_choices"] = 1 if item.choice is ChoiceMode.SINGLE else item.max_choices
        view["results"] = item.results.value
        view["voters"] = list(item.voters)
        view["by_group"] = item.by_group
        if item.choice is ChoiceMode.SCALE:
            view["scale_labels"] = list(item.scale_labels)
    if item.kind.is_board:
        view["moderated"] = item.moderated
        view["names"] = item.names.value
        view["max_length"] = item.max_length
        view["promote_to"] = item.promote_to
        view["promote_count"] = item.promote_count
    if item.kind is ItemKind.WORDS:
        view["question"] = item.question
        view["answers_per_person"] = item.answers_per_person
    return view


def board_views(forum: Forum, role: Role) -> dict[str, dict[str, Any]]:
    full = role in BOARD_MODERATORS
    return {board_id: b.view(full=full) for board_id, b in forum.boards.boards.items()}


def my_ballots(forum: Forum, participant: str) -> dict[str, dict[str, Any]]:
    mine: dict[str, dict[str, Any]] = {}
    for poll_id, poll in forum.polls.items():
        ballot = poll.ballots.get(participant)
        if ballot is not None:
            mine[poll_id] = {"choices": list(ballot.choices), "version": ballot.version}
    return mine


def committee_view(forum: Forum, member: str) -> dict[str, Any]:
    committee = forum.require_committee()
    rule = committee.selection.rule
    candidates = selection.selection_candidates(forum)
    return {
        "member": member,
        "name": committee.selection.member_names().get(member, member),
        "rubric": list(rule.rubric),
        "score_range": [rule.lowest, rule.highest],
        "score_labels": list(committee.selection.score_labels),
        "candidates": [
            {"id": c.id, "title": c.title, "agreements": c.agreements} for c in candidates
        ],
        "mine": committee.mine(member, [c.id for c in candidates]),
    }
