"""The experiment selection rule (실험장 선정 기준) as a pure function, with its working shown.

Each candidate gets, out of 100: the proposal board's agreement count (25 by default), the open
forum's live vote (25), and the selection committee's rubric scores (50). Arithmetic is exact
(fractions), so anyone can recompute a result by hand from the inputs and settings it states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

# The seed's five questions for choosing an open-forum agenda: the default committee rubric.
SEED_RUBRIC = (
    "Does it have a large impact on citizens' daily lives?",
    "Is it an important problem that citizens should discuss and solve together?",
    "Is it suitable for ordinary citizens to debate?",
    "Are there alternatives that could solve it?",
    "Is it feasible?",
)
PARTS = ("agreement", "live_vote", "committee")


class RuleError(ValueError):
    """The rule's settings are not usable; the message says which and why."""


class Conversion(StrEnum):
    TOP = "top"  # the top candidate gets the full weight, the others in proportion
    SHARE = "share"  # each candidate gets the weight times its share of the total


class Missing(StrEnum):
    # A score a committee member did not give is left out: a candidate's committee mean is over
    # the scores given. Shown as missing on the result, never taken as zero.
    LEAVE_OUT = "leave_out"


@dataclass(frozen=True, slots=True)
class Rule:
    """The settings of the selection rule, stated on every result."""

    weights: Mapping[str, int] = field(
        default_factory=lambda: {"agreement": 25, "live_vote": 25, "committee": 50}
    )
    conversion: Conversion = Conversion.TOP  # for the agreement count and the live vote
    rubric: tuple[str, ...] = SEED_RUBRIC
    lowest: int = 1
    highest: int = 5
    missing: Missing = Missing.LEAVE_OUT
    tie_break: tuple[str, ...] = ("committee", "live_vote", "agreement")

    def check(self) -> Rule:
        if set(self.weights) != set(PARTS):
            raise RuleError(f"weights must name exactly {', '.join(PARTS)}")
        if any(w < 0 for w in self.weights.values()):
            raise RuleError("weights can't be negative")
        total = sum(self.weights.values())
        if total != 100:
            raise RuleError(f"weights must add up to 100, not {total}")
        if not self.rubric:
            raise RuleError("the committee rubric needs at least one question")
        if not 0 <= self.lowest < self.highest:
            raise RuleError("rubric scores need a lowest below the highest")
        if sorted(self.tie_break) != sorted(PARTS):
            raise RuleError(f"the tie-break order must list each of {', '.join(PARTS)} once")
        return self

    def statement(self) -> dict[str, Any]:
        """The settings as stated on a result."""
        return {
            "weights": dict(self.weights),
            "conversion": self.conversion.value,
            "conversion_rule": {
                Conversion.TOP: "the top candidate gets the full weight, the others in proportion",
                Conversion.SHARE: "each candidate gets the weight times its share of the total",
            }[self.conversion],
            "rubric": list(self.rubric),
            "score_range": [self.lowest, self.highest],
            "committee_rule": (
                "the mean of all rubric scores given for the candidate, as a fraction of the"
                f" highest score ({self.highest}), times the committee weight"
            ),
            "missing_rule": "a missing score is left out of the mean and shown as missing",
            "tie_break": list(self.tie_break),
            "tie_rule": "candidates equal on the total and on every tie-break part share a rank",
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    title: str
    agreements: int = 0


# member -> candidate -> rubric question index -> score
Scores = Mapping[str, Mapping[str, Mapping[int, int]]]


@dataclass(frozen=True, slots=True)
class Row:
    rank: int
    candidate: Candidate
    votes: int
    committee_mean: Fraction | None
    scores_given: int
    scores_missing: int
    points: dict[str, Fraction]

    @property
    def total(self) -> Fraction:
        return sum(self.points.values(), Fraction(0))

    def view(self, places: int = 2) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "candidate": self.candidate.id,
            "title": self.candidate.title,
            "inputs": {
                "agreements": self.candidate.agreements,
                "live_votes": self.votes,
                "committee_mean": _decimal(self.committee_mean, places),
                "scores_given": self.scores_given,
                "scores_missing": self.scores_missing,
            },
            "points": {part: _decimal(p, places) for part, p in self.points.items()},
            "total": _decimal(self.total, places),
            "exact": {part: str(p) for part, p in self.points.items()} | {"total": str(self.total)},
        }


def _decimal(value: Fraction | None, places: int) -> float | None:
    return None if value is None else round(float(value), places)


def convert(counts: Sequence[int], weight: int, conversion: Conversion) -> list[Fraction]:
    """Counts to points: all zero gives everyone zero, whatever the conversion."""
    if any(c < 0 for c in counts):
        raise RuleError("counts can't be negative")
    base = max(counts, default=0) if conversion is Conversion.TOP else sum(counts)
    if base == 0:
        return [Fraction(0)] * len(counts)
    return [Fraction(weight * c, base) for c in counts]


def score(
    candidates: Sequence[Candidate],
    votes: Mapping[str, int],
    committee: Scores,
    rule: Rule | None = None,
) -> list[Row]:
    """The ranked, explained table. Refuses unknown candidates and out-of-range scores."""
    rule = (rule or Rule()).check()
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise RuleError("candidate ids must be unique")
    unknown = (set(votes) - set(ids)) | {
        c for by_candidate in committee.values() for c in by_candidate if c not in ids
    }
    if unknown:
        raise RuleError(f"unknown candidate {sorted(unknown)[0]!r} in the inputs")
    agreement = convert(
        [c.agreements for c in candidates], rule.weights["agreement"], rule.conversion
    )
    live = convert(
        [votes.get(c.id, 0) for c in candidates], rule.weights["live_vote"], rule.conversion
    )
    questions = len(rule.rubric)
    rows: list[Row] = []
    for n, candidate in enumerate(candidates):
        given = []
        for member, by_candidate in committee.items():
            for question, value in by_candidate.get(candidate.id, {}).items():
                if not 0 <= question < questions:
                    raise RuleError(f"{member}: no rubric question {question + 1}")
                if not rule.lowest <= value <= rule.highest:
                    raise RuleError(
                        f"{member}: score {value} for {candidate.id!r} is outside"
                        f" {rule.lowest}-{rule.highest}"
                    )
                given.append(value)
        mean = Fraction(sum(given), len(given)) if given else None
        committee_points = (
            Fraction(0) if mean is None else mean / rule.highest * rule.weights["committee"]
        )
        rows.append(
            Row(
                rank=0,
                candidate=candidate,
                votes=votes.get(candidate.id, 0),
                committee_mean=mean,
                scores_given=len(given),
                scores_missing=len(committee) * questions - len(given),
                points={
                    "agreement": agreement[n],
                    "live_vote": live[n],
                    "committee": committee_points,
                },
            )
        )
    return _ranked(rows, rule.tie_break)


def _ranked(rows: list[Row], tie_break: tuple[str, ...]) -> list[Row]:
    def key(row: Row) -> tuple[Fraction, ...]:
        return (row.total, *(row.points[part] for part in tie_break))

    # Order among full ties is by id, so the table never depends on the order of the input.
    ordered = sorted(rows, key=lambda r: r.candidate.id)
    ordered.sort(key=key, reverse=True)
    ranked: list[Row] = []
    for position, row in enumerate(ordered, start=1):
        tied = ranked and key(ranked[-1]) == key(row)
        rank = ranked[-1].rank if tied else position
        ranked.append(
            Row(
                rank,
                row.candidate,
                row.votes,
                row.committee_mean,
                row.scores_given,
                row.scores_missing,
                row.points,
            )
        )
    return ranked


def result(
    candidates: Sequence[Candidate],
    votes: Mapping[str, int],
    committee: Scores,
    rule: Rule | None = None,
) -> dict[str, Any]:
    """The whole result as exported: the settings, then every row with its inputs and points."""
    rule = rule or Rule()
    rows = score(candidates, votes, committee, rule)
    return {"rule": rule.statement(), "rows": [row.view() for row in rows]}
