"""Scale and ranking polls in the model and the programme: what a ballot may be, how it counts
(a scale's distribution and mean, a ranking's Borda points), a changed ballot taken back with
its own weights, and programme errors that name their field."""

from __future__ import annotations

import pytest

from townhall.model.agenda import ChoiceMode
from townhall.model.commands import (
    Actor,
    AddOption,
    ClosePoll,
    Command,
    OpenPoll,
    Role,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.events import BallotCast
from townhall.model.forum import Forum
from townhall.model.statement import programme_from, programme_statement
from townhall.programme import ProgrammeError, parse_programme

ROOM = """\
[forum]
id = "kinds-forum"
title = "Scales and rankings"
language = "en"

[[items]]
id = "mood"
kind = "poll"
title = "How was it?"
question = "How was today?"
choice = "scale"
scale = [1, 5]
scale_labels = ["Not at all", "Very much"]
results = "live"

[[items]]
id = "order"
kind = "poll"
title = "What first?"
question = "Rank the topics"
choice = "ranking"
options = [
  { id = "a", label = "Alpha" },
  { id = "b", label = "Bravo" },
  { id = "c", label = "Charlie" },
  { id = "d", label = "Delta" },
]
"""

HOST = Actor(Role.HOST, "host")


def person(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


def make_forum(text: str = ROOM) -> Forum:
    forum = Forum(parse_programme(text, source="kinds.toml"))
    forum.execute(HOST, OpenPoll("mood"), 0)
    forum.execute(HOST, OpenPoll("order"), 0)
    return forum


def refused(forum: Forum, actor: Actor, command: Command) -> ForumError:
    before = forum.state_view(Role.HOST)
    with pytest.raises(ForumError) as info:
        forum.execute(actor, command, 0)
    assert forum.state_view(Role.HOST) == before
    return info.value


def test_a_scale_has_its_points_as_options_and_its_ends_words() -> None:
    forum = make_forum()
    item = forum.programme.item("mood")
    assert item is not None and item.choice is ChoiceMode.SCALE
    assert [(o.id, o.label) for o in item.options] == [(str(n), str(n)) for n in range(1, 6)]
    [view] = [i for i in forum.state_view(Role.PARTICIPANT)["items"] if i["id"] == "mood"]
    assert view["choice"] == "scale" and view["scale_labels"] == ["Not at all", "Very much"]
    # The statement the record opens with carries the ends' words, and reads back the same.
    again = programme_from(programme_statement(forum.programme)).item("mood")
    assert again is not None
    assert (again.choice, again.options, again.scale_labels) == (
        item.choice,
        item.options,
        item.scale_labels,
    )


def test_a_scale_counts_each_point_and_its_mean() -> None:
    forum = make_forum()
    assert forum.polls["mood"].tally()["mean"] is None  # no ballot, no mean
    for n, point in enumerate(("5", "4", "4")):
        forum.execute(person(n), Vote("mood", (point,), f"m{n}"), 0)
    tally = forum.polls["mood"].tally()
    assert tally["counts"] == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}
    assert (tally["voters"], tally["mean"]) == (3, 4.33)
    forum.execute(person(0), Vote("mood", ("1",), "m-change"), 0)  # 5 becomes 1
    tally = forum.polls["mood"].tally()
    assert tally["counts"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 0}
    assert (tally["voters"], tally["mean"]) == (3, 3.0)


def test_a_scale_ballot_is_one_point_of_the_scale() -> None:
    forum = make_forum()
    assert refused(forum, person(1), Vote("mood", ("4", "5"), "x")).code == "too_many_choices"
    assert refused(forum, person(1), Vote("mood", ("6",), "x")).code == "unknown_option"
    assert refused(forum, person(1), Vote("mood", (), "x")).code == "invalid_choice"


def test_a_ranking_is_counted_by_borda_points_in_the_voters_order() -> None:
    forum = make_forum()
    [cast] = forum.execute(person(1), Vote("order", ("c", "a", "d", "b"), "r1"), 0)
    assert isinstance(cast, BallotCast)
    assert cast.choices == ("c", "a", "d", "b")  # kept in the voter's order
    forum.execute(person(2), Vote("order", ("a", "b", "c", "d"), "r1"), 0)
    # 4 options: 3, 2, 1 and 0 points for 1st to 4th.
    assert forum.polls["order"].tally()["counts"] == {"a": 2 + 3, "b": 0 + 2, "c": 3 + 1, "d": 1}
    assert forum.my_ballots("p1")["order"]["choices"] == ["c", "a", "d", "b"]


def test_a_changed_ranking_is_taken_back_with_its_own_points() -> None:
    forum = make_forum()
    forum.execute(person(1), Vote("order", ("a", "b", "c", "d"), "r1"), 0)
    forum.execute(person(1), Vote("order", ("d", "c", "b", "a"), "r2"), 0)
    assert forum.polls["order"].tally()["counts"] == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert forum.polls["order"].tally()["voters"] == 1
    forum.execute(HOST, ClosePoll("order"), 5)
    assert forum.polls["order"].openings[-1].counts == {"a": 0, "b": 1, "c": 2, "d": 3}
    # Ties are ties: two voters in opposite orders give every option the same points.
    forum.execute(HOST, OpenPoll("order"), 6)
    forum.execute(person(2), Vote("order", ("a", "b", "c", "d"), "r1"), 0)
    assert set(forum.polls["order"].tally()["counts"].values()) == {3}


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        (("a", "b", "c"), "incomplete_ranking"),  # every option must be placed
        (("a",), "incomplete_ranking"),
        (("a", "b", "c", "c"), "invalid_choice"),  # each once
        (("a", "b", "c", "e"), "unknown_option"),
    ],
)
def test_a_ranking_must_place_every_option_once(choices: tuple[str, ...], code: str) -> None:
    assert refused(make_forum(), person(1), Vote("order", choices, "x")).code == code


def test_scale_and_ranking_options_cannot_be_added_on_the_day() -> None:
    forum = Forum(parse_programme(ROOM, source="kinds.toml"))
    for poll in ("mood", "order"):
        assert refused(forum, HOST, AddOption(poll, "More")).code == "fixed_options"


def test_the_idea_board_cannot_promote_into_a_ranking() -> None:
    text = ROOM.replace(
        '[[items]]\nid = "order"',
        '[[items]]\nid = "ideas"\nkind = "ideas"\ntitle = "Ideas"\npromote_to = "order"\n\n'
        '[[items]]\nid = "order"',
    )
    error = error_for(text)
    assert error.field == "items[2].choice" and "idea board" in error.reason


def error_for(text: str) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as info:
        parse_programme(text, source="kinds.toml")
    return info.value


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("scale = [1, 5]", "scale = [2, 5]", "items[0].scale", "lowest 0 or 1"),
        ("scale = [1, 5]", "scale = [0, 11]", "items[0].scale", "highest up to 10"),
        ("scale = [1, 5]", "scale = [1]", "items[0].scale", "[lowest, highest]"),
        ("scale = [1, 5]", "", "items[0].scale", "[lowest, highest]"),
        (
            'scale_labels = ["Not at all", "Very much"]',
            'scale_labels = ["Only one"]',
            "items[0].scale_labels",
            "two ends",
        ),
        (
            'choice = "scale"',
            'choice = "stars"',
            "items[0].choice",
            "single, multiple, scale, ranking",
        ),
        ('choice = "scale"', 'choice = "single"', "items[0].scale", 'choice = "scale"'),
        (
            'choice = "ranking"',
            'choice = "ranking"\nmax_choices = 2',
            "items[1].max_choices",
            "multiple",
        ),
        (
            '  { id = "d", label = "Delta" },\n',
            "".join(f'  {{ id = "e{n}", label = "E{n}" }},\n' for n in range(6)),
            "items[1].options",
            "2 to 8",
        ),
        (
            'results = "live"',
            'results = "live"\noptions = [{ id = "x", label = "X" }]',
            "items[0].options",
            "its points",
        ),
    ],
)
def test_programme_errors_name_the_field(old: str, new: str, field: str, words: str) -> None:
    assert old in ROOM
    error = error_for(ROOM.replace(old, new, 1))
    assert error.field == field
    assert words in error.reason


def test_the_live_vote_is_not_a_scale_or_a_ranking() -> None:
    for poll in ("mood", "order"):
        text = ROOM + f'\n[selection]\npoll = "{poll}"\n'
        text += '[[selection.candidates]]\nid = "a"\ntitle = "A"\n'
        error = error_for(text)
        assert error.field == "selection.poll" and "live vote" in error.reason
