"""The selection committee's scoring, its lock and the result's publication: decided and applied
here, with no I/O. The forum hands in what it knows (candidates, whether the live vote is in).

Members score each candidate on the rubric from their own phones and may change a score until
the host locks scoring. Nobody but the host sees how far anyone has got, and no one sees a score
until the result is published; a score not given is shown as missing, never taken as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from townhall.model import refusals
from townhall.model.agenda import Selection
from townhall.model.commands import LockScoring, PublishSelection, ScoreCandidate
from townhall.model.events import CommitteeScored, Event, ScoringLocked, SelectionPublished
from townhall.model.scorer import Scores


@dataclass(slots=True)
class Committee:
    selection: Selection
    # member -> candidate -> {rubric question index: score}
    scores: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    locked: bool = False
    published: bool = False
    # The seq of the event that published the result now shown (0: none): the record's line
    # whose hash the projector shows, so the room can find the result in the record later.
    published_seq: int = 0

    # -- deciding ---------------------------------------------------------------------------

    def decide_score(
        self, member: str, command: ScoreCandidate, candidates: Sequence[str]
    ) -> list[Event]:
        if member not in self.selection.committee:
            raise refusals.committee_only()
        if command.candidate not in candidates:
            raise refusals.unknown_candidate(command.candidate)
        rule = self.selection.rule
        if len(command.scores) != len(rule.rubric):
            raise refusals.invalid_scores(len(rule.rubric))
        given: list[tuple[int, int]] = []
        for question, value in enumerate(command.scores):
            if value is None:
                continue
            if not rule.lowest <= value <= rule.highest:
                raise refusals.score_out_of_range(question + 1, rule.lowest, rule.highest)
            given.append((question, value))
        if self.locked:
            raise refusals.scoring_locked()
        if dict(given) == self.scores.get(member, {}).get(command.candidate, {}):
            return []  # the same scores again: a resend, or no change
        return [CommitteeScored(member, command.candidate, tuple(given))]

    def decide_host(
        self, command: LockScoring | PublishSelection, live_vote_in: bool
    ) -> list[Event]:
        if isinstance(command, LockScoring):
            if command.locked == self.locked:
                return []
            if not command.locked and self.published:
                raise refusals.selection_published()
            return [ScoringLocked(command.locked)]
        if command.published == self.published:
            return []
        if not command.published:
            return [SelectionPublished(False)]
        if not live_vote_in:
            raise refusals.no_live_vote()
        events: list[Event] = [] if self.locked else [ScoringLocked(True)]
        return [*events, SelectionPublished(True)]

    def check_reopen(self, poll: str) -> None:
        """The live vote's poll stays closed while the result it feeds is published: reopening
        it would change a published result when it closed again."""
        if poll == self.selection.poll and self.published:
            raise refusals.live_vote_published()

    # -- applying ---------------------------------------------------------------------------

    def apply(self, event: CommitteeScored | ScoringLocked | SelectionPublished) -> None:
        match event:
            case CommitteeScored(member=member, candidate=candidate, scores=scores):
                by_candidate = self.scores.setdefault(member, {})
                if scores:
                    by_candidate[candidate] = dict(scores)
                else:
                    by_candidate.pop(candidate, None)
            case ScoringLocked(locked=locked):
                self.locked = locked
            case SelectionPublished(published=published):
                self.published = published

    # -- views ------------------------------------------------------------------------------

    def given(self, candidates: Sequence[str]) -> Scores:
        """Every score given for the current candidates, as the scorer takes them. Every member
        is listed, so one who scored nothing counts as missing rather than vanishing."""
        wanted = set(candidates)
        return {
            member: {
                c: dict(q) for c, q in self.scores.get(member, {}).items() if c in wanted and q
            }
            for member in self.selection.committee
        }

    def progress(self, candidates: Sequence[str]) -> dict[str, int]:
        """Questions scored by each member, for the host: how far along, not what."""
        return {
            member: sum(len(q) for q in by_candidate.values())
            for member, by_candidate in self.given(candidates).items()
        }

    def progress_by_candidate(self, candidates: Sequence[str]) -> dict[str, int]:
        """Questions scored for each candidate, over all members: how far along, not what."""
        given = self.given(candidates)
        return {c: sum(len(by.get(c, {})) for by in given.values()) for c in candidates}

    def mine(self, member: str, candidates: Sequence[str]) -> dict[str, list[int | None]]:
        """A member's own scores, one list per candidate with None where not yet scored."""
        questions = len(self.selection.rule.rubric)
        own = self.scores.get(member, {})
        return {
            c: [own.get(c, {}).get(q) for q in range(questions)] for c in candidates if c in own
        }

    def status(self) -> dict[str, Any]:
        return {
            "locked": self.locked,
            "published": self.published,
            "published_seq": self.published_seq or None,
        }
