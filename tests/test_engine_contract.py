"""One contract for every engine: the same tests run against each backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.conftest import ENGINES, EngineFactory, engine_url, forum_programme
from townhall.engine import Engine, EngineError, open_engine
from townhall.model import board as board_rules
from townhall.model.agenda import Programme
from townhall.model.board import (
    MAX_POSTS_PER_BOARD,
    MAX_STORED_POSTS_PER_BOARD,
    PENDING_PER_PARTICIPANT,
    POST_WINDOW_MS,
    POSTS_PER_BOARD,
    POSTS_PER_WINDOW,
    RECENT_OPS,
)
from townhall.model.commands import (
    Actor,
    AnswerPost,
    ApprovePost,
    ClosePoll,
    Command,
    EditPost,
    Goto,
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
from townhall.model.events import Event, PostCreated, PostsPurged, PostStateSet, UpvoteSet
from townhall.model.forum import PollStatus
from townhall.programme import parse_programme

HOST = Actor(Role.HOST, "host")

# Two boards: a moderated Q&A that wants a nickname, and ideas promoted to a poll's options.
BOARD_ROOM = """
[forum]
id = "board-forum"
title = "Boards"

[[items]]
id = "panel"
kind = "qna"
title = "Questions for the panel"
moderated = true
names = "required"
max_length = 40

[[items]]
id = "ideas"
kind = "ideas"
title = "Ideas for the library"
promote_to = "pick"
promote_count = 2

[[items]]
id = "pick"
kind = "poll"
title = "Pick one"
options = [{ id = "keep", label = "Keep things as they are" }, { id = "other", label = "Other" }]
"""


def board_programme() -> Programme:
    return parse_programme(BOARD_ROOM, source="boards.toml")


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest) -> str:
    return engine_url(request, request.param)


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


async def test_execute_applies_notifies_and_acks(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    seen: list[Sequence[Any]] = []
    engine.subscribe(seen.append)
    # A ballot reaches the listeners as its event, or (Redis) as its poll's tally taken whole.
    engine.subscribe_tallies(seen.append)
    await engine.execute(HOST, OpenPoll("vote"))
    outcome = await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert outcome.ack["ok"] and outcome.ack["version"] == engine.forum.seq == 3
    assert len(seen) == 2
    assert engine.forum.polls["vote"].counts["a"] == 1, "in the acking worker's view at once"
    duplicate = await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert duplicate.events == [] and duplicate.ack["duplicate"] is True
    assert len(seen) == 2, "a resend notifies no one"
    await engine.close()


async def test_a_refusal_changes_nothing(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    with pytest.raises(ForumError) as refused:
        await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert refused.value.code == "poll_not_open"
    with pytest.raises(ForumError):
        await engine.execute(voter(1), OpenPoll("vote"))
    assert engine.forum.seq == 1  # its server_started
    await engine.close()
    again = make_engine()
    await again.start()
    assert again.forum.seq == 2  # a server_started each
    await again.close()


async def test_restart_restores_everything_acked(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    await engine.execute(HOST, Goto("vote"))
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(HOST, OpenPoll("multi"))
    for n in range(20):
        await engine.execute(voter(n), Vote("vote", ("abc"[n % 3],), f"op-{n}"))
    await engine.execute(voter(0), Vote("vote", ("c",), "op-change"))
    await engine.execute(HOST, ClosePoll("multi"))
    expected = engine.forum.state_view(Role.HOST)
    mine = await engine.my_ballots("p0")
    await engine.close()

    restarted = make_engine()
    await restarted.start()
    # Everything but the seq, which the restart's server_started moved on.
    assert restarted.forum.state_view(Role.HOST) == {**expected, "seq": expected["seq"] + 1}
    assert await restarted.my_ballots("p0") == mine == {"vote": {"choices": ["c"], "version": 25}}
    assert restarted.forum.polls["multi"].status is PollStatus.CLOSED
    late = await restarted.execute(voter(0), Vote("vote", ("a",), "op-0"))
    assert late.ack["duplicate"] is True, "message ids survive a restart"
    await restarted.close()


async def test_a_torn_last_record_is_cut_and_the_rest_kept(tmp_path: Path) -> None:
    def make_engine() -> Engine:
        return open_engine("memory://", forum_programme(), tmp_path)

    engine = make_engine()
    await engine.start()
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(voter(1), Vote("vote", ("b",), "op-1"))
    await engine.close()
    journal = tmp_path / "test-forum.journal"
    record = msgpack.packb({"t": "ballot", "seq": 4, "poll": "vote", "participant": "p9"})
    with journal.open("ab") as f:
        f.write(record[: len(record) // 2])  # a crash halfway through writing a record
    restarted = make_engine()
    await restarted.start()
    assert restarted.forum.seq == 4
    assert restarted.forum.polls["vote"].counts == {"a": 0, "b": 1, "c": 0}
    await restarted.execute(voter(2), Vote("vote", ("a",), "op-2"))
    await restarted.close()
    third = make_engine()
    await third.start()
    assert third.forum.seq == 6
    await third.close()


async def test_a_store_for_another_agenda_is_refused(store_url: str, tmp_path: Path) -> None:
    engine = open_engine(store_url, forum_programme(), tmp_path)
    await engine.start()
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.close()
    changed = parse_programme(
        '[forum]\nid = "test-forum"\ntitle = "t"\n'
        '[[items]]\nid = "only"\nkind = "talk"\ntitle = "x"\n',
        source="changed.toml",
    )
    other = open_engine(store_url, changed, tmp_path)
    with pytest.raises(EngineError, match="different agenda"):
        await other.start()
    await other.close()


def test_an_unknown_engine_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unsupported engine URL"):
        open_engine("postgres://db", forum_programme(), tmp_path)


async def test_a_corrupt_journal_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    engine = open_engine("memory://", forum_programme(), tmp_path)
    await engine.start()
    await engine.close()
    journal = tmp_path / "test-forum.journal"
    with journal.open("ab") as f:
        f.write(msgpack.packb({"t": "ballot", "blob": b"x" * (2 * 1024 * 1024)}))
    with pytest.raises(EngineError, match="unreadable record"):
        await open_engine("memory://", forum_programme(), tmp_path).start()


# -- boards ---------------------------------------------------------------------------------------


class Clock:
    """An engine clock the test moves by hand."""

    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


async def start(make_engine: EngineFactory, programme: Programme, clock: Clock) -> Engine:
    engine = make_engine(programme)
    engine.clock = clock
    await engine.start()
    return engine


async def refusal(engine: Engine, actor: Actor, command: Command) -> str:
    """The code `command` is refused with; the refusal must change nothing."""
    seq = engine.forum.seq
    with pytest.raises(ForumError) as refused:
        await engine.execute(actor, command)
    assert engine.forum.seq == seq
    return refused.value.code


def post_ack(post: int, state: str = "visible", duplicate: bool = False) -> dict[str, Any]:
    return {"ok": True, "post": post, "state": state, "duplicate": duplicate}


def upvote_ack(
    post: int, up: bool, upvotes: int, state: str = "visible", duplicate: bool = False
) -> dict[str, Any]:
    return {**post_ack(post, state, duplicate), "up": up, "upvotes": upvotes}


async def test_a_post_on_an_open_board_is_shown_at_once(make_engine: EngineFactory) -> None:
    clock = Clock()
    engine = await start(make_engine, forum_programme(), clock)
    seen: list[list[Event]] = []
    engine.subscribe(lambda events: seen.append(list(events)))
    asked = await engine.execute(voter(1), SubmitPost("qna", "  Open on Sundays?  ", "민지", "o1"))
    assert asked.ack == post_ack(2)
    assert seen == [list(asked.events)]
    assert asked.events == [
        PostCreated("qna", "p1", "민지", "Open on Sundays?", "visible", "o1", clock.now_ms)
    ]
    post = engine.forum.boards.posts[2]
    assert engine.forum.board_views(Role.PARTICIPANT)["qna"]["posts"] == [post.view(full=False)]
    assert engine.forum.boards.my_posts("p1") == [{**post.view(full=False), "board": "qna"}]
    assert engine.forum.control_seq == 1, "a post is not a host event"

    assert await refusal(engine, HOST, SubmitPost("qna", "x", "", "o2")) == "forbidden"
    assert await refusal(engine, voter(1), SubmitPost("nope", "x", "", "o2")) == "unknown_board"
    assert await refusal(engine, voter(1), SubmitPost("qna", "  ", "", "o2")) == "empty_post"
    too_long = SubmitPost("qna", "x" * 281, "", "o2")
    assert await refusal(engine, voter(1), too_long) == "post_too_long"
    assert (
        await refusal(engine, voter(1), SubmitPost("qna", "x", "n" * 41, "o2")) == "name_too_long"
    )
    second = await engine.execute(voter(1), SubmitPost("qna", "And holidays?", "", "o2"))
    assert second.ack == post_ack(3), "a refused message's id is still free"
    await engine.close()


async def test_a_post_on_a_moderated_board_waits_for_the_host(make_engine: EngineFactory) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    ask = SubmitPost("panel", "Who decides?", "민지", "o1")
    nameless = SubmitPost("panel", "Who decides?", " ", "o1")
    assert await refusal(engine, voter(1), nameless) == "name_required"
    asked = await engine.execute(voter(1), ask)
    assert asked.ack == post_ack(2, "pending")
    assert engine.forum.board_views(Role.PARTICIPANT)["panel"]["posts"] == []
    assert [p["id"] for p in engine.forum.board_views(Role.HOST)["panel"]["posts"]] == [2]
    assert [p["state"] for p in engine.forum.boards.my_posts("p1")] == ["pending"]
    assert await refusal(engine, voter(2), Upvote(2, True, "u1")) == "post_not_open"
    assert await refusal(engine, HOST, AnswerPost(2)) == "post_not_open"

    await engine.execute(HOST, ApprovePost(2))
    assert (await engine.execute(voter(1), ask)).ack == post_ack(2, "visible", duplicate=True)
    up = await engine.execute(voter(2), Upvote(2, True, "u1"))
    assert up.ack == upvote_ack(2, True, 1)
    await engine.execute(HOST, HidePost(2))
    assert await refusal(engine, voter(3), Upvote(2, True, "u1")) == "post_not_open"
    late = await engine.execute(voter(2), Upvote(2, True, "u1"))
    assert late.ack == upvote_ack(2, True, 1, "hidden", duplicate=True)
    await engine.execute(HOST, ApprovePost(2))
    await engine.execute(HOST, AnswerPost(2))
    answered = await engine.execute(voter(3), Upvote(2, True, "u1"))
    assert answered.ack == upvote_ack(2, True, 2, "answered"), "answered posts stay upvotable"
    assert engine.forum.boards.posts[2].upvoters == {"p2", "p3"}
    await engine.close()


async def test_a_resent_post_is_acked_as_the_same_post(make_engine: EngineFactory) -> None:
    engine = await start(make_engine, forum_programme(), Clock())
    seen: list[Sequence[Event]] = []
    engine.subscribe(seen.append)
    ask = SubmitPost("qna", "When does it close?", "", "o1")
    first = await engine.execute(voter(1), ask)
    again = await engine.execute(voter(1), ask)
    assert again.events == [] and again.ack == post_ack(2, duplicate=True)
    # Recognised before its text is read, as the model does: a resend is never refused.
    garbled = await engine.execute(voter(1), SubmitPost("qna", "", "n" * 99, "o1"))
    assert garbled.ack == again.ack
    assert len(seen) == 1, "a resend notifies no one"
    other = await engine.execute(voter(2), ask)
    assert other.ack == post_ack(3), "message ids are each participant's own"
    assert first.ack == post_ack(2)
    assert engine.forum.seq == 3 and list(engine.forum.boards.posts) == [2, 3]
    await engine.close()


async def test_an_upvote_counts_once_and_a_late_resend_undoes_nothing(
    make_engine: EngineFactory,
) -> None:
    engine = await start(make_engine, forum_programme(), Clock())
    await engine.execute(voter(1), SubmitPost("qna", "Why?", "", "o1"))
    up = await engine.execute(voter(2), Upvote(2, True, "u1"))
    assert up.ack == upvote_ack(2, True, 1)
    assert up.events == [UpvoteSet(2, "p2", True, "u1")]
    resend = await engine.execute(voter(2), Upvote(2, True, "u1"))
    assert resend.events == [] and resend.ack == upvote_ack(2, True, 1, duplicate=True)
    repeat = await engine.execute(voter(2), Upvote(2, True, "u2"))
    assert repeat.ack == upvote_ack(2, True, 1), "one upvote per participant"
    assert repeat.events == [UpvoteSet(2, "p2", True, "u2")], "recorded though nothing moved"
    assert (await engine.execute(voter(3), Upvote(2, True, "u1"))).ack == upvote_ack(2, True, 2)

    back = await engine.execute(voter(2), Upvote(2, False, "u3"))
    assert back.ack == upvote_ack(2, False, 1)
    for op in ("u1", "u2"):  # late resends of the upvotes the take-back replaced
        late = await engine.execute(voter(2), Upvote(2, True, op))
        assert late.ack == upvote_ack(2, False, 1, duplicate=True)
    assert engine.forum.boards.posts[2].upvoters == {"p3"}
    assert engine.forum.boards.my_upvotes("p2") == {}
    assert engine.forum.boards.my_upvotes("p3") == {"qna": [2]}
    assert engine.forum.control_seq == 1, "upvotes are not host events"

    assert await refusal(engine, voter(2), Upvote(99, True, "u9")) == "unknown_post"
    assert await refusal(engine, HOST, Upvote(2, True, "u9")) == "forbidden"
    await engine.close()


async def test_message_ids_are_remembered_per_board_up_to_a_limit(
    make_engine: EngineFactory,
) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    idea = SubmitPost("ideas", "Longer hours", "", "o1")
    post = (await engine.execute(voter(1), idea)).ack["post"]
    question = await engine.execute(voter(1), SubmitPost("panel", "Who?", "민지", "o1"))
    assert question.ack == post_ack(post + 1, "pending"), "another board: another message"
    # Someone else's idea: one's own takes no agreement from oneself.
    other = (await engine.execute(voter(2), SubmitPost("ideas", "Open later", "", "o2"))).ack
    for n in range(RECENT_OPS - 1):
        await engine.execute(voter(1), Upvote(other["post"], n % 2 == 0, f"u{n}"))
    assert (await engine.execute(voter(1), idea)).ack == post_ack(post, duplicate=True)
    await engine.execute(voter(1), Upvote(other["post"], True, "u-last"))
    # The oldest id is forgotten now: a resend that late is taken for a new message.
    forgotten = await engine.execute(voter(1), idea)
    assert forgotten.ack == post_ack(engine.forum.seq)
    late = await engine.execute(voter(1), Upvote(other["post"], False, "u1"))
    assert late.ack == upvote_ack(other["post"], True, 1, duplicate=True), (
        "the next oldest is remembered"
    )
    await engine.close()


async def test_a_reused_message_id_is_a_resend_only_for_the_post_it_acted_on(
    make_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)

    async def idea(n: int, text: str) -> int:
        ack = (await engine.execute(voter(n), SubmitPost("ideas", text, "", f"o{n}"))).ack
        return int(ack["post"])

    shown, other, hidden, third = [
        await idea(n, text) for n, text in enumerate(("Longer hours", "Later", "Garden", "Comics"))
    ]
    await engine.execute(voter(5), Upvote(hidden, True, "v"))
    await engine.execute(voter(4), Upvote(hidden, True, "u0"))
    await engine.execute(HOST, HidePost(hidden))
    await engine.execute(voter(4), Upvote(shown, True, "u"))

    # An upvote's id reused for another post is checked as a new message: never acked as a
    # resend that reads out a hidden post's state and count, or tells which hidden ids exist.
    assert await refusal(engine, voter(4), Upvote(hidden, True, "u")) == "post_not_open"
    assert await refusal(engine, voter(4), Upvote(999, True, "u")) == "unknown_post"
    await engine.execute(HOST, MergePosts(other, shown))
    assert await refusal(engine, voter(4), Upvote(other, True, "u")) == "post_merged"
    late = await engine.execute(voter(4), Upvote(hidden, False, "u0"))
    assert late.ack == upvote_ack(hidden, True, 2, "hidden", duplicate=True), "a true resend"
    moved = await engine.execute(voter(4), Upvote(third, True, "u"))
    assert moved.ack == upvote_ack(third, True, 1)
    assert moved.events == [UpvoteSet(third, "p4", True, "u")]
    again = await engine.execute(voter(4), Upvote(third, False, "u"))
    assert again.ack == upvote_ack(third, True, 1, duplicate=True), "u now stands for it"
    back = await engine.execute(voter(4), Upvote(shown, False, "u"))
    assert back.ack == upvote_ack(shown, False, 0), "and no longer for the first"

    # An upvote's id reused for a post makes a new post: not an ack of the upvoted one.
    made = await engine.execute(voter(5), SubmitPost("ideas", "Mine", "", "v"))
    assert made.ack == post_ack(engine.forum.seq)
    assert made.events == [PostCreated("ideas", "p5", "", "Mine", "visible", "v", clock.now_ms)]
    resent = await engine.execute(voter(5), SubmitPost("ideas", "Mine", "", "v"))
    assert resent.ack == post_ack(made.ack["post"], duplicate=True)
    own = await engine.execute(voter(0), SubmitPost("ideas", "", "", "o0"))
    assert own.ack == post_ack(shown, duplicate=True), "a post's own id still acks it"
    await engine.close()


async def test_a_reused_message_id_is_remembered_as_the_newest(make_engine: EngineFactory) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    a = (await engine.execute(voter(1), SubmitPost("ideas", "A", "", "o"))).ack["post"]
    b = (await engine.execute(voter(2), SubmitPost("ideas", "B", "", "o"))).ack["post"]
    for n in range(RECENT_OPS - 1):
        await engine.execute(voter(3), Upvote(a, True, f"u{n}"))
    await engine.execute(voter(3), Upvote(b, True, "u0"))  # reused: now the newest id
    await engine.execute(voter(3), Upvote(a, True, "u-last"))
    await engine.execute(voter(3), Upvote(a, False, "u-back"))  # one over: the oldest goes
    kept = await engine.execute(voter(3), Upvote(b, False, "u0"))
    assert kept.ack == upvote_ack(b, True, 1, duplicate=True)
    forgotten = await engine.execute(voter(3), Upvote(a, True, "u1"))
    assert forgotten.ack == upvote_ack(a, True, 1), "u1 was the oldest, so it was forgotten"
    await engine.close()


async def test_a_full_board_refuses_new_posts_but_acks_resends(
    make_engine: EngineFactory,
) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    # Each post by another participant, as one client with many cookies can: no one's own limit
    # is reached, only the board's.
    ids = [
        (await engine.execute(voter(n), SubmitPost("ideas", f"Idea {n}", "", "o"))).ack["post"]
        for n in range(MAX_POSTS_PER_BOARD)
    ]
    seq = engine.forum.seq
    with pytest.raises(ForumError) as refused:
        await engine.execute(voter(-1), SubmitPost("ideas", "One too many", "", "o"))
    assert refused.value.code == "board_full"
    assert str(refused.value) == f"this board is full: it holds {MAX_POSTS_PER_BOARD} posts"
    assert engine.forum.seq == seq
    resent = await engine.execute(voter(7), SubmitPost("ideas", "Idea 7", "", "o"))
    assert resent.ack == post_ack(ids[7], duplicate=True), "a resend is acked on a full board"
    assert await refusal(engine, voter(-1), SubmitPost("ideas", " ", "", "o")) == "empty_post"
    elsewhere = await engine.execute(voter(-1), SubmitPost("panel", "And here?", "민지", "o"))
    assert elsewhere.ack == post_ack(seq + 1, "pending"), "each board has its own room"
    await engine.close()

    restarted = await start(make_engine, board_programme(), Clock())
    again = SubmitPost("ideas", "Still full?", "", "o2")
    assert await refusal(restarted, voter(-1), again) == "board_full"
    # Hidden and merged posts leave their places to others; answered ones keep theirs.
    await restarted.execute(HOST, HidePost(ids[0]))
    hidden = await restarted.execute(voter(0), SubmitPost("ideas", "", "", "o"))
    assert hidden.ack == post_ack(ids[0], "hidden", duplicate=True)
    assert (await restarted.execute(voter(-1), again)).ack["duplicate"] is False
    assert await refusal(restarted, voter(-2), again) == "board_full"
    await restarted.execute(HOST, MergePosts(ids[1], ids[2]))
    assert (await restarted.execute(voter(-2), again)).ack["duplicate"] is False
    await restarted.execute(HOST, AnswerPost(ids[3]))
    assert await refusal(restarted, voter(-3), again) == "board_full"
    await restarted.execute(HOST, ApprovePost(ids[0]))  # the host may show it again regardless
    await restarted.execute(HOST, HideAuthor(ids[4]))
    assert await refusal(restarted, voter(-3), again) == "board_full", "shown again: counted"
    await restarted.execute(HOST, HideAuthor(ids[0]))
    assert (await restarted.execute(voter(-3), again)).ack["duplicate"] is False
    await restarted.close()


async def test_every_stored_post_counts_toward_a_larger_bound(make_engine: EngineFactory) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    spammers = MAX_STORED_POSTS_PER_BOARD // POSTS_PER_BOARD
    for round_ in range(POSTS_PER_BOARD):
        clock.now_ms += POST_WINDOW_MS
        for n in range(spammers):
            await engine.execute(voter(n), SubmitPost("ideas", "spam", "", f"s{round_}"))
        if (round_ + 1) * spammers + spammers > MAX_POSTS_PER_BOARD:
            for post in [p for p in engine.forum.boards.posts.values() if p.state.counted]:
                await engine.execute(HOST, HideAuthor(post.id))
    ideas = engine.forum.boards.boards["ideas"]
    assert len(ideas.posts) == MAX_STORED_POSTS_PER_BOARD
    assert not [p for p in ideas.posts.values() if p.state.counted]
    with pytest.raises(ForumError) as refused:
        await engine.execute(voter(-1), SubmitPost("ideas", "Any room?", "", "o"))
    assert refused.value.code == "board_full"
    assert str(refused.value) == (
        f"this board is full: it has stored {MAX_STORED_POSTS_PER_BOARD} posts, hidden ones too"
    )
    await engine.close()


async def test_a_purge_frees_the_stored_bound_that_hiding_spam_fills(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: fresh ids fill the board, the host hides them, again and again, until every
    stored place holds a hidden post. Smaller bounds, read by both engines at each post."""
    monkeypatch.setattr(board_rules, "MAX_POSTS_PER_BOARD", 6)
    monkeypatch.setattr(board_rules, "MAX_STORED_POSTS_PER_BOARD", 15)
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    spammer = 0
    while True:
        try:
            await engine.execute(voter(spammer), SubmitPost("ideas", "spam", "", "s"))
        except ForumError as exc:
            assert exc.code == "board_full"
            counted = [p for p in engine.forum.boards.posts.values() if p.state.counted]
            if not counted:
                break  # every place holds a hidden post: hiding can free nothing more
            for post in counted:
                await engine.execute(HOST, HideAuthor(post.id))
            continue
        spammer += 1
    ideas = engine.forum.boards.boards["ideas"]
    assert len(ideas.posts) == 15 and spammer == 15
    refused = SubmitPost("ideas", "When do we vote?", "", "r")
    with pytest.raises(ForumError) as full:
        await engine.execute(voter(-1), refused)
    assert str(full.value) == "this board is full: it has stored 15 posts, hidden ones too"

    stored = tuple(ideas.posts)
    purged = await engine.execute(HOST, PurgeHidden("ideas"))
    assert purged.events == [PostsPurged("ideas", stored)], "one event for all"
    assert purged.ack == {"ok": True, "seq": engine.forum.seq, "purged": 15}
    assert ideas.posts == {} and engine.forum.boards.posts == {}
    asked = await engine.execute(voter(-1), refused)
    assert asked.ack == post_ack(engine.forum.seq), "room again, for good"
    again = await engine.execute(HOST, PurgeHidden("ideas"))
    assert again.events == [] and again.ack == {"ok": True, "seq": engine.forum.seq, "purged": 0}
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    assert list(restarted.forum.boards.boards["ideas"].posts) == [asked.ack["post"]]
    assert restarted.forum.board_views(Role.HOST)["ideas"]["version"] == asked.ack["post"]
    fresh = await restarted.execute(voter(-2), SubmitPost("ideas", "And after?", "", "r"))
    assert fresh.ack["duplicate"] is False
    await restarted.close()


async def test_purged_posts_are_gone_with_their_upvotes_and_the_posts_merged_into_them(
    make_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)

    async def idea(n: int, text: str) -> int:
        return int((await engine.execute(voter(n), SubmitPost("ideas", text, "", "o"))).ack["post"])

    kept, spam, dupe, dupe_of_dupe, other_dupe = [
        await idea(n, text) for n, text in enumerate(("Keep", "Spam", "Dupe", "Dupe 2", "Dupe 3"))
    ]
    for n in (5, 6):
        await engine.execute(voter(n), Upvote(spam, True, "u"))
    await engine.execute(voter(5), Upvote(kept, True, "u-kept"))
    # A chain into a post hidden later: dupe_of_dupe went into dupe, dupe into spam.
    await engine.execute(HOST, MergePosts(dupe_of_dupe, dupe))
    await engine.execute(HOST, MergePosts(dupe, spam))
    await engine.execute(HOST, MergePosts(other_dupe, kept))
    await engine.execute(HOST, HidePost(spam))
    elsewhere = await engine.execute(voter(1), SubmitPost("panel", "Spam", "x", "o"))
    await engine.execute(HOST, HidePost(elsewhere.ack["post"]))

    assert await refusal(engine, voter(1), PurgeHidden("ideas")) == "forbidden"
    assert await refusal(engine, HOST, PurgeHidden("nowhere")) == "unknown_board"
    purged = await engine.execute(HOST, PurgeHidden("ideas"))
    assert purged.events == [PostsPurged("ideas", (spam, dupe, dupe_of_dupe))]
    assert purged.ack["purged"] == 3
    forum = engine.forum
    assert list(forum.boards.boards["ideas"].posts) == [kept, other_dupe]
    assert forum.boards.posts[other_dupe].merged_into == kept, "a merge into a shown post stays"
    assert forum.boards.posts[elsewhere.ack["post"]].state.value == "hidden", "one board only"
    for role in Role:
        ids = [p["id"] for p in forum.board_views(role)["ideas"]["posts"]]
        assert not {spam, dupe, dupe_of_dupe} & set(ids), role
    assert forum.boards.my_upvotes("p5") == {"ideas": [kept]}
    assert forum.boards.my_upvotes("p6") == {}
    assert [p["id"] for p in forum.boards.my_posts("p1")] == [elsewhere.ack["post"]]

    # Gone for good: nothing can show, upvote or name it again.
    for command in (ApprovePost(spam), HideAuthor(dupe), MergePosts(kept, spam)):
        assert await refusal(engine, HOST, command) == "unknown_post", command
    assert await refusal(engine, voter(7), Upvote(spam, True, "u")) == "unknown_post"
    assert await refusal(engine, voter(5), Upvote(spam, False, "u")) == "unknown_post"
    expected = {role: forum.board_views(role) for role in Role}
    mine = (forum.boards.my_upvotes("p5"), forum.boards.my_posts("p1"))
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    forum = restarted.forum
    assert {role: forum.board_views(role) for role in Role} == expected
    assert (forum.boards.my_upvotes("p5"), forum.boards.my_posts("p1")) == mine
    assert await refusal(restarted, HOST, ApprovePost(spam)) == "unknown_post"
    # The author's message id outlived the post: sent again, it is a new post, under every
    # limit like any other.
    resent = await restarted.execute(voter(1), SubmitPost("ideas", "Spam", "", "o"))
    assert resent.ack == post_ack(forum.seq)
    await restarted.close()


async def test_purged_posts_still_count_toward_their_authors_limits(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board_rules, "POSTS_PER_BOARD", POSTS_PER_WINDOW + 1)
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    first = [
        (await engine.execute(voter(1), SubmitPost("ideas", "spam", "", f"s{n}"))).ack["post"]
        for n in range(POSTS_PER_WINDOW)
    ]
    await engine.execute(HOST, HideAuthor(first[0]))
    assert (await engine.execute(HOST, PurgeHidden("ideas"))).ack["purged"] == POSTS_PER_WINDOW
    spam = SubmitPost("ideas", "more spam", "", "s-more")
    assert await refusal(engine, voter(1), spam) == "post_rate", "the minute still counts them"
    clock.now_ms += POST_WINDOW_MS
    last = await engine.execute(voter(1), spam)
    assert last.ack["duplicate"] is False
    await engine.execute(HOST, HidePost(last.ack["post"]))
    await engine.execute(HOST, PurgeHidden("ideas"))
    clock.now_ms += POST_WINDOW_MS
    final = SubmitPost("ideas", "and more", "", "s-final")
    assert await refusal(engine, voter(1), final) == "post_limit", "and so does the board's"
    assert (await engine.execute(voter(2), final)).ack["duplicate"] is False, "others may"
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    assert await refusal(restarted, voter(1), final) == "post_limit"
    await restarted.close()


async def test_a_participant_may_have_a_few_posts_waiting_at_a_time(
    make_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)

    def ask(n: int) -> SubmitPost:
        return SubmitPost("panel", f"Question {n}", "민지", f"q{n}")

    waiting = []
    for n in range(PENDING_PER_PARTICIPANT):
        waiting.append((await engine.execute(voter(1), ask(n))).ack["post"])
        clock.now_ms += POST_WINDOW_MS
    assert await refusal(engine, voter(1), ask(9)) == "pending_limit"
    assert (await engine.execute(voter(1), ask(0))).ack == post_ack(waiting[0], "pending", True)
    assert (await engine.execute(voter(2), ask(9))).ack["duplicate"] is False, "others may"
    await engine.execute(HOST, ApprovePost(waiting[0]))
    assert (await engine.execute(voter(1), ask(9))).ack["state"] == "pending"
    clock.now_ms += POST_WINDOW_MS
    assert await refusal(engine, voter(1), ask(10)) == "pending_limit"
    await engine.execute(HOST, HidePost(waiting[1]))
    assert (await engine.execute(voter(1), ask(10))).ack["duplicate"] is False
    clock.now_ms += POST_WINDOW_MS
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    assert await refusal(restarted, voter(1), ask(11)) == "pending_limit"
    await restarted.close()


async def test_the_host_hides_every_post_of_one_author_on_a_board(
    make_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    spam = []
    for n in range(POSTS_PER_WINDOW):
        spam.append(await engine.execute(voter(9), SubmitPost("ideas", "spam", "", f"s{n}")))
    spam_ids = [outcome.ack["post"] for outcome in spam]
    real = (await engine.execute(voter(1), SubmitPost("ideas", "Real", "", "r"))).ack["post"]
    panel = await engine.execute(voter(9), SubmitPost("panel", "spam", "x", "s"))
    await engine.execute(HOST, AnswerPost(spam_ids[0]))
    await engine.execute(HOST, MergePosts(spam_ids[1], real))
    await engine.execute(HOST, PinPost("ideas", spam_ids[2]))

    hid = await engine.execute(HOST, HideAuthor(spam_ids[2]))
    assert hid.events == [
        PostStateSet(spam_ids[0], "hidden"),
        PostStateSet(spam_ids[2], "hidden"),
    ], "one event a post; the merged one stays merged"
    assert hid.ack == {"ok": True, "seq": engine.forum.seq, "hidden": 2}
    posts = engine.forum.boards.posts
    assert [posts[i].state.value for i in spam_ids] == ["hidden", "merged", "hidden"]
    assert posts[real].state.value == "visible", "another author's post stays"
    assert posts[panel.ack["post"]].state.value == "pending", "and so do the author's elsewhere"
    assert engine.forum.boards.boards["ideas"].pinned == 0
    again = await engine.execute(HOST, HideAuthor(spam_ids[1]))
    assert again.events == [] and again.ack == {"ok": True, "seq": engine.forum.seq, "hidden": 0}
    assert await refusal(engine, HOST, HideAuthor(999)) == "unknown_post"
    assert await refusal(engine, voter(1), HideAuthor(real)) == "forbidden"
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    assert [restarted.forum.boards.posts[i].state.value for i in spam_ids] == [
        "hidden",
        "merged",
        "hidden",
    ]
    await restarted.close()


async def test_posting_is_rate_limited_per_participant_and_board(
    make_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    posted_at: list[int] = []

    async def idea(op: str) -> dict[str, Any]:
        outcome = await engine.execute(voter(1), SubmitPost("ideas", f"Idea {op}", "", op))
        posted_at.append(clock.now_ms)
        return outcome.ack

    for n in range(POSTS_PER_WINDOW):
        assert (await idea(f"o{n}")) == post_ack(n + 2)
        clock.now_ms += 1000
    quick = SubmitPost("ideas", "One more", "", "o-quick")
    assert await refusal(engine, voter(1), quick) == "post_rate"
    assert (await engine.execute(voter(1), SubmitPost("ideas", "x", "", "o0"))).ack == post_ack(
        2, duplicate=True
    ), "a resend of an accepted post is acked whatever the limits"
    elsewhere = await engine.execute(voter(1), SubmitPost("panel", "And you?", "민지", "o-quick"))
    assert elsewhere.ack["duplicate"] is False, "each board has its own limit"
    assert (await engine.execute(voter(2), quick)).ack["duplicate"] is False, "and each person"

    # The window slides: the first post leaves it a minute after it was made.
    clock.now_ms = posted_at[0] + POST_WINDOW_MS - 1
    assert await refusal(engine, voter(1), quick) == "post_rate"
    clock.now_ms = posted_at[0] + POST_WINDOW_MS
    await idea("o-quick")
    while len(posted_at) < POSTS_PER_BOARD:
        clock.now_ms += POST_WINDOW_MS
        await idea(f"o{len(posted_at)}")
    clock.now_ms += POST_WINDOW_MS
    assert (
        await refusal(engine, voter(1), SubmitPost("ideas", "Last", "", "o-last")) == "post_limit"
    )
    mine = [
        p for p in engine.forum.boards.posts.values() if p.board == "ideas" and p.author == "p1"
    ]
    assert [p.at_ms for p in mine] == posted_at, "each post is stamped with the engine's clock"
    await engine.close()


async def test_a_merge_joins_upvoters_without_counting_anyone_twice(
    make_engine: EngineFactory,
) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    a = (await engine.execute(voter(7), SubmitPost("ideas", "Longer hours", "", "oa"))).ack["post"]
    b = (await engine.execute(voter(8), SubmitPost("ideas", "Open later", "", "ob"))).ack["post"]
    for n, post in ((1, a), (2, a), (2, b), (3, b)):
        await engine.execute(voter(n), Upvote(post, True, f"u{post}"))
    await engine.execute(HOST, PinPost("ideas", b))
    merged = await engine.execute(HOST, MergePosts(b, a))
    assert merged.ack == {"ok": True, "seq": engine.forum.seq}
    posts = engine.forum.boards.posts
    assert posts[a].upvoters == {"p1", "p2", "p3"} and posts[b].upvoters == set()
    assert (posts[b].state.value, posts[b].merged_into) == ("merged", a)
    assert engine.forum.boards.boards["ideas"].pinned == 0, "a merged post is no longer pinned"

    assert await refusal(engine, voter(4), Upvote(b, True, "u9")) == "post_merged"
    late = await engine.execute(voter(3), Upvote(b, True, f"u{b}"))
    assert late.ack == upvote_ack(b, False, 0, "merged", duplicate=True)
    again = await engine.execute(voter(2), Upvote(a, True, "u-again"))
    assert again.ack == upvote_ack(a, True, 3), "p2 upvoted both and still counts once"
    back = await engine.execute(voter(3), Upvote(a, False, "u-back"))
    assert back.ack == upvote_ack(a, False, 2), "p3's upvote came with the merge"
    assert await refusal(engine, HOST, MergePosts(b, a)) == "post_merged"
    assert await refusal(engine, HOST, MergePosts(a, a)) == "bad_merge"
    public = engine.forum.board_views(Role.PARTICIPANT)["ideas"]["posts"]
    assert [(p["id"], p["upvotes"]) for p in public] == [(a, 2)]
    await engine.close()


async def test_promoted_ideas_replace_the_polls_options(make_engine: EngineFactory) -> None:
    engine = await start(make_engine, board_programme(), Clock())
    texts = ("Longer hours", "A reading garden", "More comics")
    ids = [
        (await engine.execute(voter(10 + n), SubmitPost("ideas", text, "", "o"))).ack["post"]
        for n, text in enumerate(texts)
    ]
    for n, post in ((0, ids[1]), (1, ids[1]), (2, ids[1]), (0, ids[2])):
        await engine.execute(voter(n), Upvote(post, True, f"u{post}"))
    assert await refusal(engine, voter(5), PromoteIdeas("ideas")) == "forbidden"
    await engine.execute(HOST, PromoteIdeas("ideas"))
    garden, comics = f"idea-{ids[1]}", f"idea-{ids[2]}"
    poll = engine.forum.polls["pick"]
    assert [(o.id, o.label) for o in poll.options] == [(garden, texts[1]), (comics, texts[2])]
    assert poll.counts == {garden: 0, comics: 0}

    await engine.execute(HOST, OpenPoll("pick"))
    vote = await engine.execute(voter(5), Vote("pick", (garden,), "v1"))
    assert vote.ack == {
        "ok": True,
        "poll": "pick",
        "choices": [garden],
        "version": engine.forum.seq,
        "duplicate": False,
    }
    assert await refusal(engine, voter(6), Vote("pick", ("keep",), "v1")) == "unknown_option"
    assert await refusal(engine, voter(5), Vote("pick", ("other",), "v2")) == "unknown_option"
    assert await refusal(engine, voter(6), Vote("pick", (f"idea-{ids[0]}",), "v1")) == (
        "unknown_option"
    )
    await engine.execute(voter(6), Vote("pick", (comics,), "v1"))
    assert poll.counts == {garden: 1, comics: 1}
    assert await refusal(engine, HOST, PromoteIdeas("ideas")) == "poll_started"
    await engine.close()


async def test_restart_restores_posts_upvotes_pins_and_states(make_engine: EngineFactory) -> None:
    clock = Clock()
    engine = await start(make_engine, board_programme(), clock)
    panel = [
        (await engine.execute(voter(n), SubmitPost("panel", f"Question {n}", "민지", "o"))).ack[
            "post"
        ]
        for n in range(4)
    ]
    for post in panel[:3]:
        await engine.execute(HOST, ApprovePost(post))
    await engine.execute(HOST, AnswerPost(panel[1]))
    await engine.execute(HOST, EditPost(panel[2], "Question two, corrected"))
    await engine.execute(HOST, PinPost("panel", panel[2]))
    await engine.execute(HOST, HidePost(panel[3]))
    ideas = [
        (await engine.execute(voter(9), SubmitPost("ideas", f"Idea {n}", "", f"i{n}"))).ack["post"]
        for n in range(3)
    ]
    for n in range(5):
        await engine.execute(voter(n), Upvote(ideas[n % 2], True, "u"))
    await engine.execute(voter(3), Upvote(panel[0], True, "u"))
    await engine.execute(HOST, MergePosts(ideas[1], ideas[0]))
    await engine.execute(voter(2), Upvote(ideas[0], False, "u-back"))
    forum = engine.forum
    expected = {role: forum.board_views(role) for role in Role}
    mine = (forum.boards.my_upvotes("p0"), forum.boards.my_posts("p9"))
    seqs = (forum.seq, forum.control_seq)
    await engine.close()

    restarted = await start(make_engine, board_programme(), clock)
    forum = restarted.forum
    assert {role: forum.board_views(role) for role in Role} == expected
    assert (forum.boards.my_upvotes("p0"), forum.boards.my_posts("p9")) == mine
    assert (forum.seq, forum.control_seq) == (seqs[0] + 1, seqs[0] + 1)  # its server_started
    assert forum.boards.boards["panel"].pinned == panel[2]
    assert [forum.boards.posts[p].state.value for p in panel] == [
        "visible",
        "answered",
        "visible",
        "hidden",
    ]
    assert forum.boards.posts[panel[2]].original == "Question 2"

    # What the scripts check survived too: message ids, upvoters, posting times.
    late = await restarted.execute(voter(2), Upvote(ideas[0], True, "u"))
    assert late.ack == upvote_ack(ideas[0], False, 4, duplicate=True)
    resent = await restarted.execute(voter(9), SubmitPost("ideas", "Idea 0", "", "i0"))
    assert resent.ack == post_ack(ideas[0], duplicate=True)
    back = await restarted.execute(voter(4), Upvote(ideas[0], False, "u-back"))
    assert back.ack == upvote_ack(ideas[0], False, 3)
    assert await refusal(restarted, voter(9), SubmitPost("ideas", "Idea 3", "", "i3")) == (
        "post_rate"
    )
    assert await refusal(restarted, voter(5), Upvote(ideas[1], True, "u")) == "post_merged"
    fresh = await restarted.execute(voter(8), SubmitPost("panel", "New here", "새", "o"))
    assert fresh.ack == post_ack(seqs[0] + 3, "pending")
    await restarted.close()
