"""The board rules on their own: posts, upvotes, moderation, merge and promotion. No server."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.model import events
from townhall.model.board import (
    MAX_POSTS_PER_BOARD,
    MAX_STORED_POSTS_PER_BOARD,
    PENDING_PER_PARTICIPANT,
    POSTS_PER_BOARD,
    POSTS_PER_WINDOW,
    PostState,
)
from townhall.model.commands import (
    Actor,
    AnswerPost,
    ApprovePost,
    Command,
    EditPost,
    HideAuthor,
    HidePost,
    MergePosts,
    OpenPoll,
    PinPost,
    PromoteIdeas,
    PurgeHidden,
    Role,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.forum import Forum
from townhall.programme import parse_programme

ROOM = """
[forum]
title = "Boards"

[[items]]
id = "qna"
kind = "qna"
title = "Questions"
max_length = 50

[[items]]
id = "moderated"
kind = "qna"
title = "Moderated"
moderated = true
names = "required"

[[items]]
id = "ideas"
kind = "ideas"
title = "Ideas"
names = "anonymous"
promote_to = "pick"
promote_count = 2

[[items]]
id = "pick"
kind = "poll"
title = "Pick"
"""
HOST = Actor(Role.HOST, "host")
MINUTE = 60_000


def person(name: str) -> Actor:
    return Actor(Role.PARTICIPANT, name)


@pytest.fixture
def forum() -> Forum:
    return Forum(parse_programme(ROOM, source="boards.toml"))


def run(forum: Forum, actor: Actor, command: Command, now_ms: int = 0) -> list[events.Event]:
    return forum.execute(actor, command, now_ms)


def refused(forum: Forum, actor: Actor, command: Command, now_ms: int = 0) -> str:
    seq = forum.seq
    with pytest.raises(ForumError) as error:
        forum.execute(actor, command, now_ms)
    assert forum.seq == seq, "a refusal changes nothing"
    return error.value.code


def post(forum: Forum, who: str, text: str, board: str = "qna", op: str = "", at: int = 0) -> int:
    run(forum, person(who), SubmitPost(board, text, "", op or f"{who}-{text}"), at)
    return forum.seq


def test_a_post_is_shown_at_once_or_waits_for_approval(forum: Forum) -> None:
    shown = post(forum, "ann", "Why now?")
    assert forum.boards.posts[shown].state is PostState.VISIBLE
    run(forum, person("bob"), SubmitPost("moderated", "Is it legal?", "Bob", "b1"))
    waiting = forum.seq
    assert forum.boards.posts[waiting].state is PostState.PENDING
    public = forum.board_views(Role.PARTICIPANT)["moderated"]["posts"]
    assert public == [], "pending posts reach only the host"
    assert [p["id"] for p in forum.board_views(Role.HOST)["moderated"]["posts"]] == [waiting]
    assert forum.boards.my_posts("bob")[0]["state"] == "pending", "the author sees it waiting"
    run(forum, HOST, ApprovePost(waiting))
    assert forum.board_views(Role.SCREEN)["moderated"]["posts"][0]["text"] == "Is it legal?"


def test_a_resent_post_is_posted_once(forum: Forum) -> None:
    first = post(forum, "ann", "Why now?", op="op-1")
    assert run(forum, person("ann"), SubmitPost("qna", "Why now?", "", "op-1")) == []
    ack = forum.post_ack(person("ann"), SubmitPost("qna", "Why now?", "", "op-1"), duplicate=True)
    assert ack == {"ok": True, "post": first, "state": "visible", "duplicate": True}
    assert len(forum.boards.boards["qna"].posts) == 1


def fill(forum: Forum, board: str, count: int) -> list[int]:
    """`count` posts on `board`, each by another participant, so no per-person limit applies."""
    return [post(forum, f"filler{n}", f"post {n}", board=board, op="f") for n in range(count)]


def test_a_full_board_refuses_new_posts_but_acks_resends(forum: Forum) -> None:
    fill(forum, "qna", MAX_POSTS_PER_BOARD - 1)
    last = post(forum, "ann", "Just in time?", op="a1")  # the board's last place
    seq = forum.seq
    with pytest.raises(ForumError) as error:
        run(forum, person("bob"), SubmitPost("qna", "One too many?", "", "b1"))
    assert error.value.code == "board_full"
    assert str(error.value) == f"this board is full: it holds {MAX_POSTS_PER_BOARD} posts"
    assert forum.seq == seq, "a refusal changes nothing"

    resend = SubmitPost("qna", "Just in time?", "", "a1")
    assert run(forum, person("ann"), resend) == [], "a resend is acked on a full board"
    ack = forum.post_ack(person("ann"), resend, duplicate=True)
    assert ack == {"ok": True, "post": last, "state": "visible", "duplicate": True}
    assert run(forum, person("filler0"), SubmitPost("qna", "", "", "f")) == [], "even garbled"
    assert refused(forum, person("bob"), SubmitPost("qna", " ", "", "b1")) == "empty_post"
    post(forum, "bob", "Elsewhere?", board="ideas")  # each board has its own room


def test_hiding_or_merging_frees_room_on_a_full_board(forum: Forum) -> None:
    ids = fill(forum, "qna", MAX_POSTS_PER_BOARD)
    assert refused(forum, person("bob"), SubmitPost("qna", "Room?", "", "b1")) == "board_full"
    run(forum, HOST, HidePost(ids[0]))
    post(forum, "bob", "Room?", op="b1")
    assert refused(forum, person("cat"), SubmitPost("qna", "And me?", "", "c1")) == "board_full"
    run(forum, HOST, MergePosts(ids[1], ids[2]))
    post(forum, "cat", "And me?", op="c1")
    run(forum, HOST, AnswerPost(ids[3]))
    assert refused(forum, person("dan"), SubmitPost("qna", "Me?", "", "d1")) == "board_full", (
        "an answered post is still shown, so it keeps its place"
    )
    run(forum, HOST, ApprovePost(ids[0]))  # the host may show a hidden post again on a full board
    counted = [p for p in forum.boards.boards["qna"].posts.values() if p.state.counted]
    assert len(counted) == MAX_POSTS_PER_BOARD + 1


def test_every_post_stored_counts_toward_a_larger_bound(forum: Forum) -> None:
    for n in range(MAX_STORED_POSTS_PER_BOARD):
        hidden = post(forum, f"spammer{n}", "spam", op="s")
        run(forum, HOST, HidePost(hidden))
    seq = forum.seq
    with pytest.raises(ForumError) as error:
        run(forum, person("ann"), SubmitPost("qna", "Any room?", "", "a1"))
    assert error.value.code == "board_full"
    assert "2000 posts, hidden ones too" in str(error.value)
    assert forum.seq == seq


def test_a_participant_may_have_a_few_posts_waiting_at_a_time(forum: Forum) -> None:
    def ask(n: int) -> SubmitPost:
        return SubmitPost("moderated", f"Question {n}", "Ann", f"q{n}")

    waiting = []
    for n in range(PENDING_PER_PARTICIPANT):
        run(forum, person("ann"), ask(n), n * MINUTE)
        waiting.append(forum.seq)
    later = PENDING_PER_PARTICIPANT * MINUTE
    assert refused(forum, person("ann"), ask(9), later) == "pending_limit"
    run(forum, person("bob"), SubmitPost("moderated", "Mine?", "Bob", "b1"), later)
    run(forum, HOST, ApprovePost(waiting[0]))
    run(forum, person("ann"), ask(9), later)  # an approved post no longer waits
    assert refused(forum, person("ann"), ask(10), later + MINUTE) == "pending_limit"
    run(forum, HOST, HidePost(waiting[1]))
    run(forum, person("ann"), ask(10), later + MINUTE)  # nor does a hidden one


def test_the_host_hides_every_post_of_one_author_on_a_board(forum: Forum) -> None:
    spam = [post(forum, "eve", f"spam {n}", at=n * MINUTE) for n in range(4)]
    other = post(forum, "ann", "A real question")
    elsewhere = post(forum, "eve", "spam elsewhere", board="ideas")
    run(forum, HOST, HidePost(spam[1]))
    run(forum, HOST, AnswerPost(spam[2]))
    run(forum, HOST, MergePosts(spam[3], other))
    run(forum, HOST, PinPost("qna", spam[0]))
    hid = run(forum, HOST, HideAuthor(spam[1]))  # named by a hidden post of theirs
    assert hid == [
        events.PostStateSet(spam[0], "hidden"),
        events.PostStateSet(spam[2], "hidden"),
    ], "one event per post shown, waiting or answered; the merged one stays merged"
    states = {p: forum.boards.posts[p].state.value for p in (*spam, other, elsewhere)}
    assert states == {
        spam[0]: "hidden",
        spam[1]: "hidden",
        spam[2]: "hidden",
        spam[3]: "merged",
        other: "visible",
        elsewhere: "visible",
    }, "only that author's posts, only on that board"
    assert forum.boards.boards["qna"].pinned == 0
    assert run(forum, HOST, HideAuthor(spam[0])) == [], "nothing left to hide"
    assert refused(forum, HOST, HideAuthor(999)) == "unknown_post"
    assert refused(forum, person("ann"), HideAuthor(spam[0])) == "forbidden"


def test_a_purge_removes_hidden_posts_and_what_was_merged_into_them(forum: Forum) -> None:
    spam, dupe, kept, other_dupe = (post(forum, n, n) for n in ("eve", "fay", "ann", "bob"))
    run(forum, person("cat"), Upvote(spam, True, "u"))
    run(forum, HOST, MergePosts(dupe, spam))
    run(forum, HOST, MergePosts(other_dupe, kept))
    run(forum, HOST, HidePost(spam))
    assert run(forum, HOST, PurgeHidden("qna")) == [events.PostsPurged("qna", (spam, dupe))]
    assert list(forum.boards.boards["qna"].posts) == [kept, other_dupe]
    assert forum.boards.my_upvotes("cat") == {} and forum.boards.my_posts("eve") == []
    assert forum.boards.boards["qna"].purged == {"eve": [0], "fay": [0]}
    assert run(forum, HOST, PurgeHidden("qna")) == []
    assert refused(forum, HOST, ApprovePost(spam)) == "unknown_post"
    assert refused(forum, person("ann"), PurgeHidden("qna")) == "forbidden"
    assert refused(forum, HOST, PurgeHidden("nowhere")) == "unknown_board"
    # The author's own limits still count the purged post: here, its minute.
    for n in range(1, POSTS_PER_WINDOW):
        post(forum, "eve", f"again {n}", op=f"e{n}")
    assert refused(forum, person("eve"), SubmitPost("qna", "more", "", "e-more")) == "post_rate"
    record = events.to_record(events.PostsPurged("qna", (spam, dupe)))
    assert events.from_record(record) == events.PostsPurged("qna", (spam, dupe))


def test_an_upvotes_id_reused_for_another_post_is_a_new_message(forum: Forum) -> None:
    shown = post(forum, "ann", "Why now?")
    other = post(forum, "bob", "Why here?")
    hidden = post(forum, "eve", "Who pays?")
    run(forum, person("cat"), Upvote(hidden, True, "c0"))
    run(forum, HOST, HidePost(hidden))
    run(forum, person("cat"), Upvote(shown, True, "c1"))

    # Checked as new, not acked as a resend that would read out the hidden post's state and count.
    assert refused(forum, person("cat"), Upvote(hidden, True, "c1")) == "post_not_open"
    assert refused(forum, person("cat"), Upvote(999, True, "c1")) == "unknown_post"
    run(forum, HOST, MergePosts(other, shown))
    assert refused(forum, person("cat"), Upvote(other, True, "c1")) == "post_merged"
    assert run(forum, person("cat"), Upvote(hidden, False, "c0")) == [], "a true resend still is"

    third = post(forum, "fay", "And when?")
    moved = run(forum, person("cat"), Upvote(third, True, "c1"))
    assert moved == [events.UpvoteSet(third, "cat", True, "c1")]
    assert run(forum, person("cat"), Upvote(third, False, "c1")) == [], "c1 now stands for it"
    back = run(forum, person("cat"), Upvote(shown, False, "c1"))
    assert back == [events.UpvoteSet(shown, "cat", False, "c1")], "and no longer for the first"
    assert forum.boards.posts[shown].upvoters == set()
    assert forum.boards.posts[third].upvoters == {"cat"}
    assert forum.boards.posts[hidden].upvoters == {"cat"}, "the hidden post is untouched"


def test_an_upvotes_id_reused_for_a_post_makes_a_new_post(forum: Forum) -> None:
    hidden = post(forum, "ann", "Who pays?")
    run(forum, person("bob"), Upvote(hidden, True, "b1"))
    run(forum, HOST, HidePost(hidden))
    made = run(forum, person("bob"), SubmitPost("qna", "Mine now?", "", "b1"))
    assert [type(e) for e in made] == [events.PostCreated]
    mine = forum.seq
    ack = forum.post_ack(person("bob"), SubmitPost("qna", "Mine now?", "", "b1"), False)
    assert ack == {"ok": True, "post": mine, "state": "visible", "duplicate": False}
    assert run(forum, person("bob"), SubmitPost("qna", "Mine now?", "", "b1")) == []
    resent = forum.post_ack(person("bob"), SubmitPost("qna", "Mine now?", "", "b1"), True)
    assert resent == {"ok": True, "post": mine, "state": "visible", "duplicate": True}
    assert [p.id for p in forum.boards.posts.values() if p.author == "bob"] == [mine]


@pytest.mark.parametrize(
    ("board", "text", "name", "code"),
    [
        ("qna", "   ", "", "empty_post"),
        ("qna", "x" * 51, "", "post_too_long"),
        ("moderated", "ok", " ", "name_required"),
        ("moderated", "ok", "n" * 41, "name_too_long"),
        ("nope", "ok", "", "unknown_board"),
        ("pick", "ok", "", "unknown_board"),
    ],
)
def test_bad_posts_are_refused(forum: Forum, board: str, text: str, name: str, code: str) -> None:
    assert refused(forum, person("ann"), SubmitPost(board, text, name, "o")) == code


def test_names_follow_the_board(forum: Forum) -> None:
    run(forum, person("ann"), SubmitPost("ideas", "More shelves", "Ann", "o1"))
    assert forum.boards.posts[forum.seq].name == "", "an anonymous board drops the name"
    run(forum, person("ann"), SubmitPost("qna", " Q ", "  Ann ", "o2"))
    assert (forum.boards.posts[forum.seq].name, forum.boards.posts[forum.seq].text) == ("Ann", "Q")


def test_posting_is_rate_limited_per_participant_and_board(forum: Forum) -> None:
    for n in range(POSTS_PER_WINDOW):
        post(forum, "ann", f"q{n}", at=n)
    assert refused(forum, person("ann"), SubmitPost("qna", "again", "", "x"), 10) == "post_rate"
    post(forum, "bob", "mine", at=10)  # others are not held back
    post(forum, "ann", "later", at=MINUTE + 10)  # a minute on, ann may post again
    for n in range(POSTS_PER_BOARD - POSTS_PER_WINDOW - 1):
        post(forum, "ann", f"r{n}", at=MINUTE * (n + 2))
    late = SubmitPost("qna", "one more", "", "last")
    assert refused(forum, person("ann"), late, MINUTE * 100) == "post_limit"


def test_upvote_take_back_and_resends(forum: Forum) -> None:
    q = post(forum, "ann", "Why now?")
    run(forum, person("bob"), Upvote(q, True, "u1"))
    run(forum, person("bob"), Upvote(q, True, "u2"))  # a second tap: still one upvote
    assert forum.boards.posts[q].upvoters == {"bob"}
    run(forum, person("bob"), Upvote(q, False, "u3"))
    assert forum.boards.posts[q].upvoters == set()
    assert run(forum, person("bob"), Upvote(q, True, "u1")) == [], "a late resend is recognised"
    assert forum.boards.posts[q].upvoters == set(), "and does not undo the take-back"
    assert forum.boards.my_upvotes("bob") == {}
    run(forum, person("cat"), Upvote(q, True, "c1"))
    view = forum.board_views(Role.PARTICIPANT)["qna"]["posts"][0]
    assert view["upvotes"] == 1
    assert "original" not in view and "author" not in view


def test_upvotes_only_on_shown_posts(forum: Forum) -> None:
    run(forum, person("bob"), SubmitPost("moderated", "Hm?", "Bob", "b1"))
    pending = forum.seq
    assert refused(forum, person("ann"), Upvote(pending, True, "u")) == "post_not_open"
    assert refused(forum, person("ann"), Upvote(999, True, "u")) == "unknown_post"
    run(forum, HOST, ApprovePost(pending))
    run(forum, HOST, HidePost(pending))
    assert refused(forum, person("ann"), Upvote(pending, True, "u")) == "post_not_open"


def test_moderation_pin_answer_and_edit(forum: Forum) -> None:
    q = post(forum, "ann", "Wy now?")
    run(forum, HOST, PinPost("qna", q))
    assert forum.boards.boards["qna"].pinned == q
    run(forum, HOST, EditPost(q, "Why now?"))
    edited = forum.board_views(Role.HOST)["qna"]["posts"][0]
    assert (edited["text"], edited["original"], edited["edited"]) == ("Why now?", "Wy now?", True)
    run(forum, HOST, EditPost(q, "Why now, exactly?"))
    assert forum.boards.posts[q].original == "Wy now?", "the first text stays on record"
    run(forum, HOST, AnswerPost(q))
    assert forum.boards.posts[q].state is PostState.ANSWERED
    assert forum.boards.boards["qna"].pinned == 0, "an answered post is no longer pinned"
    assert refused(forum, HOST, PinPost("qna", q)) == "post_not_open"
    assert run(forum, HOST, PinPost("qna", 0)) == [], "already unpinned"


def test_board_commands_are_the_hosts(forum: Forum) -> None:
    q = post(forum, "ann", "Why?")
    for actor in (person("ann"), Actor(Role.SCREEN, "screen")):
        for command in (
            ApprovePost(q),
            HidePost(q),
            AnswerPost(q),
            EditPost(q, "x"),
            PinPost("qna", q),
            MergePosts(q, q),
            HideAuthor(q),
            PromoteIdeas("ideas"),
        ):
            assert refused(forum, actor, command) == "forbidden"
    assert refused(forum, HOST, SubmitPost("qna", "host post", "", "h")) == "forbidden"


def test_merge_joins_upvoters_without_counting_anyone_twice(forum: Forum) -> None:
    a = post(forum, "ann", "Late opening hours?")
    b = post(forum, "bob", "Open in the evening?")
    for who in ("cat", "dan"):
        run(forum, person(who), Upvote(a, True, f"{who}-a"))
    for who in ("dan", "eve"):
        run(forum, person(who), Upvote(b, True, f"{who}-b"))
    run(forum, HOST, PinPost("qna", b))
    run(forum, HOST, MergePosts(b, a))
    assert forum.boards.posts[a].upvoters == {"cat", "dan", "eve"}
    assert forum.boards.posts[b].state is PostState.MERGED
    assert forum.boards.posts[b].merged_into == a
    assert forum.boards.boards["qna"].pinned == 0
    assert refused(forum, person("fay"), Upvote(b, True, "f")) == "post_merged"
    assert refused(forum, HOST, MergePosts(b, a)) == "post_merged"
    assert refused(forum, HOST, MergePosts(a, a)) == "bad_merge"
    public = forum.board_views(Role.PARTICIPANT)["qna"]["posts"]
    assert [(p["id"], p["upvotes"]) for p in public] == [(a, 3)]


def test_promotion_makes_the_most_agreed_ideas_the_polls_options(forum: Forum) -> None:
    assert refused(forum, HOST, OpenPoll("pick")) == "poll_has_no_options"
    assert refused(forum, HOST, PromoteIdeas("ideas")) == "not_enough_ideas"
    shelves = post(forum, "ann", "More shelves", board="ideas")
    nights = post(forum, "bob", "Night opening", board="ideas")
    swaps = post(forum, "cat", "Book swap", board="ideas")
    run(forum, person("dan"), Upvote(nights, True, "d1"))
    run(forum, person("eve"), Upvote(swaps, True, "e1"))
    run(forum, HOST, PromoteIdeas("ideas"))
    poll = forum.polls["pick"]
    # Tied on one upvote each, the earlier post goes first; two to promote.
    assert [(o.id, o.label) for o in poll.options] == [
        (f"idea-{nights}", "Night opening"),
        (f"idea-{swaps}", "Book swap"),
    ]
    assert poll.counts == {f"idea-{nights}": 0, f"idea-{swaps}": 0}
    item = next(i for i in forum.state_view(Role.PARTICIPANT)["items"] if i["id"] == "pick")
    assert [o["label"] for o in item["options"]] == ["Night opening", "Book swap"]
    run(forum, HOST, OpenPoll("pick"))
    run(forum, person("fay"), Vote("pick", (f"idea-{swaps}",), "v1"))
    stale = Vote("pick", (f"idea-{shelves}",), "v2")
    assert refused(forum, person("gus"), stale) == "unknown_option"
    assert refused(forum, HOST, PromoteIdeas("ideas")) == "poll_started"
    assert refused(forum, HOST, PromoteIdeas("qna")) == "no_promotion"


def test_replaying_board_events_rebuilds_the_same_boards(forum: Forum) -> None:
    log: list[events.Event] = []

    def step(actor: Actor, command: Command) -> None:
        log.extend(forum.execute(actor, command, 0))

    step(person("ann"), SubmitPost("qna", "A?", "", "a"))
    a = forum.seq
    step(person("bob"), SubmitPost("qna", "B?", "", "b"))
    b = forum.seq
    step(person("cat"), Upvote(a, True, "c"))
    step(person("dan"), Upvote(b, True, "d"))
    step(HOST, EditPost(a, "A!"))
    step(HOST, PinPost("qna", a))
    step(HOST, MergePosts(b, a))
    step(HOST, AnswerPost(a))
    replay = Forum(forum.programme)
    for event in log:
        replay.apply(events.from_record(events.to_record(event)))
    assert replay.board_views(Role.HOST) == forum.board_views(Role.HOST)
    assert replay.boards.my_upvotes("dan") == {"qna": [a]}
    assert replay.seq == forum.seq


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["upvote", "take", "merge"]),
            st.sampled_from(["p1", "p2", "p3", "p4"]),
            st.integers(0, 3),
            st.integers(0, 3),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_upvoters_follow_a_reference_model(ops: list[tuple[str, str, int, int, int]]) -> None:
    """Upvotes, take-backs, resends (a repeated op) and merges, checked against a plain model."""
    forum = Forum(parse_programme(ROOM, source="boards.toml"))
    ids = [post(forum, f"author{n}", f"post {n}") for n in range(4)]
    expected: dict[int, set[str]] = {i: set() for i in ids}
    merged: set[int] = set()
    acted_on: dict[tuple[str, str], int] = {}  # (participant, op) -> the post it last acted on
    for kind, who, i, j, op in ops:
        source, target = ids[i], ids[j]
        if kind == "merge":
            ok = source != target and not {source, target} & merged
            if ok:
                expected[target] |= expected[source]
                expected[source] = set()
                merged.add(source)
            command: Command = MergePosts(source, target)
            actor = HOST
        else:
            # An id is a resend only for the post it acted on; reused for another, it is new.
            resend = acted_on.get((who, str(op))) == source
            ok = resend or source not in merged
            if ok and not resend:
                acted_on[(who, str(op))] = source
                if kind == "upvote":
                    expected[source].add(who)
                else:
                    expected[source].discard(who)
            command = Upvote(source, kind == "upvote", str(op))
            actor = person(who)
        try:
            run(forum, actor, command)
        except ForumError:
            assert not ok, "refused only what the reference model refuses too"
        actual = {i: forum.boards.posts[i].upvoters for i in ids}
        assert actual == expected
        for post_id in ids:
            view = forum.boards.posts[post_id].view(full=True)
            assert view["upvotes"] == len(expected[post_id])


def test_phones_get_a_bounded_board_with_what_matters_on_it(forum: Forum) -> None:
    ids = [post(forum, f"p{n}", f"question {n}", at=n * MINUTE) for n in range(130)]
    for voter in ("v1", "v2"):
        run(forum, person(voter), Upvote(ids[3], True, f"{voter}-3"))
    run(forum, person("v1"), Upvote(ids[5], True, "v1-5"))
    run(forum, HOST, PinPost("qna", ids[0]))
    for n in (1, 2):
        run(forum, HOST, AnswerPost(ids[n]))
    run(forum, HOST, HidePost(ids[129]))
    shown = [p["id"] for p in forum.board_views(Role.PARTICIPANT)["qna"]["posts"]]
    assert len(shown) <= 1 + 50 + 50 + 20
    assert shown == sorted(shown), "in posting order"
    assert {ids[0], ids[3], ids[5], ids[1], ids[2], ids[128]} <= set(shown)
    assert ids[129] not in shown, "hidden posts never reach phones"
    assert len(forum.board_views(Role.HOST)["qna"]["posts"]) == 130, "the host sees them all"


def test_unseen_characters_are_taken_out_of_posts_and_names(forum: Forum) -> None:
    """Controls, direction overrides and invisible characters never reach the room; a post of
    nothing else is empty."""
    sent = "\u202eWhy\x07 now?\u200b\x1b[2J\ttoo"
    run(forum, person("ann"), SubmitPost("qna", sent, "A\u2066nn\u2069\x00", "op-1"))
    (stored,) = forum.boards.boards["qna"].posts.values()
    assert (stored.text, stored.name) == ("Why now?[2J\ttoo", "Ann")
    only_unseen = SubmitPost("qna", "\u200b\ufeff\u3164 \x7f", "", "op-2")
    assert refused(forum, person("bob"), only_unseen) == "empty_post"
