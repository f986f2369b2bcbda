"""The selection rule by hand-worked examples, edge cases and properties."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.model.scorer import Candidate, Conversion, Rule, RuleError, convert, result, score

NIGHT = Candidate("night", "Night library", 40)
SWAP = Candidate("swap", "Book swap", 30)
KIDS = Candidate("kids", "Reading to children", 20)
VOTES = {"night": 10, "swap": 15, "kids": 5}


def every_question(value: int) -> dict[int, int]:
    return dict.fromkeys(range(5), value)


# m1 gives night 4s, swap 5s, kids 3s; m2 gives night 4s, swap 3s, kids 3s.
COMMITTEE = {
    "m1": {"night": every_question(4), "swap": every_question(5), "kids": every_question(3)},
    "m2": {"night": every_question(4), "swap": every_question(3), "kids": every_question(3)},
}


def test_worked_example_top_conversion() -> None:
    # Agreement, 25 to the top (40):  night 25*40/40 = 25; swap 25*30/40 = 18.75;
    #                                  kids 25*20/40 = 12.5
    # Live vote, 25 to the top (15):  night 25*10/15 = 16 2/3; swap 25; kids 25*5/15 = 8 1/3
    # Committee, mean/5 * 50:          night 4 -> 40; swap (5*5 + 3*5)/10 = 4 -> 40; kids 3 -> 30
    # Totals: night 81 2/3; swap 83.75; kids 50 5/6 -> swap, night, kids
    rows = score([NIGHT, SWAP, KIDS], VOTES, COMMITTEE)
    assert [(r.rank, r.candidate.id) for r in rows] == [(1, "swap"), (2, "night"), (3, "kids")]
    by_id = {r.candidate.id: r for r in rows}
    assert by_id["night"].points == {
        "agreement": Fraction(25),
        "live_vote": Fraction(50, 3),
        "committee": Fraction(40),
    }
    assert by_id["swap"].total == Fraction(335, 4)  # 83.75
    assert by_id["night"].total == Fraction(245, 3)  # 81 2/3
    assert by_id["kids"].total == Fraction(305, 6)  # 50 5/6
    assert by_id["swap"].committee_mean == 4
    assert (by_id["swap"].scores_given, by_id["swap"].scores_missing) == (10, 0)


def test_worked_example_share_conversion() -> None:
    # Agreement, share of 90:  night 25*40/90 = 11 1/9; swap 25*30/90 = 8 1/3; kids 5 5/9
    # Live vote, share of 30:  night 25*10/30 = 8 1/3; swap 12.5; kids 4 1/6
    # Committee as before:     40, 40, 30
    # Totals: night 59 4/9; swap 60 5/6; kids 39 13/18 -> swap, night, kids
    rows = score([NIGHT, SWAP, KIDS], VOTES, COMMITTEE, Rule(conversion=Conversion.SHARE))
    totals = {r.candidate.id: r.total for r in rows}
    assert totals == {
        "swap": Fraction(365, 6),
        "night": Fraction(535, 9),
        "kids": Fraction(715, 18),
    }
    assert [r.candidate.id for r in rows] == ["swap", "night", "kids"]


def test_the_result_states_its_settings_and_every_input() -> None:
    exported = result([NIGHT, SWAP, KIDS], VOTES, COMMITTEE)
    assert exported["rule"]["weights"] == {"agreement": 25, "live_vote": 25, "committee": 50}
    assert exported["rule"]["conversion"] == "top"
    assert len(exported["rule"]["rubric"]) == 5
    first = exported["rows"][0]
    assert first["inputs"] == {
        "agreements": 30,
        "live_votes": 15,
        "committee_mean": 4.0,
        "scores_given": 10,
        "scores_missing": 0,
    }
    assert first["points"] == {"agreement": 18.75, "live_vote": 25.0, "committee": 40.0}
    assert (first["total"], first["exact"]["total"]) == (83.75, "335/4")


def test_zero_agreements_and_a_poll_with_no_votes() -> None:
    quiet = Candidate("quiet", "Nobody agreed", 0)
    rows = score([NIGHT, quiet], {}, {})
    by_id = {r.candidate.id: r for r in rows}
    assert by_id["quiet"].points["agreement"] == 0
    assert all(r.points["live_vote"] == 0 for r in rows), "no votes: no live-vote points"
    assert all(r.committee_mean is None for r in rows)


def test_all_zero_gives_everyone_zero_under_either_conversion() -> None:
    for conversion in Conversion:
        assert convert([0, 0, 0], 25, conversion) == [0, 0, 0]


def test_a_single_candidate_gets_the_whole_weight_it_earned() -> None:
    for conversion in Conversion:
        (row,) = score([SWAP], {"swap": 3}, {}, Rule(conversion=conversion))
        assert row.points["agreement"] == row.points["live_vote"] == 25
        assert row.rank == 1


def test_a_partial_committee_is_shown_as_missing_not_zero() -> None:
    # m1 scored everything; m2 scored only night, and only two questions of it.
    committee = {
        "m1": {"night": every_question(2), "swap": every_question(4)},
        "m2": {"night": {0: 5, 1: 5}},
    }
    rows = {r.candidate.id: r for r in score([NIGHT, SWAP], {}, committee)}
    # night: (5*2 + 5 + 5)/7 = 20/7, given 7 of 10; swap: 4 from m1 alone, given 5 of 10
    assert rows["night"].committee_mean == Fraction(20, 7)
    assert (rows["night"].scores_given, rows["night"].scores_missing) == (7, 3)
    assert rows["swap"].committee_mean == 4
    assert rows["swap"].scores_missing == 5
    assert rows["swap"].points["committee"] == 40, "left out, not counted as zero"


def test_ties_share_a_rank_and_the_tie_break_decides_when_it_can() -> None:
    twin_a = Candidate("a", "Twin A", 10)
    twin_b = Candidate("b", "Twin B", 10)
    third = Candidate("c", "Third", 5)
    rows = score([twin_b, third, twin_a], {"a": 1, "b": 1}, {})
    assert [(r.rank, r.candidate.id) for r in rows] == [(1, "a"), (1, "b"), (3, "c")]
    # Equal totals (25 each), split by the first tie-break part, the committee:
    x = Candidate("x", "More committee", 0)
    y = Candidate("y", "More agreement", 10)
    committee = {"m": {"x": every_question(5), "y": every_question(5)}}
    split = score([x, y], {"x": 1}, committee)
    # x: 0 + 25 + 50 = 75; y: 25 + 0 + 50 = 75; committee equal, live vote decides: x first.
    assert [(r.rank, r.candidate.id) for r in split] == [(1, "x"), (2, "y")]
    agreement_first = Rule(tie_break=("agreement", "committee", "live_vote"))
    assert [r.candidate.id for r in score([x, y], {"x": 1}, committee, agreement_first)] == [
        "y",
        "x",
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            Rule(weights={"agreement": 30, "live_vote": 30, "committee": 50}),
            "add up to 100, not 110",
        ),
        (Rule(weights={"agreement": 50, "committee": 50}), "exactly"),
        (Rule(weights={"agreement": -10, "live_vote": 60, "committee": 50}), "negative"),
        (Rule(rubric=()), "at least one question"),
        (Rule(tie_break=("committee", "committee", "agreement")), "tie-break"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(rule: Rule, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        score([NIGHT], {}, {}, rule)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(RuleError, match="unknown candidate 'ghost'"):
        score([NIGHT], {"ghost": 1}, {})
    with pytest.raises(RuleError, match="outside 1-5"):
        score([NIGHT], {}, {"m": {"night": {0: 6}}})
    with pytest.raises(RuleError, match="no rubric question 6"):
        score([NIGHT], {}, {"m": {"night": {5: 3}}})
    with pytest.raises(RuleError, match="unique"):
        score([NIGHT, NIGHT], {}, {})


counts = st.integers(0, 10_000)
inputs = st.lists(
    st.tuples(counts, counts, st.lists(st.integers(1, 5), max_size=5)), min_size=1, max_size=6
)


def build(
    data: list[tuple[int, int, list[int]]],
) -> tuple[list[Candidate], dict[str, int], dict[str, dict[str, dict[int, int]]]]:
    candidates = [Candidate(f"c{n}", f"Candidate {n}", a) for n, (a, _, _) in enumerate(data)]
    votes = {f"c{n}": v for n, (_, v, _) in enumerate(data)}
    committee = {"m": {f"c{n}": dict(enumerate(s)) for n, (_, _, s) in enumerate(data)}}
    return candidates, votes, committee


@settings(max_examples=200, deadline=None)
@given(inputs, st.sampled_from(list(Conversion)))
def test_totals_stay_within_0_and_100(
    data: list[tuple[int, int, list[int]]], conversion: Conversion
) -> None:
    candidates, votes, committee = build(data)
    for row in score(candidates, votes, committee, Rule(conversion=conversion)):
        assert 0 <= row.total <= 100


@settings(max_examples=200, deadline=None)
@given(inputs, st.randoms(use_true_random=False))
def test_the_ranking_does_not_depend_on_the_input_order(
    data: list[tuple[int, int, list[int]]], rng: random.Random
) -> None:
    candidates, votes, committee = build(data)
    shuffled = candidates[:]
    rng.shuffle(shuffled)
    original = [(r.rank, r.candidate.id, r.total) for r in score(candidates, votes, committee)]
    reordered = [(r.rank, r.candidate.id, r.total) for r in score(shuffled, votes, committee)]
    assert original == reordered


@settings(max_examples=200, deadline=None)
@given(inputs, st.integers(1, 1000))
def test_scaling_every_agreement_count_leaves_the_default_result_alone(
    data: list[tuple[int, int, list[int]]], factor: int
) -> None:
    candidates, votes, committee = build(data)
    scaled = [Candidate(c.id, c.title, c.agreements * factor) for c in candidates]
    before = [(r.rank, r.candidate.id, r.points) for r in score(candidates, votes, committee)]
    after = [(r.rank, r.candidate.id, r.points) for r in score(scaled, votes, committee)]
    assert before == after
