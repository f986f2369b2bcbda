"""Scale and ranking polls: what their ballots look like and what a ballot counts for.

A scale's options are its points ("1".."5"), and a ballot is one point; its result is the count
per point and their mean. A ranking's ballot lists every option once in the voter's order, and
is counted by the Borda count: with n options the first gets n - 1 points, the next n - 2, ...,
the last 0; an option's count is its points. The record's recount (townhall/record/) does the
same sums on its own, from docs/record.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from townhall.model import refusals
from townhall.model.agenda import ChoiceMode, PollOption

SCALE_LOWEST = (0, 1)  # a scale starts at 0 or 1
SCALE_HIGHEST = 10
RANKING_OPTIONS = (2, 8)  # the fewest and most options a ranking may have


def scale_options(low: int, high: int) -> tuple[PollOption, ...]:
    """A scale's points as options: ids and labels the numbers from `low` to `high`."""
    return tuple(PollOption(str(n), str(n)) for n in range(low, high + 1))


def weights(choice: ChoiceMode, choices: tuple[str, ...]) -> tuple[int, ...]:
    """What each of a ballot's choices adds to its option's count: its Borda points in a
    ranking (the ballot holds every option, so n is its length), else 1."""
    if choice is ChoiceMode.RANKING:
        return tuple(range(len(choices) - 1, -1, -1))
    return (1,) * len(choices)


def check_ballot(choice: ChoiceMode, option_ids: list[str], choices: tuple[str, ...]) -> None:
    """Refuse a scale ballot that is not one point, or a ranking that does not list every option
    once (the choices are known to be the poll's options, each once)."""
    if choice is ChoiceMode.SCALE and len(choices) != 1:
        raise refusals.too_many_choices(1)
    if choice is ChoiceMode.RANKING and len(choices) != len(option_ids):
        raise refusals.incomplete_ranking(len(option_ids))


def scale_mean(counts: Mapping[str, int]) -> float | None:
    """The mean point of a scale's ballots, to two decimals; None without a ballot."""
    voters = sum(counts.values())
    if not voters:
        return None
    return round(sum(int(point) * n for point, n in counts.items()) / voters, 2)
