"""The agenda changed on the day, in the model: quick polls, added talks and boards, added
options and corrected wording, each accepted and refused, and replayed as the log holds them."""

from __future__ import annotations

import pytest

from tests.test_model import ALICE, BOB, HOST, MULTI, SINGLE, make_forum, refused
from townhall.model import limits
from townhall.model.agenda import ChoiceMode, ItemKind
from townhall.model.commands import (
    AddItem,
    AddOption,
    AddPoll,
    ClosePoll,
    EditWording,
    Goto,
    OpenPoll,
    Role,
    Step,
    SubmitPost,
    Vote,
    Wording,
)
from townhall.model.events import (
    ItemAdded,
    OptionAdded,
    WordingChanged,
    from_record,
    to_record,
)
from townhall.model.forum import Forum, PollStatus
from townhall.model.statement import programme_statement


@pytest.fixture
def forum() -> Forum:
    return make_forum()


def ids(forum: Forum) -> list[str]:
    return [item.id for item in forum.programme.items]


def test_a_quick_poll_goes_after_the_current_item_and_is_voted_on(forum: Forum) -> None:
    forum.execute(HOST, Goto(SINGLE), 0)
    (added,) = forum.execute(HOST, AddPoll("Coffee or tea?", ("Coffee", " Tea ")), 0)
    assert isinstance(added, ItemAdded)
    assert ids(forum) == ["intro", SINGLE, "quick-1", MULTI, "questions"]
    poll = forum.polls["quick-1"]
    assert [(o.id, o.label) for o in poll.options] == [("o1", "Coffee"), ("o2", "Tea")]
    assert poll.item.title == poll.item.question == "Coffee or tea?"
    assert forum.current == 1  # still on the item it was on
    forum.execute(HOST, Step(1), 0)
    assert forum.programme.items[forum.current].id == "quick-1"
    forum.execute(HOST, OpenPoll("quick-1"), 0)
    forum.execute(ALICE, Vote("quick-1", ("o2",), "op-1"), 0)
    forum.execute(HOST, ClosePoll("quick-1"), 0)
    assert forum.polls["quick-1"].counts == {"o1": 0, "o2": 1}
    view = forum.state_view(Role.PARTICIPANT)
    assert view["items"][2]["options"] == [
        {"id": "o1", "label": "Coffee"},
        {"id": "o2", "label": "Tea"},
    ]
    assert [r["poll"] for r in forum.poll_results()] == [SINGLE, "quick-1", MULTI]


def test_items_added_before_the_current_one_keep_it_on_screen(forum: Forum) -> None:
    forum.execute(HOST, Goto(MULTI), 0)
    forum.execute(HOST, AddItem(ItemKind.TALK, "Break", "coffee in the hall", after="intro"), 0)
    assert ids(forum) == ["intro", "quick-1", SINGLE, MULTI, "questions"]
    assert forum.programme.items[forum.current].id == MULTI
    assert forum.state_view(Role.HOST)["items"][1]["notes"] == "coffee in the hall"


def test_ids_are_fresh_and_multiple_choice_is_bounded(forum: Forum) -> None:
    forum.execute(HOST, AddPoll("One?", ("a", "b")), 0)
    forum.execute(HOST, AddItem(ItemKind.QNA, "Ask us", moderated=True), 0)
    multi = AddPoll("Which?", ("a", "b", "c"), 2, "Short", live=True)
    forum.execute(HOST, multi, 0)
    assert ids(forum)[1:4] == ["quick-3", "quick-2", "quick-1"]  # each after the current
    poll = forum.polls["quick-3"]
    assert (poll.item.title, poll.item.max_choices, poll.results_visible) == ("Short", 2, True)
    assert poll.item.choice is ChoiceMode.MULTIPLE
    board = forum.boards.boards["quick-2"]
    assert board.item.moderated
    forum.execute(HOST, Goto("quick-2"), 0)
    (post,) = forum.execute(ALICE, SubmitPost("quick-2", "Why?", "", "op-1"), 0)
    assert post.state == "pending"  # type: ignore[union-attr]
    assert refused(forum, HOST, AddPoll("x", ("a", "b"), 3)).code == ("bad_max_choices")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (AddPoll("", ("a", "b")), "text_empty"),
        (AddPoll("q" * (limits.QUESTION + 1), ("a", "b")), "text_too_long"),
        (AddPoll("q", ("a",)), "option_count"),
        (AddPoll("q", tuple(str(n) for n in range(limits.MAX_OPTIONS + 1))), "option_count"),
        (AddPoll("q", ("a", " ")), "text_empty"),
        (AddPoll("q", ("a", "l" * (limits.LABEL + 1))), "text_too_long"),
        (AddPoll("q", ("Yes", "yes")), "duplicate_option"),
        (AddPoll("q", ("a", "b"), title="t" * (limits.TITLE + 1)), "text_too_long"),
        (AddPoll("q", ("a", "b"), after="nowhere"), "unknown_item"),
        (AddItem(ItemKind.POLL, "A poll"), "item_kind_not_added"),
        (AddItem(ItemKind.IDEAS, "Ideas"), "item_kind_not_added"),
        (AddItem(ItemKind.TALK, "  "), "text_empty"),
        (AddItem(ItemKind.TALK, "t", "n" * (limits.NOTES + 1)), "text_too_long"),
        (AddOption("nowhere", "x"), "unknown_poll"),
        (AddOption(SINGLE, "Option A"), "duplicate_option"),
        (AddOption(SINGLE, ""), "text_empty"),
        (EditWording("nowhere", Wording.TITLE, "x"), "unknown_item"),
        (EditWording("intro", Wording.QUESTION, "x"), "not_a_poll"),
        (EditWording("intro", Wording.LABEL, "x", "a"), "not_a_poll"),
        (EditWording(SINGLE, Wording.LABEL, "x", "nope"), "unknown_option"),
        (EditWording(SINGLE, Wording.LABEL, "Option B", "a"), "duplicate_option"),
        (EditWording(SINGLE, Wording.TITLE, ""), "text_empty"),
        (EditWording(SINGLE, Wording.TITLE, "t" * (limits.TITLE + 1)), "text_too_long"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    forum: Forum, command: object, code: str
) -> None:
    assert refused(forum, HOST, command).code == code  # type: ignore[arg-type]


def test_only_the_host_changes_the_agenda(forum: Forum) -> None:
    assert refused(forum, ALICE, AddPoll("q", ("a", "b"))).code == "forbidden"
    assert refused(forum, ALICE, EditWording(SINGLE, Wording.TITLE, "x")).code == "forbidden"


def test_what_is_added_on_the_day_is_bounded(forum: Forum) -> None:
    for _ in range(limits.MAX_ADDED_ITEMS):
        forum.execute(HOST, AddItem(ItemKind.TALK, "More"), 0)
    error = refused(forum, HOST, AddPoll("q", ("a", "b")))
    assert (error.code, error.message) == ("agenda_full", "at most 40 items are added on the day")


def test_the_agenda_is_bounded(forum: Forum, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ADDED_ITEMS", limits.MAX_ITEMS)
    for _ in range(limits.MAX_ITEMS - len(forum.programme.items)):
        forum.execute(HOST, AddItem(ItemKind.TALK, "More"), 0)
    error = refused(forum, HOST, AddPoll("q", ("a", "b")))
    assert (error.code, error.message) == ("agenda_full", "the agenda holds at most 200 items")


def test_an_option_is_added_only_to_a_poll_not_yet_opened(forum: Forum) -> None:
    (added,) = forum.execute(HOST, AddOption(SINGLE, "Option D"), 0)
    assert added == OptionAdded(SINGLE, "o4", "Option D")
    assert forum.polls[SINGLE].counts["o4"] == 0
    forum.execute(HOST, OpenPoll(SINGLE), 0)
    forum.execute(ALICE, Vote(SINGLE, ("o4",), "op-1"), 0)
    assert forum.polls[SINGLE].counts["o4"] == 1
    assert refused(forum, HOST, AddOption(SINGLE, "E")).code == "poll_started"
    forum.execute(HOST, ClosePoll(SINGLE), 0)
    assert refused(forum, HOST, AddOption(SINGLE, "E")).code == "poll_started"
    forum.execute(HOST, AddPoll("q", tuple(str(n) for n in range(limits.MAX_OPTIONS))), 0)
    assert refused(forum, HOST, AddOption("quick-1", "one more")).code == "option_count"


def test_wording_is_corrected_but_a_voted_option_keeps_its_label(forum: Forum) -> None:
    forum.execute(HOST, EditWording(SINGLE, Wording.TITLE, "Choose one"), 0)
    forum.execute(HOST, EditWording(SINGLE, Wording.QUESTION, "Which one, really?"), 0)
    forum.execute(HOST, EditWording(SINGLE, Wording.NOTES, ""), 0)
    forum.execute(HOST, EditWording(SINGLE, Wording.LABEL, "Option Alpha", "a"), 0)
    view = forum.state_view(Role.PARTICIPANT)["items"][1]
    assert (view["title"], view["question"]) == ("Choose one", "Which one, really?")
    assert view["options"][0] == {"id": "a", "label": "Option Alpha"}
    assert forum.polls[SINGLE].item.title == "Choose one"
    assert forum.execute(HOST, EditWording(SINGLE, Wording.TITLE, "Choose one "), 0) == []
    forum.execute(HOST, OpenPoll(MULTI), 0)
    forum.execute(BOB, Vote(MULTI, ("w",), "op-1"), 0)
    assert refused(forum, HOST, EditWording(MULTI, Wording.LABEL, "x", "z")).code == (
        "option_voted"
    )
    forum.execute(HOST, EditWording(MULTI, Wording.QUESTION, "Which ones? (fixed)"), 0)
    assert forum.polls[MULTI].status is PollStatus.OPEN


def test_a_replay_and_a_restart_keep_the_changes_and_the_file_it_started_from() -> None:
    forum = make_forum()
    origin = forum.programme
    done = [
        *forum.execute(HOST, AddPoll("Coffee?", ("Yes", "No")), 0),
        *forum.execute(HOST, AddOption(SINGLE, "Option D"), 0),
        *forum.execute(HOST, EditWording("intro", Wording.TITLE, "Hello"), 0),
        *forum.execute(HOST, EditWording(SINGLE, Wording.LABEL, "A!", "a"), 0),
    ]
    assert forum.origin is origin and forum.programme != origin
    assert origin.fingerprint() != forum.programme.fingerprint()
    replayed = make_forum()
    for event in done:
        replayed.apply(from_record(to_record(event)))
    assert replayed.programme == forum.programme
    assert replayed.state_view(Role.HOST) == forum.state_view(Role.HOST)
    # A restart under the file, its wording corrected: the day's changes stay on top of it.
    replayed.restate(make_forum().programme)
    assert replayed.programme == forum.programme
    assert programme_statement(replayed.origin) == programme_statement(origin)


def test_records_are_flat_and_read_back() -> None:
    event = ItemAdded(2, "quick-1", "poll", "T", "", "Q?", (("o1", "A"), ("o2", "B")))
    record = to_record(event)
    assert record["options"] == (("o1", "A"), ("o2", "B"))
    assert from_record({**record, "options": [["o1", "A"], ["o2", "B"]]}) == event
    wording = WordingChanged("intro", "title", "Hi")
    assert from_record(to_record(wording)) == wording
