"""The selection as it stands: its candidates, the live vote's recorded result, and the ranked,
explained table the scorer makes of them, whole for the export or as a role may see it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townhall.model import refusals
from townhall.model.commands import Role
from townhall.model.scorer import Candidate, RuleError, Scores, result

if TYPE_CHECKING:
    from townhall.model.forum import Forum


def selection_candidates(forum: Forum) -> list[Candidate]:
    chosen = forum.programme.selection
    if chosen is None:
        return []
    agreements = forum.promoted_agreements.get(chosen.poll)
    if agreements is None:
        return list(chosen.candidates)
    options = forum.polls[chosen.poll].options
    counts = agreements if len(agreements) == len(options) else (0,) * len(options)
    return [Candidate(o.id, o.label, n) for o, n in zip(options, counts, strict=True)]


def live_vote_view(forum: Forum) -> dict[str, Any] | None:
    if not forum.live_votes:
        return None
    seq, recorded = forum.live_votes[-1]
    return {
        "poll": recorded.poll,
        "version": recorded.version,
        "recorded_at_event": seq,
        "counts": dict(recorded.counts),
        "replaced_earlier_recordings": len(forum.live_votes) - 1,
    }


def selection_result(forum: Forum, sheet: Scores | None = None) -> dict[str, Any]:
    committee = forum.require_committee()
    chosen = committee.selection
    candidates = selection_candidates(forum)
    ids = [c.id for c in candidates]
    live = live_vote_view(forum)
    votes = {} if live is None else {c: n for c, n in live["counts"].items() if c in ids}
    if sheet is None:
        given = committee.given(ids)
    else:
        given = {member: dict(sheet.get(member, {})) for member in chosen.committee}
    try:
        table = result(candidates, votes, given, chosen.rule)
    except RuleError as exc:  # pragma: no cover - the model only stores valid scores
        raise refusals.selection_invalid(str(exc)) from exc
    return {
        "forum": forum.programme.id,
        **committee.status(),
        "candidates": [
            {"id": c.id, "title": c.title, "agreements": c.agreements} for c in candidates
        ],
        "live_vote": live,
        "committee_members": list(chosen.committee),
        "committee_names": chosen.member_names(),
        "committee_scores": {
            member: {c: {str(q + 1): v for q, v in sorted(s.items())} for c, s in by.items()}
            for member, by in given.items()
        },
        **table,
    }


def selection_view(forum: Forum, role: Role) -> dict[str, Any]:
    committee = forum.require_committee()
    ids = [c.id for c in selection_candidates(forum)]
    view: dict[str, Any] = {
        "poll": committee.selection.poll,
        **committee.status(),
        "live_vote": live_vote_view(forum) is not None,
        "result": None,
    }
    if role is Role.HOST or committee.published:
        full = selection_result(forum)
        del full["committee_scores"]
        if role is not Role.HOST:  # the names are the host's to know; the room sees ids
            del full["committee_names"]
        view["result"] = full
    if role is Role.HOST:
        questions = len(committee.selection.rule.rubric)
        view["members"] = committee.selection.member_names()
        view["progress"] = committee.progress(ids)
        view["scores_expected"] = len(ids) * questions
        view["progress_by_candidate"] = committee.progress_by_candidate(ids)
        view["scores_expected_by_candidate"] = len(committee.selection.committee) * questions
    return view
