"""The opinion shift in the model: the transition table, the changed share and the net shift of a
pre-vote and a final vote worked out by hand, by group; the room's figures with small cells
hidden and nothing hidden that the rest gives away; showing and hiding; and the programme's
`compare_to` checks."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from townhall.model.commands import Actor, ClosePoll, OpenPoll, Role, ShowShift, Vote
from townhall.model.errors import ForumError
from townhall.model.events import BallotCast, ShiftShown, from_record, to_record
from townhall.model.forum import Forum
from townhall.model.shift import figures, public_figures, shift_cells
from townhall.programme import ProgrammeError, parse_programme

HOST = Actor(Role.HOST)

ROOM = """
[forum]
id = "battle"
title = "Policy battle"
language = "en"

[[items]]
id = "pre"
kind = "poll"
title = "Pre-vote"
options = [{id = "a", label = "Agency"}, {id = "b", label = "Split"}, {id = "c", label = "Watch"}]

[[items]]
id = "panel"
kind = "talk"
title = "Panels"

[[items]]
id = "final"
kind = "poll"
title = "Final vote"
options = [{id = "a", label = "Agency"}, {id = "b", label = "Split"}, {id = "c", label = "Watch"}]
compare_to = "pre"
"""

# Who voted what, by hand: person -> (group, pre choice, final choice); "" where they did not
# vote in that poll, or have no ballot code.
PEOPLE = {
    **{f"j{n}": ("jury", "a", "a") for n in range(1, 6)},  # 5 jurors stay with a
    "j6": ("jury", "b", "a"),
    "j7": ("jury", "b", "a"),  # 2 jurors move b -> a
    "j8": ("jury", "b", "b"),
    "j9": ("jury", "c", "b"),  # 1 moves c -> b
    "j10": ("jury", "c", "c"),
    "u1": ("audience", "b", "b"),
    "u2": ("audience", "b", "b"),
    "u3": ("audience", "b", "b"),
    "u4": ("audience", "a", "c"),  # 1 moves a -> c
    "u5": ("audience", "a", "a"),
    "u6": ("audience", "c", "c"),
    "n1": ("", "a", "a"),
    "n2": ("", "a", "a"),
    "n3": ("", "b", "b"),
    "n4": ("", "c", "c"),
    "n5": ("", "b", ""),  # only the pre-vote
    "n6": ("", "", "c"),  # only the final vote
}


def battle() -> Forum:
    return Forum(parse_programme(ROOM, source="battle.toml"))


def voted(people: dict[str, tuple[str, str, str]] = PEOPLE) -> Forum:
    """Both polls opened, voted in by `people`, and closed."""
    forum = battle()
    for poll, at in (("pre", 1), ("final", 2)):
        forum.execute(HOST, OpenPoll(poll), 0)
        for person, (group, *choices) in people.items():
            if choices[at - 1]:
                forum.apply(BallotCast(poll, person, (choices[at - 1],), f"op-{poll}", group))
        forum.execute(HOST, ClosePoll(poll), 0)
    return forum


def table(pop: dict[str, Any]) -> dict[str, int | None]:
    return {f"{c['pre']}>{c['final']}": c["people"] for c in pop["cells"]}


def test_the_transition_table_changed_share_and_net_shift_by_hand() -> None:
    forum = voted()
    forum.execute(HOST, ShowShift("final", visible=True), 0)
    view = forum.state_view(Role.HOST)["shift"]["final"]
    assert view["ready"] and view["visible"] and view["compare_to"] == "pre"
    everyone = view["figures"]["everyone"]
    # By hand, the 20 people who voted in both (n5 and n6 voted in one poll only):
    #   a>a: 5 jurors + u5 + n1, n2 = 8    a>b: 0    a>c: u4 = 1
    #   b>a: j6, j7 = 2    b>b: j8 + u1..u3 + n3 = 5    b>c: 0
    #   c>a: 0    c>b: j9 = 1    c>c: j10 + u6 + n4 = 3
    assert table(everyone) == {
        "a>a": 8, "a>b": 0, "a>c": 1,
        "b>a": 2, "b>b": 5, "b>c": 0,
        "c>a": 0, "c>b": 1, "c>c": 3,
    }  # fmt: skip
    assert (everyone["both"], everyone["only_pre"], everyone["only_final"]) == (20, 1, 1)
    # Off the diagonal: 1 + 2 + 1 = 4 of 20 changed their mind, 20%.
    assert (everyone["changed"], everyone["changed_percent"]) == (4, 20.0)
    # Pre-vote a 8+1 = 9, b 2+5 = 7, c 1+3 = 4; final a 8+2 = 10, b 5+1 = 6, c 1+3 = 4:
    # a +1 (+5 points of 20), b -1 (-5), c 0.
    assert everyone["net"] == [
        {"option": "a", "pre": 9, "final": 10, "net": 1, "points": 5.0},
        {"option": "b", "pre": 7, "final": 6, "net": -1, "points": -5.0},
        {"option": "c", "pre": 4, "final": 4, "net": 0, "points": 0.0},
    ]
    assert view["figures"]["pre_options"][0] == {"id": "a", "label": "Agency"}


def test_by_group_with_the_voters_without_a_code_last() -> None:
    view = voted().state_view(Role.HOST)["shift"]["final"]["figures"]
    groups = {pop["group"]: pop for pop in view["by_group"]}
    assert [pop["group"] for pop in view["by_group"]] == ["audience", "jury", ""]
    jury, audience, no_code = groups["jury"], groups["audience"], groups[""]
    # Jury, 10: a>a 5, b>a 2, b>b 1, c>b 1, c>c 1; 3 changed (30%); pre a5 b3 c2, final a7 b2 c1.
    assert {k: n for k, n in table(jury).items() if n} == {
        "a>a": 5, "b>a": 2, "b>b": 1, "c>b": 1, "c>c": 1,
    }  # fmt: skip
    assert (jury["both"], jury["changed"], jury["changed_percent"]) == (10, 3, 30.0)
    assert [(e["option"], e["net"], e["points"]) for e in jury["net"]] == [
        ("a", 2, 20.0),
        ("b", -1, -10.0),
        ("c", -1, -10.0),
    ]
    # Audience, 6: a>a 1, a>c 1, b>b 3, c>c 1; 1 changed (16.7%); a -1, c +1.
    assert (audience["both"], audience["changed"], audience["changed_percent"]) == (6, 1, 16.7)
    assert [e["net"] for e in audience["net"]] == [-1, 0, 1]
    # Without a code: 4 in both, nobody changed, one voted only in each poll.
    assert (no_code["both"], no_code["changed"], no_code["only_pre"], no_code["only_final"]) == (
        4,
        0,
        1,
        1,
    )


def test_the_cells_are_each_person_once_in_order() -> None:
    pre = {p: (v[1], v[0]) for p, v in PEOPLE.items() if v[1]}
    final = {p: (v[2], v[0]) for p, v in PEOPLE.items() if v[2]}
    assert shift_cells(pre, final) == (
        ("", "", "c", 1),
        ("", "a", "a", 2),
        ("", "b", "", 1),
        ("", "b", "b", 1),
        ("", "c", "c", 1),
        ("audience", "a", "a", 1),
        ("audience", "a", "c", 1),
        ("audience", "b", "b", 3),
        ("audience", "c", "c", 1),
        ("jury", "a", "a", 5),
        ("jury", "b", "a", 2),
        ("jury", "b", "b", 1),
        ("jury", "c", "b", 1),
        ("jury", "c", "c", 1),
    )
    # A voter's group is the final ballot's; the pre-vote's if they had none then.
    assert shift_cells({"x": ("a", "")}, {"x": ("b", "jury")}) == (("jury", "a", "b", 1),)
    assert shift_cells({"x": ("a", "jury")}, {"x": ("b", "")}) == (("jury", "a", "b", 1),)


def test_no_groups_without_codes() -> None:
    plain = {p: ("", pre, final) for p, (_, pre, final) in PEOPLE.items()}
    view = voted(plain).state_view(Role.HOST)["shift"]["final"]["figures"]
    assert view["by_group"] == [] and view["everyone"]["both"] == 20


# -- the room's figures -----------------------------------------------------------------------


def test_a_small_change_in_a_yes_no_vote_by_hand() -> None:
    """40 people: yes>yes 20, yes>no 2, no>yes 5, no>no 13; cells under 3 are hidden.

    By hand: yes>no (2) is hidden. The room may be shown both polls' tallies as results (pre-vote
    yes 22, no 18; final yes 25, no 15), everyone having voted in both: they are the table's row
    and column totals, the net shift, whatever is withdrawn. A 2 x 2 table with its totals known
    has one number left to know: any one cell, or the count of changes (yes>no + no>yes = 7 and
    yes>no - no>yes = 22 - 25 give yes>no = 2), fixes all four. So the room is shown only that
    40 people voted in both. With yes>no 4 instead, every figure is shown."""
    cells = (
        ("", "yes", "yes", 20),
        ("", "yes", "no", 2),
        ("", "no", "yes", 5),
        ("", "no", "no", 13),
    )
    public = public_figures(figures(cells, ["yes", "no"], ["yes", "no"]), 3, cells)["everyone"]
    assert table(public) == {"yes>yes": None, "yes>no": None, "no>yes": None, "no>no": None}
    assert (public["changed"], public["net"], public["hidden"]) == (None, None, False)
    assert (public["both"], public["only_pre"], public["only_final"]) == (40, 0, 0)
    more = (*cells[:1], ("", "yes", "no", 4), *cells[2:])
    public = public_figures(figures(more, ["yes", "no"], ["yes", "no"]), 3, more)["everyone"]
    assert table(public) == {"yes>yes": 20, "yes>no": 4, "no>yes": 5, "no>no": 13}
    assert public["changed"] == 9 and public["net"] is not None


def test_nothing_small_is_shown_and_nothing_hidden_can_be_worked_out() -> None:
    cells = shift_cells(*ballots(PEOPLE))
    full = figures(cells, ["a", "b", "c"], ["a", "b", "c"])
    public = public_figures(full, 3, cells)
    for shown, whole in zip(populations(public), populations(full), strict=True):
        for cell, true in zip(shown["cells"], whole["cells"], strict=True):
            assert cell["people"] in (None, true["people"])
            assert cell["people"] is None or not 0 < cell["people"] < 3
    assert not worked_out(public, full, 3)
    # The group without a code has 4 people in both: whole; the audience's small cells hidden.
    assert [pop["hidden"] for pop in public["by_group"]] == [False, False, False]


def test_a_small_group_is_hidden_and_not_recoverable_from_everyone_minus_the_others() -> None:
    # Everyone = jury + 2 people without a code. Were everyone's and the jury's cells all shown,
    # the 2 people's choices would be everyone's minus the jury's.
    people = {
        **{f"j{n}": ("jury", "a", "a") for n in range(10)},
        **{f"k{n}": ("jury", "b", "b") for n in range(8)},
        **{f"l{n}": ("jury", "a", "b") for n in range(4)},
        **{f"m{n}": ("jury", "b", "a") for n in range(3)},
        "x": ("", "a", "a"),
        "y": ("", "b", "b"),
    }
    cells = shift_cells(*ballots(people))
    full = figures(cells, ["a", "b"], ["a", "b"])
    public = public_figures(full, 3, cells)
    no_code = public["by_group"][1]
    assert no_code["group"] == "" and no_code["hidden"] and no_code["both"] == 2
    assert all(cell["people"] is None for cell in no_code["cells"])
    assert no_code["changed"] is None and no_code["net"] is None
    assert not worked_out(public, full, 3)


@pytest.mark.parametrize("seed", range(30))
def test_random_rooms_expose_no_small_cell(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    options = ["a", "b", "c", "d"][: rnd.choice([2, 3, 4])]
    groups = rnd.choice([[""], ["jury", ""], ["jury", "audience"], ["jury", "audience", ""]])
    people = {}
    for n in range(rnd.randint(5, 80)):
        pre = rnd.choice(options)
        final = pre if rnd.random() < 0.7 else rnd.choice(options)
        people[f"p{n}"] = (rnd.choice(groups), pre, final)
    cells = shift_cells(*ballots(people))
    full = figures(cells, options, options)
    min_cell = rnd.choice([2, 3, 5])
    assert not worked_out(public_figures(full, min_cell, cells), full, min_cell)


def ballots(people: dict[str, tuple[str, str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    pre = {p: (v[1], v[0]) for p, v in people.items() if v[1]}
    return pre, {p: (v[2], v[0]) for p, v in people.items() if v[2]}


def populations(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [view["everyone"], *view["by_group"]]


def worked_out(public: dict[str, Any], full: dict[str, Any], min_cell: int) -> list[str]:
    """The small cells someone could work out from the room's figures alone: the equations
    those figures state, solved here on their own (Gauss-Jordan over exact fractions), apart from
    the model's own way of checking."""
    pops = populations(public)
    truth = [cell["people"] for pop in populations(full) for cell in pop["cells"]]
    names = [
        f"{pop.get('group', '*')}:{c['pre']}>{c['final']}" for pop in pops for c in pop["cells"]
    ]
    size = len(pops[0]["cells"])
    unknown = [
        n
        for pop_n, pop in enumerate(pops)
        for n, c in enumerate(pop["cells"], pop_n * size)
        if c["people"] is None
    ]
    equations: list[tuple[dict[int, int], int]] = []  # cell -> coefficient, total
    for pop_n, pop in enumerate(pops):
        at = range(pop_n * size, (pop_n + 1) * size)
        cells = list(zip(at, pop["cells"], strict=True))
        equations.append(({n: 1 for n, _ in cells}, pop["both"]))
        if pop["net"] is not None:
            for entry in pop["net"]:
                equations.append(
                    ({n: 1 for n, c in cells if c["pre"] == entry["option"]}, entry["pre"])
                )
                equations.append(
                    ({n: 1 for n, c in cells if c["final"] == entry["option"]}, entry["final"])
                )
        if pop["changed"] is not None:
            equations.append(({n: 1 for n, c in cells if c["pre"] != c["final"]}, pop["changed"]))
    if len(pops) > 1 and not public["groups_hidden"]:
        for n in range(size):
            parts = {n + k * size: -1 for k in range(1, len(pops))}
            equations.append(({n: 1, **parts}, 0))
    rows = []
    for terms, total in equations:
        known = sum(c * truth[n] for n, c in terms.items() if n not in unknown)
        free = {n: c for n, c in terms.items() if n in unknown and c}
        if free:
            rows.append(([Fraction(free.get(n, 0)) for n in unknown], Fraction(total - known)))
            # Counts are never negative: unknowns of one sign adding up to nothing are nothing.
            if len(set(free.values())) == 1 and total - known == 0:
                rows += [([Fraction(int(m == n)) for m in unknown], Fraction(0)) for n in free]
    matrix = [list(r) for r, _ in rows]
    pivot_row = 0
    pivots = []
    for col in range(len(unknown)):
        found = next((i for i in range(pivot_row, len(matrix)) if matrix[i][col]), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for i in range(len(matrix)):
            if i != pivot_row and matrix[i][col]:
                factor = matrix[i][col]
                matrix[i] = [
                    a - factor * b for a, b in zip(matrix[i], matrix[pivot_row], strict=True)
                ]
        pivots.append(col)
        pivot_row += 1
    fixed = {
        unknown[col]
        for row, col in zip(matrix, pivots, strict=False)
        if sum(1 for v in row if v) == 1
    }
    return [names[n] for n in sorted(fixed) if 0 < truth[n] < min_cell]


# -- showing and hiding -----------------------------------------------------------------------


def test_showing_needs_both_polls_closed_and_a_comparison() -> None:
    forum = battle()
    with pytest.raises(ForumError) as refused:
        forum.execute(HOST, ShowShift("pre", visible=True), 0)
    assert refused.value.code == "no_comparison"
    with pytest.raises(ForumError) as refused:
        forum.execute(HOST, ShowShift("nope", visible=True), 0)
    assert refused.value.code == "unknown_poll"
    forum.execute(HOST, OpenPoll("pre"), 0)
    with pytest.raises(ForumError) as refused:
        forum.execute(HOST, ShowShift("final", visible=True), 0)
    assert refused.value.code == "shift_polls_open" and "'pre' is open" in refused.value.message
    with pytest.raises(ForumError):
        forum.execute(Actor(Role.PARTICIPANT, "p1"), ShowShift("final", visible=True), 0)
    # Hiding what is not shown changes nothing.
    assert forum.execute(HOST, ShowShift("final", visible=False), 0) == []


def test_shown_figures_are_carried_by_the_event_and_hold_the_polls_still() -> None:
    forum = voted()
    phone = forum.state_view(Role.PARTICIPANT)["shift"]["final"]
    assert phone["ready"] and not phone["visible"] and phone["figures"] is None
    [shown] = forum.execute(HOST, ShowShift("final", visible=True), 0)
    assert isinstance(shown, ShiftShown) and shown.compare_to == "pre"
    pre = {p: (v[1], v[0]) for p, v in PEOPLE.items() if v[1]}
    final = {p: (v[2], v[0]) for p, v in PEOPLE.items() if v[2]}
    assert shown.cells == shift_cells(pre, final)
    assert from_record(to_record(shown)) == shown
    assert forum.execute(HOST, ShowShift("final", visible=True), 0) == []  # shown already
    for poll in ("pre", "final"):
        with pytest.raises(ForumError) as refused:
            forum.execute(HOST, OpenPoll(poll), 0)
        assert refused.value.code == "shift_shown"
    for role in (Role.PARTICIPANT, Role.SCREEN):
        seen = forum.state_view(role)["shift"]["final"]
        assert seen["visible"] and "public" not in seen
        everyone = seen["figures"]["everyone"]
        assert all(c["people"] is None or not 0 < c["people"] < 3 for c in everyone["cells"])
    host = forum.state_view(Role.HOST)["shift"]["final"]
    assert host["public"] == forum.state_view(Role.SCREEN)["shift"]["final"]["figures"]
    [hidden] = forum.execute(HOST, ShowShift("final", visible=False), 0)
    assert hidden == ShiftShown("final", "pre", False)
    assert forum.state_view(Role.SCREEN)["shift"]["final"]["figures"] is None
    forum.execute(HOST, OpenPoll("pre"), 0)  # hidden: the poll may reopen


def test_the_host_sees_nothing_before_both_polls_close() -> None:
    forum = battle()
    forum.execute(HOST, OpenPoll("pre"), 0)
    forum.execute(Actor(Role.PARTICIPANT, "p1"), Vote("pre", ("a",), "1"), 0)
    view = forum.state_view(Role.HOST)["shift"]["final"]
    assert not view["ready"] and view["figures"] is None


def test_a_forum_without_comparisons_states_no_shift() -> None:
    plain = ROOM.replace('compare_to = "pre"\n', "")
    assert "shift" not in Forum(parse_programme(plain, source="x.toml")).state_view(Role.HOST)


# -- the programme ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (('compare_to = "pre"', 'compare_to = "later"'), 23, "'later' is not an item"),
        (('compare_to = "pre"', 'compare_to = "panel"'), 23, "'panel' is not a poll"),
        (('compare_to = "pre"', 'compare_to = "final"'), 23, "can't be compared with itself"),
        (('title = "Pre-vote"', 'title = "Pre-vote"\ncompare_to = "final"'), 11, "comes later"),
        (
            ('title = "Final vote"', 'title = "Final vote"\nchoice = "multiple"'),
            24,
            "poll 'final' allows several choices",
        ),
        (('title = "Pre-vote"', 'title = "Pre-vote"\nshift_min_cell = 2'), 11, "only for a poll"),
        (('compare_to = "pre"', 'compare_to = "pre"\nshift_min_cell = 0'), 24, "from 1 to 100"),
    ],
)
def test_compare_to_is_checked_with_file_line_and_field(
    change: tuple[str, str], line: int, reason: str
) -> None:
    with pytest.raises(ProgrammeError) as wrong:
        parse_programme(ROOM.replace(*change), source="battle.toml")
    assert wrong.value.path == "battle.toml" and reason in wrong.value.reason
    assert wrong.value.field.startswith("items[") and wrong.value.line == line


def test_the_statement_names_the_comparison() -> None:
    from townhall.model.statement import programme_from, programme_statement

    programme = parse_programme(ROOM, source="battle.toml")
    stated = programme_statement(programme)["items"][2]
    assert (stated["compare_to"], stated["shift_min_cell"]) == ("pre", 3)
    assert "compare_to" not in programme_statement(programme)["items"][0]
    assert programme_from(programme_statement(programme)).items[2].compare_to == "pre"


def test_every_pair_of_options_is_a_cell() -> None:
    # Different options in the two polls: every pre option x final option, and the net shift
    # over both lists (an option in one poll only counts 0 in the other).
    full = figures((("", "x", "p", 2), ("", "y", "q", 1)), ["x", "y"], ["p", "q"])
    assert len(full["everyone"]["cells"]) == 4 and full["everyone"]["changed"] == 3
    assert [(e["option"], e["net"]) for e in full["everyone"]["net"]] == [
        ("x", -2),
        ("y", -1),
        ("p", 2),
        ("q", 1),
    ]


# -- what the room knows besides the shift: the two polls' tallies ------------------------------


def test_the_pre_vote_tally_does_not_give_a_hidden_cell_away() -> None:
    """The yes/no room above: the room is shown the pre-vote's tally (yes 22, no 18) and the
    final vote's (yes 25, no 15) as results, everyone having voted in both. Those are the rows
    and columns of the table, whatever the shift leaves out: with yes>yes 20 shown, yes>no is
    22 - 20 = 2, a cell under 3. The room's figures must allow for the tallies."""
    cells = (
        ("", "yes", "yes", 20),
        ("", "yes", "no", 2),
        ("", "no", "yes", 5),
        ("", "no", "no", 13),
    )
    full = figures(cells, ["yes", "no"], ["yes", "no"])
    public = public_figures(full, 3, cells)
    assert not worked_out_with_tallies(public, cells, 3)
    assert public["everyone"]["both"] == 40  # the counts of people are always shown


def test_the_choice_of_someone_who_left_after_the_pre_vote_is_not_given_away() -> None:
    """14 people voted in both polls, in cells of 4 or more; one more voted c in the pre-vote
    and left. The pre-vote's tally says c 5; had the room the net shift (c: 4 at the pre-vote
    among the people in both), it would know the one who left voted c."""
    cells = (
        ("", "a", "a", 5),
        ("", "b", "b", 5),
        ("", "c", "", 1),
        ("", "c", "c", 4),
    )
    full = figures(cells, ["a", "b", "c"], ["a", "b", "c"])
    public = public_figures(full, 3, cells)
    assert not worked_out_with_tallies(public, cells, 3)
    assert public["everyone"]["only_pre"] == 1


@pytest.mark.parametrize("seed", range(40))
def test_random_rooms_with_their_tallies_expose_no_small_cell(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    options = ["a", "b", "c", "d"][: rnd.choice([2, 3, 4])]
    groups = rnd.choice([[""], ["jury", ""], ["jury", "audience"], ["jury", "audience", ""]])
    people = {}
    for n in range(rnd.randint(5, 80)):
        pre = rnd.choice(options) if rnd.random() < 0.93 else ""
        final = (pre or rnd.choice(options)) if rnd.random() < 0.7 else rnd.choice(options)
        if pre and rnd.random() < 0.07:
            final = ""
        people[f"p{n}"] = (rnd.choice(groups), pre, final)
    cells = shift_cells(*ballots(people))
    full = figures(cells, options, options)
    min_cell = rnd.choice([2, 3, 5])
    by_group = (rnd.random() < 0.5, rnd.random() < 0.5)
    public = public_figures(full, min_cell, cells, by_group=by_group)
    assert not worked_out_with_tallies(public, cells, min_cell, by_group)


def worked_out_with_tallies(
    public: dict[str, Any],
    cells: tuple[tuple[str, str, str, int], ...],
    min_cell: int,
    by_group: tuple[bool, bool] = (False, False),
) -> list[str]:
    """The small cells someone in the room could work out from the room's figures together with
    what else the room is shown: each poll's tally (everyone's, and each group's for a poll kept
    by group) and that everyone's cells are the groups' summed. The unknowns are every hidden
    cell and, per option, the people who voted in one poll only. Cells the tallies and counts of
    people give away on their own, with nothing of the table shown, are not the shift's."""
    now = _fixed_by(public, cells, by_group)
    nothing = {
        **public,
        "everyone": _nothing_shown(public["everyone"]),
        "by_group": [_nothing_shown(pop) for pop in public["by_group"]],
    }
    before = _fixed_by(nothing, cells, by_group)
    return sorted(name for name, n in now.items() if 0 < n < min_cell and name not in before)


def _nothing_shown(pop: dict[str, Any]) -> dict[str, Any]:
    cells = [{**cell, "people": None} for cell in pop["cells"]]
    return {**pop, "cells": cells, "net": None, "changed": None}


def _fixed_by(
    public: dict[str, Any],
    cells: tuple[tuple[str, str, str, int], ...],
    by_group: tuple[bool, bool],
) -> dict[str, int]:
    """Each cell (`group:pre>final`, "" for a poll not voted in) that the equations fix, with its
    true value."""
    pops = populations(public)
    names = ["*", *(pop["group"] for pop in public["by_group"])]
    pre = [o["id"] if isinstance(o, dict) else o for o in public["pre_options"]]
    final = [o["id"] if isinstance(o, dict) else o for o in public["final_options"]]
    truth: dict[str, int] = {}
    for group, p, f, n in cells:
        for name in ("*", group) if len(names) > 1 else ("*",):
            key = f"{name}:{p}>{f}"
            truth[key] = truth.get(key, 0) + n
    known: dict[str, int] = {}
    unknown: list[str] = []
    for name, pop in zip(names, pops, strict=True):
        for cell in pop["cells"]:
            key = f"{name}:{cell['pre']}>{cell['final']}"
            if cell["people"] is None:
                unknown.append(key)
            else:
                known[key] = cell["people"]
        unknown += [f"{name}:{p}>" for p in pre] + [f"{name}:>{f}" for f in final]
    equations: list[tuple[list[str], int]] = []
    for n, (name, pop) in enumerate(zip(names, pops, strict=True)):
        inside = [f"{name}:{p}>{f}" for p in pre for f in final]
        equations.append((inside, pop["both"]))
        equations.append(([f"{name}:{p}>" for p in pre], pop["only_pre"]))
        equations.append(([f"{name}:>{f}" for f in final], pop["only_final"]))
        for side, options, tallied in (("pre", pre, by_group[0]), ("final", final, by_group[1])):
            if n and not tallied:
                continue
            for option in options:
                row = [
                    k for k in inside if k.split(":", 1)[1].split(">")[side == "final"] == option
                ]
                outside = f"{name}:{option}>" if side == "pre" else f"{name}:>{option}"
                equations.append(([*row, outside], sum(truth.get(k, 0) for k in (*row, outside))))
        if pop["net"] is not None:
            for entry in pop["net"]:
                equations.append(([f"{name}:{entry['option']}>{f}" for f in final], entry["pre"]))
                equations.append(([f"{name}:{p}>{entry['option']}" for p in pre], entry["final"]))
        if pop["changed"] is not None:
            equations.append(
                ([f"{name}:{p}>{f}" for p in pre for f in final if p != f], pop["changed"])
            )
    rows: list[tuple[dict[str, int], int]] = [
        ({k: 1 for k in terms}, total) for terms, total in equations
    ]
    if len(names) > 1:
        for key in {k.split(":", 1)[1] for k in unknown} | {k.split(":", 1)[1] for k in known}:
            rows.append(({f"*:{key}": 1, **{f"{name}:{key}": -1 for name in names[1:]}}, 0))
    return {key: truth.get(key, 0) for key in _solve(rows, known, unknown)}


def _solve(
    rows: list[tuple[dict[str, int], int]], known: dict[str, int], unknown: list[str]
) -> set[str]:
    """The unknowns these equations fix (Gauss-Jordan over exact fractions), taking unknowns of
    one sign that add up to nothing as each nothing."""
    at = {key: n for n, key in enumerate(unknown)}
    matrix: list[list[Fraction]] = []
    for terms, total in rows:
        rest = total - sum(c * known.get(k, 0) for k, c in terms.items() if k not in at)
        free = {k: c for k, c in terms.items() if k in at and c}
        if not free:
            continue
        matrix.append([Fraction(free.get(k, 0)) for k in unknown])
        if len(set(free.values())) == 1 and rest == 0:
            matrix += [[Fraction(int(m == k)) for m in unknown] for k in free]
    pivot_row, pivots = 0, []
    for col in range(len(unknown)):
        found = next((i for i in range(pivot_row, len(matrix)) if matrix[i][col]), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for i in range(len(matrix)):
            if i != pivot_row and matrix[i][col]:
                factor = matrix[i][col]
                matrix[i] = [
                    a - factor * b for a, b in zip(matrix[i], matrix[pivot_row], strict=True)
                ]
        pivots.append(col)
        pivot_row += 1
    return {
        unknown[col]
        for row, col in zip(matrix, pivots, strict=False)
        if sum(1 for v in row if v) == 1
    }


def test_each_side_is_labelled_by_its_own_poll() -> None:
    # Option a is worded apart in the final vote: the pre-vote's side keeps the pre-vote's words.
    final_a = '[{id = "a", label = "Agency"}'
    at = ROOM.rindex(final_a)
    room = ROOM[:at] + final_a.replace("Agency", "Abolish") + ROOM[at + len(final_a) :]
    forum = Forum(parse_programme(room, source="battle.toml"))
    for poll in ("pre", "final"):
        forum.execute(HOST, OpenPoll(poll), 0)
        forum.execute(Actor(Role.PARTICIPANT, "p1"), Vote(poll, ("a",), poll), 0)
        forum.execute(HOST, ClosePoll(poll), 0)
    shown = forum.state_view(Role.HOST)["shift"]["final"]["figures"]
    assert shown["pre_options"][0] == {"id": "a", "label": "Agency"}
    assert shown["final_options"][0] == {"id": "a", "label": "Abolish"}
