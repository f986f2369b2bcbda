"""The moderator: moderates every board and does nothing else; sees the boards as the host does
and the rest of the forum as the room does. The model on its own, the link's key, and both
engines storing what a moderator does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineFactory
from tests.jury_room import jury_room
from tests.test_engine_contract import Clock, refusal, start
from townhall.keys import committee_key, moderator_key
from townhall.model import refusals
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
    LockScoring,
    MergePosts,
    OpenPoll,
    PauseTimer,
    PinPost,
    PromoteIdeas,
    PublishSelection,
    PurgeHidden,
    RedeemCode,
    ResetTimer,
    RevokeCode,
    Role,
    ScoreCandidate,
    ShowResults,
    StartTimer,
    Step,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.events import PostEdited, PostPinned, PostsMerged, PostsPurged, PostStateSet
from townhall.model.forum import Forum
from townhall.programme import parse_programme

HOST = Actor(Role.HOST, "host")
MODERATOR = Actor(Role.MODERATOR, "moderator")
SCREEN = Actor(Role.SCREEN, "screen")
KIM = Actor(Role.COMMITTEE, "kim")

# A talk with notes, a moderated Q&A, an idea board feeding the live vote, and a selection.
ROOM = """\
[forum]
id = "moderated-forum"
title = "A big forum"

[[items]]
id = "opening"
kind = "talk"
title = "Opening"
notes = "for the host's eyes"
minutes = 3

[[items]]
id = "qna"
kind = "qna"
title = "Questions"
moderated = true

[[items]]
id = "ideas"
kind = "ideas"
title = "Ideas"
promote_to = "vote"
promote_count = 2

[[items]]
id = "vote"
kind = "poll"
title = "Which experiment?"
results = "on_reveal"
options = [{ id = "a", label = "Proposal A" }, { id = "b", label = "Proposal B" }]

[selection]
poll = "vote"
committee = ["kim"]
rubric = ["Impact?"]

[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 3

[[selection.candidates]]
id = "b"
title = "Proposal B"
agreements = 1
"""


def person(name: str) -> Actor:
    return Actor(Role.PARTICIPANT, name)


def make_forum() -> Forum:
    return Forum(parse_programme(ROOM, source="moderated.toml"))


def refused(forum: Forum, actor: Actor, command: Command) -> ForumError:
    seq = forum.seq
    with pytest.raises(ForumError) as caught:
        forum.execute(actor, command, 0)
    assert forum.seq == seq, "a refusal changes nothing"
    return caught.value


def posted(forum: Forum, who: str, text: str, board: str = "qna") -> int:
    forum.execute(person(who), SubmitPost(board, text, "", f"{who}-{text}"), 0)
    return forum.seq


def test_the_moderator_may_do_all_the_host_does_to_a_board() -> None:
    forum = make_forum()
    a = posted(forum, "ann", "When does it open?")
    b = posted(forum, "bo", "What are the hours?")
    spam = [posted(forum, "spammer", f"buy now {n}") for n in range(3)]
    assert {forum.boards.posts[p].state.value for p in (a, b, *spam)} == {"pending"}

    def run(command: Command) -> list[object]:
        return list(forum.execute(MODERATOR, command, 0))

    assert run(ApprovePost(a)) == [PostStateSet(a, "visible")]
    assert run(ApprovePost(b)) == [PostStateSet(b, "visible")]
    assert run(EditPost(a, "When does the library open?")) == [
        PostEdited(a, "When does the library open?")
    ]
    forum.execute(person("cy"), Upvote(b, True, "up"), 0)
    assert run(MergePosts(b, a)) == [PostsMerged(b, a)]
    assert len(forum.boards.posts[a].upvoters) == 1
    assert run(PinPost("qna", a)) == [PostPinned("qna", a)]
    assert run(AnswerPost(a)) == [PostStateSet(a, "answered")]
    assert run(HidePost(a)) == [PostStateSet(a, "hidden")]
    assert run(ApprovePost(a)) == [PostStateSet(a, "visible")], "shown again"
    assert [run(HidePost(p)) for p in spam] == [[PostStateSet(p, "hidden")] for p in spam]
    # Every post of an author at once, and hidden posts removed for good: the host's alone.
    for command in (HideAuthor(spam[0]), PurgeHidden("qna")):
        error = refused(forum, MODERATOR, command)
        assert (error.code, error.message) == ("forbidden", "only the host may do that")
    assert forum.execute(HOST, PurgeHidden("qna"), 0) == [PostsPurged("qna", tuple(spam))]
    assert refused(forum, MODERATOR, HidePost(spam[0])).code == "unknown_post", "purged"
    # Refusals a board gives, the same for the moderator as for the host.
    pending = posted(forum, "dee", "One more?")
    assert refused(forum, MODERATOR, AnswerPost(pending)).code == "post_not_open"
    assert refused(forum, MODERATOR, PinPost("qna", pending)).code == "post_not_open"


# Everything that is not board moderation: the agenda, polls, timer, promotion of ideas to a
# poll's options, the selection and ballot codes.
NOT_MODERATION: list[Command] = [
    Goto("vote"),
    Step(1),
    Step(-1),
    OpenPoll("vote"),
    ClosePoll("vote"),
    ShowResults("vote", visible=True),
    StartTimer(),
    PauseTimer(),
    ResetTimer(30),
    PromoteIdeas("ideas"),
    LockScoring(locked=True),
    PublishSelection(published=True),
    RevokeCode("jury-1"),
]


@pytest.mark.parametrize("command", NOT_MODERATION, ids=repr)
def test_the_moderator_is_refused_everything_else(command: Command) -> None:
    forum = make_forum()
    forum.execute(HOST, Goto("ideas"), 0)
    for n in range(2):
        posted(forum, f"p{n}", f"idea {n}", board="ideas")
    error = refused(forum, MODERATOR, command)
    expected = refusals.host_only()
    assert (error.code, error.message) == (expected.code, expected.message)
    assert error.code == "forbidden"
    try:
        forum.execute(HOST, command, 0)
    except ForumError as exc:
        assert exc.code != "forbidden", "the host may; this forum's state may still refuse it"


def test_the_moderator_neither_votes_posts_agrees_nor_scores() -> None:
    forum = make_forum()
    forum.execute(HOST, OpenPoll("vote"), 0)
    post = posted(forum, "ann", "Why?")
    forum.execute(HOST, ApprovePost(post), 0)
    assert refused(forum, MODERATOR, Vote("vote", ("a",), "v")).code == "forbidden"
    assert refused(forum, MODERATOR, SubmitPost("qna", "Mine?", "", "p")).code == "forbidden"
    assert refused(forum, MODERATOR, Upvote(post, True, "u")).code == "forbidden"
    assert refused(forum, MODERATOR, ScoreCandidate("a", (5,))).code == "forbidden"
    # Said as what it is, not as a post: the page shows the message beside the code field.
    redeem = refused(forum, MODERATOR, RedeemCode("K7Q-M2X-HPR"))
    assert redeem.code == "forbidden"
    assert redeem.message == "only a participant's phone redeems a ballot code"


@pytest.mark.parametrize(
    "actor", [person("ann"), SCREEN, KIM], ids=["participant", "screen", "committee"]
)
def test_no_one_else_moderates_a_board(actor: Actor) -> None:
    forum = make_forum()
    post = posted(forum, "bo", "Why?")
    for command in (ApprovePost(post), HidePost(post), PinPost("qna", 0), PurgeHidden("qna")):
        error = refused(forum, actor, command)
        assert (error.code, error.message) == (
            "forbidden",
            "only the host or the moderator may moderate a board",
        )


def test_the_moderator_sees_boards_as_the_host_and_the_rest_as_the_room() -> None:
    forum = make_forum()
    waiting = posted(forum, "ann", "Waiting?")
    hidden = posted(forum, "bo", "Hidden?")
    forum.execute(HOST, HidePost(hidden), 0)
    shown = posted(forum, "cy", "Typo?")
    forum.execute(HOST, ApprovePost(shown), 0)
    forum.execute(HOST, EditPost(shown, "Typo!"), 0)
    forum.execute(KIM, ScoreCandidate("a", (4,)), 0)
    forum.execute(HOST, OpenPoll("vote"), 0)
    forum.execute(person("dee"), Vote("vote", ("a",), "v"), 0)

    boards = forum.board_views(Role.MODERATOR)
    assert boards == forum.board_views(Role.HOST)
    qna = {p["id"]: p for p in boards["qna"]["posts"]}
    assert (qna[waiting]["state"], qna[hidden]["state"]) == ("pending", "hidden")
    assert qna[shown]["original"] == "Typo?"
    assert [p["id"] for p in forum.board_views(Role.SCREEN)["qna"]["posts"]] == [shown]

    # The forum's state as the projector has it: no notes, no tally before it is revealed, no
    # selection preview or committee progress.
    state = forum.state_view(Role.MODERATOR)
    assert state == room_view(forum)
    assert "notes" not in state["items"][0]
    assert state["polls"]["vote"]["tally"] is None
    assert state["selection"]["result"] is None and "progress" not in state["selection"]
    host = forum.state_view(Role.HOST)
    assert host["items"][0]["notes"] == "for the host's eyes"
    assert host["polls"]["vote"]["tally"] is not None
    assert host["selection"]["result"] is not None and "progress" in host["selection"]
    assert not forum.tally_visible_to("vote", Role.MODERATOR)
    assert forum.selection_view(Role.MODERATOR) == forum.selection_view(Role.SCREEN)


def test_the_moderator_never_sees_the_ballot_codes_table(tmp_path: Path) -> None:
    programme, _ = jury_room(tmp_path)
    forum = Forum(programme)
    assert "codes" in forum.state_view(Role.HOST)
    assert "codes" not in forum.state_view(Role.MODERATOR)
    assert forum.state_view(Role.MODERATOR) == room_view(forum)


def test_the_moderator_key_is_the_forums_own_and_opens_nothing_else() -> None:
    key = moderator_key("forum-secret")
    assert key == moderator_key("forum-secret"), "every worker derives the same key"
    assert key != moderator_key("another-forum's-secret")
    assert key not in {committee_key("forum-secret", m) for m in ("moderator", "", "kim")}
    assert len(key) == 24 and key.isascii()


# -- both engines ---------------------------------------------------------------------------


async def test_a_moderators_commands_are_stored_by_each_engine(make_engine: EngineFactory) -> None:
    engine = await start(make_engine, make_forum().programme, Clock())
    try:
        await engine.execute(HOST, Goto("qna"))
        post = (await engine.execute(person("ann"), SubmitPost("qna", "Why?", "", "a"))).ack
        other = (await engine.execute(person("bo"), SubmitPost("qna", "How?", "", "b"))).ack
        ack = (await engine.execute(MODERATOR, ApprovePost(post["post"]))).ack
        assert ack["ok"] and ack["seq"] == engine.forum.seq
        assert (await engine.execute(MODERATOR, PinPost("qna", post["post"]))).ack["ok"]
        hid = (await engine.execute(MODERATOR, HidePost(other["post"]))).ack
        assert hid["ok"]
        purged = (await engine.execute(HOST, PurgeHidden("qna"))).ack
        assert purged["purged"] == 1
        for command in (
            Step(1),
            Goto("opening"),
            OpenPoll("vote"),
            PromoteIdeas("ideas"),
            HideAuthor(post["post"]),
            PurgeHidden("qna"),
        ):
            assert await refusal(engine, MODERATOR, command) == "forbidden"
        board = engine.forum.boards.boards["qna"]
        assert board.pinned == post["post"] and list(board.posts) == [post["post"]]
        assert engine.forum.current == 1
    finally:
        await engine.close()


def room_view(forum: Forum) -> dict[str, Any]:
    """The state as the projector sees it, but for whether it is blanked (the projector's and
    the host's business alone)."""
    view = forum.state_view(Role.SCREEN)
    del view["blank"]
    return view
