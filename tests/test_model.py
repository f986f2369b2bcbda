"""The pure forum model: commands in, events out, state changed only by applying events."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.model import events
from townhall.model.agenda import Programme
from townhall.model.commands import (
    Actor,
    ClosePoll,
    Command,
    Goto,
    OpenPoll,
    PauseTimer,
    ResetTimer,
    Role,
    ShowResults,
    StartTimer,
    Step,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.events import BallotCast, ItemChanged, PollOpened, ResultsShown, TimerReset
from townhall.model.forum import Forum, PollStatus
from townhall.programme import parse_programme

PROGRAMME_TOML = """\
[forum]
title = "Model test forum"
language = "en"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
notes = "host-only note: greet the room"
minutes = 5

[[items]]
id = "pick-one"
kind = "poll"
title = "Pick one"
question = "Which one?"
choice = "single"
results = "on_reveal"
minutes = 2
options = [
  { id = "a", label = "Option A" },
  { id = "b", label = "Option B" },
  { id = "c", label = "Option C" },
]

[[items]]
id = "pick-some"
kind = "poll"
title = "Pick some"
question = "Which ones?"
choice = "multiple"
max_choices = 2
results = "live"
minutes = 1.5
options = [
  { id = "w", label = "W" },
  { id = "x", label = "X" },
  { id = "y", label = "Y" },
  { id = "z", label = "Z" },
]

[[items]]
id = "questions"
kind = "qna"
title = "Questions"
minutes = 10
"""

SINGLE = "pick-one"
MULTI = "pick-some"
MULTI_OPTIONS = ("w", "x", "y", "z")

HOST = Actor(Role.HOST, "host")
SCREEN = Actor(Role.SCREEN, "screen")
ALICE = Actor(Role.PARTICIPANT, "alice")
BOB = Actor(Role.PARTICIPANT, "bob")


def make_programme() -> Programme:
    return parse_programme(PROGRAMME_TOML, source="test.toml")


def make_forum() -> Forum:
    return Forum(make_programme())


@pytest.fixture
def forum() -> Forum:
    return make_forum()


def open_polls(forum: Forum) -> None:
    forum.execute(HOST, OpenPoll(SINGLE), now_ms=0)
    forum.execute(HOST, OpenPoll(MULTI), now_ms=0)


def refused(forum: Forum, actor: Actor, command: Command, now_ms: int = 0) -> ForumError:
    """Execute `command`, expect a refusal, and check nothing changed."""
    before = forum.state_view(Role.HOST)
    with pytest.raises(ForumError) as info:
        forum.execute(actor, command, now_ms)
    assert forum.state_view(Role.HOST) == before
    return info.value


def counts(forum: Forum, poll: str) -> dict[str, int]:
    """The tally's counts without zero entries (an option nobody picked may be absent)."""
    return {k: v for k, v in forum.polls[poll].tally()["counts"].items() if v}


# -- voting ---------------------------------------------------------------------------------


def test_programme_fixture_is_what_the_tests_expect(forum: Forum) -> None:
    assert [item.id for item in forum.programme.items] == ["intro", SINGLE, MULTI, "questions"]
    assert set(forum.polls) == {SINGLE, MULTI}
    assert forum.polls[SINGLE].status is PollStatus.PENDING
    assert forum.seq == 0
    assert forum.current == 0


def test_vote_on_open_poll_is_counted(forum: Forum) -> None:
    open_polls(forum)
    emitted = forum.execute(ALICE, Vote(SINGLE, ("b",), "op-1"), now_ms=0)
    assert emitted == [BallotCast(SINGLE, "alice", ("b",), "op-1")]
    tally = forum.polls[SINGLE].tally()
    assert tally["poll"] == SINGLE
    assert counts(forum, SINGLE) == {"b": 1}
    assert tally["voters"] == 1
    forum.execute(BOB, Vote(SINGLE, ("b",), "op-1"), now_ms=0)  # op ids are per participant
    assert counts(forum, SINGLE) == {"b": 2}
    assert forum.polls[SINGLE].tally()["voters"] == 2


def test_changing_a_vote_replaces_the_ballot(forum: Forum) -> None:
    open_polls(forum)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0)
    emitted = forum.execute(ALICE, Vote(SINGLE, ("c",), "op-2"), now_ms=0)
    assert emitted == [BallotCast(SINGLE, "alice", ("c",), "op-2")]
    assert counts(forum, SINGLE) == {"c": 1}
    assert forum.polls[SINGLE].tally()["counts"].get("a", 0) == 0
    assert forum.polls[SINGLE].tally()["voters"] == 1
    assert forum.my_ballots("alice")[SINGLE]["choices"] == ["c"]


def test_resent_vote_with_same_op_changes_nothing_even_after_a_change(forum: Forum) -> None:
    open_polls(forum)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0)
    forum.execute(ALICE, Vote(SINGLE, ("b",), "op-2"), now_ms=0)
    seq = forum.seq
    # A late resend of the first message must not turn the ballot back to "a".
    assert forum.decide(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0) == []
    assert forum.execute(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0) == []
    # And a resend of the latest one is a no-op too.
    assert forum.execute(ALICE, Vote(SINGLE, ("b",), "op-2"), now_ms=0) == []
    assert forum.seq == seq
    assert counts(forum, SINGLE) == {"b": 1}
    assert forum.polls[SINGLE].ballots["alice"].choices == ("b",)


def test_repeating_the_same_choices_with_a_new_op_changes_no_count(forum: Forum) -> None:
    """A repeat under a new op id leaves the tally as it was.

    It may be recorded (so that a late resend of it is recognised) but only as the same ballot.
    """
    open_polls(forum)
    forum.execute(ALICE, Vote(MULTI, ("x", "w"), "op-1"), now_ms=0)
    # Same set in another order is the same ballot: choices are kept in option order.
    assert forum.polls[MULTI].ballots["alice"].choices == ("w", "x")
    for op, choices in (("op-2", ("w", "x")), ("op-3", ("x", "w"))):
        emitted = forum.execute(ALICE, Vote(MULTI, choices, op), now_ms=0)
        assert emitted in ([], [BallotCast(MULTI, "alice", ("w", "x"), op)])
        assert counts(forum, MULTI) == {"w": 1, "x": 1}
        assert forum.polls[MULTI].tally()["voters"] == 1
        assert forum.polls[MULTI].ballots["alice"].choices == ("w", "x")
    assert forum.vote_ack(ALICE, MULTI, duplicate=True)["choices"] == ["w", "x"]


def test_single_choice_poll_refuses_two_choices(forum: Forum) -> None:
    open_polls(forum)
    error = refused(forum, ALICE, Vote(SINGLE, ("a", "b"), "op-1"))
    assert error.code == "too_many_choices"
    assert "alice" not in forum.polls[SINGLE].ballots


def test_multiple_choice_poll_honours_max_choices(forum: Forum) -> None:
    open_polls(forum)
    assert forum.execute(ALICE, Vote(MULTI, ("y",), "op-1"), now_ms=0)
    assert forum.execute(ALICE, Vote(MULTI, ("w", "z"), "op-2"), now_ms=0)
    error = refused(forum, ALICE, Vote(MULTI, ("w", "x", "y"), "op-3"))
    assert error.code == "too_many_choices"
    assert forum.polls[MULTI].ballots["alice"].choices == ("w", "z")
    assert counts(forum, MULTI) == {"w": 1, "z": 1}


def test_duplicate_choices_are_refused(forum: Forum) -> None:
    open_polls(forum)
    assert refused(forum, ALICE, Vote(MULTI, ("w", "w"), "op-1")).code == "invalid_choice"
    assert refused(forum, ALICE, Vote(SINGLE, ("a", "a"), "op-1")).code == "invalid_choice"


def test_empty_choices_are_refused(forum: Forum) -> None:
    open_polls(forum)
    assert refused(forum, ALICE, Vote(SINGLE, (), "op-1")).code == "invalid_choice"
    # Not even as a way to withdraw an existing ballot.
    forum.execute(ALICE, Vote(MULTI, ("w",), "op-1"), now_ms=0)
    assert refused(forum, ALICE, Vote(MULTI, (), "op-2")).code == "invalid_choice"


def test_unknown_poll_is_refused(forum: Forum) -> None:
    open_polls(forum)
    assert refused(forum, ALICE, Vote("no-such-poll", ("a",), "op-1")).code == "unknown_poll"
    # A talk item is not a poll either.
    assert refused(forum, ALICE, Vote("intro", ("a",), "op-1")).code == "unknown_poll"


def test_unknown_option_is_refused(forum: Forum) -> None:
    open_polls(forum)
    assert refused(forum, ALICE, Vote(SINGLE, ("d",), "op-1")).code == "unknown_option"
    # An option of another poll is unknown here.
    assert refused(forum, ALICE, Vote(SINGLE, ("w",), "op-1")).code == "unknown_option"


def test_pending_and_closed_polls_refuse_votes(forum: Forum) -> None:
    assert forum.polls[SINGLE].status is PollStatus.PENDING
    assert refused(forum, ALICE, Vote(SINGLE, ("a",), "op-1")).code == "poll_not_open"
    forum.execute(HOST, OpenPoll(SINGLE), now_ms=0)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0)
    forum.execute(HOST, ClosePoll(SINGLE), now_ms=0)
    assert forum.polls[SINGLE].status is PollStatus.CLOSED
    assert refused(forum, ALICE, Vote(SINGLE, ("b",), "op-2")).code == "poll_not_open"
    assert refused(forum, BOB, Vote(SINGLE, ("b",), "op-1")).code == "poll_not_open"
    assert counts(forum, SINGLE) == {"a": 1}


def test_open_and_close_are_idempotent(forum: Forum) -> None:
    assert forum.execute(HOST, ClosePoll(SINGLE), now_ms=0) == []  # not open: nothing to close
    assert forum.execute(HOST, OpenPoll(SINGLE), now_ms=0) == [PollOpened(SINGLE)]
    assert forum.execute(HOST, OpenPoll(SINGLE), now_ms=0) == []
    assert forum.polls[SINGLE].status is PollStatus.OPEN
    assert refused(forum, HOST, OpenPoll("intro")).code == "unknown_poll"


def test_only_participants_vote(forum: Forum) -> None:
    open_polls(forum)
    assert refused(forum, HOST, Vote(SINGLE, ("a",), "op-1")).code == "forbidden"
    assert refused(forum, SCREEN, Vote(SINGLE, ("a",), "op-1")).code == "forbidden"
    nobody = Actor(Role.PARTICIPANT, "")
    assert refused(forum, nobody, Vote(SINGLE, ("a",), "op-1")).code == "forbidden"


HOST_ONLY: list[Command] = [
    Goto(MULTI),
    Step(1),
    OpenPoll(SINGLE),
    ClosePoll(MULTI),
    ShowResults(SINGLE, visible=True),
    ShowResults(MULTI, visible=False),
    StartTimer(),
    PauseTimer(),
    ResetTimer(30),
    ResetTimer(),
]


@pytest.mark.parametrize("actor", [ALICE, SCREEN], ids=["participant", "screen"])
@pytest.mark.parametrize("command", HOST_ONLY, ids=repr)
def test_host_commands_are_forbidden_to_others(actor: Actor, command: Command) -> None:
    forum = make_forum()
    forum.execute(HOST, OpenPoll(MULTI), now_ms=0)
    forum.execute(HOST, StartTimer(), now_ms=0)
    seq, current = forum.seq, forum.current
    statuses = {p: poll.status for p, poll in forum.polls.items()}
    visible = {p: poll.results_visible for p, poll in forum.polls.items()}
    error = refused(forum, actor, command, now_ms=5_000)
    assert error.code == "forbidden"
    assert error.as_ack()["ok"] is False
    assert forum.seq == seq
    assert forum.current == current
    assert {p: poll.status for p, poll in forum.polls.items()} == statuses
    assert {p: poll.results_visible for p, poll in forum.polls.items()} == visible
    assert forum.timer.running


# -- the agenda -----------------------------------------------------------------------------


def test_goto_moves_to_the_item(forum: Forum) -> None:
    assert forum.execute(HOST, Goto(MULTI), now_ms=0) == [ItemChanged(2, 90_000)]
    assert forum.current == 2
    assert forum.state_view(Role.PARTICIPANT)["current"] == 2
    assert forum.execute(HOST, Goto(MULTI), now_ms=0) == []  # already there
    assert forum.execute(HOST, Goto("intro"), now_ms=0) == [ItemChanged(0, 300_000)]
    assert forum.current == 0
    assert refused(forum, HOST, Goto("nowhere")).code == "unknown_item"


def test_step_walks_the_agenda_and_stops_at_both_ends(forum: Forum) -> None:
    assert refused(forum, HOST, Step(-1)).code == "agenda_end"
    for expected in (1, 2, 3):
        forum.execute(HOST, Step(1), now_ms=0)
        assert forum.current == expected
    assert refused(forum, HOST, Step(1)).code == "agenda_end"
    assert forum.current == 3
    forum.execute(HOST, Step(-1), now_ms=0)
    assert forum.current == 2
    assert refused(forum, HOST, Step(5)).code == "agenda_end"


def test_step_resets_the_timer_to_the_items_planned_minutes(forum: Forum) -> None:
    assert forum.timer.duration_ms == forum.timer.remaining_ms == 5 * 60_000
    forum.execute(HOST, StartTimer(), now_ms=1_000)
    forum.execute(HOST, Step(1), now_ms=20_000)
    assert not forum.timer.running
    assert forum.timer.duration_ms == forum.timer.remaining_ms == 2 * 60_000
    forum.execute(HOST, Step(1), now_ms=21_000)
    assert forum.timer.duration_ms == forum.timer.remaining_ms == 90_000  # 1.5 minutes
    forum.execute(HOST, Step(1), now_ms=22_000)
    assert forum.timer.remaining_ms == 10 * 60_000
    assert forum.timer.remaining_at(10**9) == 10 * 60_000  # stopped: does not run down


# -- the timer ------------------------------------------------------------------------------


def test_timer_start_pause_and_resume_arithmetic(forum: Forum) -> None:
    assert forum.execute(HOST, StartTimer(), now_ms=10_000) == [events.TimerStarted(10_000)]
    assert forum.timer.running
    assert forum.timer.started_at_ms == 10_000
    assert forum.timer.remaining_at(10_000) == 300_000
    assert forum.timer.remaining_at(70_000) == 240_000
    assert forum.execute(HOST, StartTimer(), now_ms=20_000) == []  # already running
    assert forum.timer.started_at_ms == 10_000

    assert forum.execute(HOST, PauseTimer(), now_ms=40_000) == [events.TimerPaused(40_000, 270_000)]
    assert not forum.timer.running
    assert forum.timer.remaining_ms == 270_000
    assert forum.timer.remaining_at(999_999) == 270_000
    assert forum.execute(HOST, PauseTimer(), now_ms=50_000) == []  # already paused

    forum.execute(HOST, StartTimer(), now_ms=100_000)
    assert forum.timer.remaining_at(105_000) == 265_000
    forum.execute(HOST, PauseTimer(), now_ms=110_000)
    assert forum.timer.remaining_ms == 260_000
    assert forum.timer.duration_ms == 300_000


def test_timer_runs_out_and_must_be_reset(forum: Forum) -> None:
    forum.execute(HOST, StartTimer(), now_ms=0)
    assert forum.timer.remaining_at(299_999) == 1
    assert forum.timer.remaining_at(400_000) == 0  # never negative
    forum.execute(HOST, PauseTimer(), now_ms=400_000)
    assert forum.timer.remaining_ms == 0
    assert refused(forum, HOST, StartTimer(), now_ms=400_001).code == "timer_finished"
    forum.execute(HOST, ResetTimer(), now_ms=400_002)
    assert forum.timer.remaining_ms == 300_000
    assert forum.execute(HOST, StartTimer(), now_ms=400_003) == [events.TimerStarted(400_003)]


def test_timer_reset_with_seconds_and_to_plan(forum: Forum) -> None:
    forum.execute(HOST, StartTimer(), now_ms=0)
    assert forum.execute(HOST, ResetTimer(90), now_ms=30_000) == [TimerReset(90_000)]
    assert not forum.timer.running
    assert forum.timer.duration_ms == forum.timer.remaining_ms == 90_000
    assert forum.timer.remaining_at(10**9) == 90_000
    forum.execute(HOST, ResetTimer(0), now_ms=0)
    assert forum.timer.remaining_ms == 0
    forum.execute(HOST, Goto(SINGLE), now_ms=0)
    forum.execute(HOST, ResetTimer(5), now_ms=0)
    assert forum.execute(HOST, ResetTimer(), now_ms=0) == [TimerReset(120_000)]
    assert forum.timer.view() == {
        "duration_ms": 120_000,
        "remaining_ms": 120_000,
        "running": False,
        "started_at_ms": 0,
    }


# -- results and views ----------------------------------------------------------------------


def test_results_visibility_follows_the_poll_setting_and_show_results(forum: Forum) -> None:
    assert forum.polls[MULTI].results_visible  # results = "live"
    assert not forum.polls[SINGLE].results_visible  # results = "on_reveal"
    assert forum.execute(HOST, ShowResults(SINGLE, visible=True), now_ms=0) == [
        ResultsShown(SINGLE, True)
    ]
    assert forum.polls[SINGLE].results_visible
    assert forum.execute(HOST, ShowResults(SINGLE, visible=True), now_ms=0) == []
    forum.execute(HOST, ShowResults(SINGLE, visible=False), now_ms=0)
    assert not forum.polls[SINGLE].results_visible
    forum.execute(HOST, ShowResults(MULTI, visible=False), now_ms=0)
    assert not forum.polls[MULTI].results_visible
    assert refused(forum, HOST, ShowResults("nope", visible=True)).code == "unknown_poll"


def test_state_view_hides_tally_from_participants_until_visible(forum: Forum) -> None:
    open_polls(forum)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "op-1"), now_ms=0)
    forum.execute(ALICE, Vote(MULTI, ("w", "y"), "op-2"), now_ms=0)
    for role in (Role.PARTICIPANT, Role.SCREEN):
        view = forum.state_view(role)
        assert view["polls"][SINGLE]["tally"] is None
        assert view["polls"][SINGLE]["results_visible"] is False
        assert view["polls"][MULTI]["tally"] == forum.polls[MULTI].tally()
    host = forum.state_view(Role.HOST)
    assert host["polls"][SINGLE]["tally"] == forum.polls[SINGLE].tally()
    assert host["polls"][SINGLE]["tally"]["counts"] == {"a": 1, "b": 0, "c": 0}
    assert host["polls"][MULTI]["tally"] == forum.polls[MULTI].tally()

    forum.execute(HOST, ShowResults(SINGLE, visible=True), now_ms=0)
    forum.execute(HOST, ShowResults(MULTI, visible=False), now_ms=0)
    participant = forum.state_view(Role.PARTICIPANT)
    assert participant["polls"][SINGLE]["tally"] == forum.polls[SINGLE].tally()
    assert participant["polls"][MULTI]["tally"] is None
    host = forum.state_view(Role.HOST)
    assert host["polls"][MULTI]["tally"] == forum.polls[MULTI].tally()
    assert forum.tally_visible_to(MULTI, Role.HOST)
    assert not forum.tally_visible_to(MULTI, Role.SCREEN)


def test_notes_are_only_in_the_host_view(forum: Forum) -> None:
    host_items = forum.state_view(Role.HOST)["items"]
    assert host_items[0]["notes"] == "host-only note: greet the room"
    assert host_items[3]["notes"] == ""
    for role in (Role.PARTICIPANT, Role.SCREEN):
        items = forum.state_view(role)["items"]
        assert all("notes" not in item for item in items)
        assert "host-only note" not in json.dumps(forum.state_view(role))
    poll = forum.state_view(Role.PARTICIPANT)["items"][1]
    assert poll["question"] == "Which one?"
    assert poll["options"] == [
        {"id": "a", "label": "Option A"},
        {"id": "b", "label": "Option B"},
        {"id": "c", "label": "Option C"},
    ]
    assert poll["max_choices"] == 1
    assert forum.state_view(Role.PARTICIPANT)["items"][2]["max_choices"] == 2


def test_vote_ack_version_matches_ballot_and_tally(forum: Forum) -> None:
    open_polls(forum)
    forum.execute(ALICE, Vote(MULTI, ("x",), "op-1"), now_ms=0)
    ack = forum.vote_ack(ALICE, MULTI, duplicate=False)
    ballot = forum.polls[MULTI].ballots["alice"]
    assert ack == {
        "ok": True,
        "poll": MULTI,
        "choices": ["x"],
        "version": ballot.version,
        "duplicate": False,
    }
    assert ack["version"] > 0
    assert forum.polls[MULTI].tally()["version"] >= ack["version"]

    forum.execute(BOB, Vote(MULTI, ("y",), "op-1"), now_ms=0)
    assert forum.polls[MULTI].tally()["version"] > ack["version"]
    assert forum.vote_ack(ALICE, MULTI, duplicate=False)["version"] == ack["version"]
    bob_ack = forum.vote_ack(BOB, MULTI, duplicate=False)
    assert bob_ack["version"] == forum.polls[MULTI].ballots["bob"].version
    assert bob_ack["version"] > ack["version"]
    assert forum.polls[MULTI].tally()["version"] >= bob_ack["version"]
    assert forum.my_ballots("bob") == {MULTI: {"choices": ["y"], "version": bob_ack["version"]}}

    # Other polls' events do not move this poll's version.
    version = forum.polls[MULTI].tally()["version"]
    forum.execute(ALICE, Vote(SINGLE, ("a",), "op-2"), now_ms=0)
    assert forum.polls[MULTI].tally()["version"] == version


def test_replaying_the_events_rebuilds_the_same_state(forum: Forum) -> None:
    script: list[tuple[Actor, Command, int]] = [
        (HOST, OpenPoll(SINGLE), 0),
        (HOST, StartTimer(), 1_000),
        (ALICE, Vote(SINGLE, ("a",), "a-1"), 2_000),
        (BOB, Vote(SINGLE, ("c",), "b-1"), 2_500),
        (ALICE, Vote(SINGLE, ("b",), "a-2"), 3_000),
        (ALICE, Vote(SINGLE, ("a",), "a-1"), 3_100),  # late resend: no event
        (HOST, PauseTimer(), 4_000),
        (HOST, ShowResults(SINGLE, visible=True), 5_000),
        (HOST, ClosePoll(SINGLE), 6_000),
        (HOST, Step(1), 7_000),
        (HOST, OpenPoll(MULTI), 8_000),
        (BOB, Vote(MULTI, ("z", "w"), "b-2"), 9_000),
        (ALICE, Vote(MULTI, ("x",), "a-3"), 9_500),
        (BOB, Vote(MULTI, ("x",), "b-3"), 9_600),
        (HOST, ShowResults(MULTI, visible=False), 9_700),
        (HOST, ResetTimer(45), 9_800),
        (HOST, StartTimer(), 10_000),
        (HOST, PauseTimer(), 12_345),
        (HOST, Goto(MULTI), 13_000),
    ]
    journal: list[str] = []
    for actor, command, now_ms in script:
        for event in forum.execute(actor, command, now_ms):
            journal.append(json.dumps(events.to_record(event)))
    assert len(journal) == forum.seq

    replayed = make_forum()
    for line in journal:
        replayed.apply(events.from_record(json.loads(line)))

    for role in Role:
        assert replayed.state_view(role) == forum.state_view(role)
    for participant in ("alice", "bob", "carol"):
        assert replayed.my_ballots(participant) == forum.my_ballots(participant)
    for poll_id, poll in forum.polls.items():
        assert replayed.polls[poll_id].ballots == poll.ballots
    # Resend detection survives the replay.
    assert replayed.decide(BOB, Vote(MULTI, ("z", "w"), "b-2"), now_ms=0) == []
    assert forum.decide(BOB, Vote(MULTI, ("z", "w"), "b-2"), now_ms=0) == []
    assert replayed.my_ballots("alice") == {
        SINGLE: {"choices": ["b"], "version": forum.polls[SINGLE].ballots["alice"].version},
        MULTI: {"choices": ["x"], "version": forum.polls[MULTI].ballots["alice"].version},
    }


def test_event_records_round_trip() -> None:
    samples: list[events.Event] = [
        ItemChanged(2, 90_000),
        PollOpened("p"),
        events.PollClosed("p"),
        ResultsShown("p", False),
        BallotCast("p", "alice", ("a", "b"), "op-1"),
        events.TimerStarted(5),
        events.TimerPaused(6, 1_000),
        TimerReset(7_000),
    ]
    for event in samples:
        record = events.to_record(event)
        assert record["t"] == event.type
        assert events.from_record(json.loads(json.dumps(record))) == event
    with pytest.raises(ValueError, match="unknown event type"):
        events.from_record({"t": "nope"})


# -- property: the tally always agrees with the ballots --------------------------------------

votes = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "p3"]),
        st.lists(st.sampled_from(MULTI_OPTIONS), max_size=4),
        st.sampled_from([f"op-{i}" for i in range(6)]),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(votes)
def test_tally_always_matches_the_ballots(sequence: list[tuple[str, list[str], str]]) -> None:
    forum = make_forum()
    forum.execute(HOST, OpenPoll(MULTI), now_ms=0)
    poll = forum.polls[MULTI]
    for participant, choices, op in sequence:
        actor = Actor(Role.PARTICIPANT, participant)
        ballot = poll.ballots.get(participant)
        well_formed = bool(choices) and len(set(choices)) == len(choices) <= 2
        resend = ballot is not None and op in ballot.ops and well_formed
        try:
            events = forum.execute(actor, Vote(MULTI, tuple(choices), op), now_ms=0)
        except ForumError as error:
            assert not resend, "a resend of a counted message is never refused"
            if not choices or len(set(choices)) != len(choices):
                assert error.code == "invalid_choice"
            else:
                assert len(choices) > 2
                assert error.code == "too_many_choices"
        else:
            if resend:
                assert events == [], "a message id already counted changes nothing"
            else:
                assert choices and len(set(choices)) == len(choices) <= 2
        tally = poll.tally()
        recomputed = Counter(c for ballot in poll.ballots.values() for c in ballot.choices)
        assert all(option in MULTI_OPTIONS for option in tally["counts"])
        for option in MULTI_OPTIONS:
            assert tally["counts"].get(option, 0) == recomputed[option]
        assert tally["voters"] == len(poll.ballots)
        assert set(poll.ballots) <= {"p1", "p2", "p3"}
        for ballot in poll.ballots.values():
            assert 1 <= len(ballot.choices) <= 2
            assert list(ballot.choices) == [o for o in MULTI_OPTIONS if o in ballot.choices]
            assert ballot.version <= tally["version"]


def test_late_resend_of_a_repeated_vote_does_not_undo_a_later_change(forum: Forum) -> None:
    """The resend of a repeat (same choices, new op) must not revert a later change.

    The phone sends a-2 (a repeat of "a"), then a-3 ("b"); the connection drops before either
    ack arrives, so it resends a-2 and a-3 in order. The ballot must end as "b".
    """
    open_polls(forum)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "a-1"), now_ms=0)
    forum.execute(ALICE, Vote(SINGLE, ("a",), "a-2"), now_ms=0)
    forum.execute(ALICE, Vote(SINGLE, ("b",), "a-3"), now_ms=0)
    assert forum.execute(ALICE, Vote(SINGLE, ("a",), "a-2"), now_ms=0) == []
    assert forum.execute(ALICE, Vote(SINGLE, ("b",), "a-3"), now_ms=0) == []
    assert forum.polls[SINGLE].ballots["alice"].choices == ("b",)
