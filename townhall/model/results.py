"""Every poll's results as exported: its options and final counts, each spell of voting with its
times and the tally at its close, and for the selection's poll each recording of the live vote."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from townhall.model.agenda import ChoiceMode, ItemKind
from townhall.model.poll_kinds import scale_mean
from townhall.model.state import Opening

if TYPE_CHECKING:
    from townhall.model.forum import Forum


def iso(at_ms: int | None) -> str | None:
    """A time in ms as ISO 8601 UTC; None when unknown (never, or a log from before times were
    recorded, which gives 0)."""
    if not at_ms:
        return None
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _opening(opening: Opening) -> dict[str, Any]:
    return {
        "opened_at": iso(opening.opened_ms),
        "opened_at_ms": opening.opened_ms or None,
        "closed_at": iso(opening.closed_ms),
        "closed_at_ms": opening.closed_ms or None,
        "counts": opening.counts,  # None while this spell is still open
        "voters": opening.voters if opening.counts is not None else None,
    }


def poll_results(forum: Forum) -> list[dict[str, Any]]:
    """Every poll of the programme in agenda order, as it stands and as it was at each close."""
    chosen = forum.programme.selection
    polls = []
    for item in forum.programme.items:
        if item.kind is not ItemKind.POLL:
            continue
        poll = forum.polls[item.id]
        is_selection = chosen is not None and chosen.poll == item.id
        polls.append(
            {
                "poll": item.id,
                "title": item.title,
                "question": item.question,
                "status": poll.status.value,
                "version": poll.version,
                "options": [
                    {"id": o.id, "label": o.label, "count": poll.counts.get(o.id, 0)}
                    for o in poll.options
                ],
                "voters": poll.voters,
                # How a ballot is counted: an option's count is its ballots, a scale's point's
                # its ballots (and `mean` the mean point), a ranking's option's its Borda points.
                "choice": item.choice.value,
                **_kind_results(item.choice, poll.counts, item.scale_labels),
                # Ballot codes: the groups that may vote (none: the forum's rule), and each
                # group's counts where the poll keeps them ("": voters without a code).
                "voter_groups": list(item.voters),
                "groups": (
                    {g: dict(c) for g, c in sorted(poll.group_counts.items())}
                    if item.by_group
                    else None
                ),
                "openings": [_opening(o) for o in poll.openings],
                "selection_poll": is_selection,
                "live_votes": [
                    {"recorded_at_event": seq, "version": vote.version, "counts": dict(vote.counts)}
                    for seq, vote in forum.live_votes
                    if vote.poll == item.id
                ],
            }
        )
    return polls


def _kind_results(
    choice: ChoiceMode, counts: dict[str, int], scale_labels: tuple[str, ...]
) -> dict[str, Any]:
    if choice is ChoiceMode.SCALE:
        return {"mean": scale_mean(counts), "scale_labels": list(scale_labels)}
    if choice is ChoiceMode.RANKING:
        return {"method": BORDA}
    return {}


# How a ranking's counts are made, in the words of docs/record.md.
BORDA = "borda: of n options, a ballot's first gets n-1 points, its next n-2, ..., its last 0"
