"""A post the moderator hid says so to its author, and to no one else: the public board names
only the ids of the newest hidden posts (their author alone knows an id is theirs), and the
author's own posts include their hidden ones after a reload. In the model and over a real server
on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ENGINES
from tests.test_board_model import HOST, ROOM, person, run
from tests.test_moderator_live import ask, served
from townhall.model.board_state import SHOWN_HIDDEN
from townhall.model.commands import ApprovePost, HidePost, Role, SubmitPost
from townhall.model.forum import Forum
from townhall.programme import parse_programme


def test_the_public_board_lists_the_newest_hidden_ids_and_nothing_of_them() -> None:
    forum = Forum(parse_programme(ROOM, source="boards.toml"))
    run(forum, person("bob"), SubmitPost("moderated", "Is it legal?", "Bob", "b1"))
    waiting = forum.seq
    run(forum, person("ann"), SubmitPost("moderated", "Fine", "Ann", "a1"))
    kept = forum.seq
    run(forum, HOST, ApprovePost(kept))
    run(forum, HOST, HidePost(waiting))
    public = forum.board_views(Role.PARTICIPANT)["moderated"]
    assert public["hidden"] == [waiting]
    assert [p["id"] for p in public["posts"]] == [kept]
    assert "Is it legal?" not in str(public)
    assert "hidden" not in forum.board_views(Role.HOST)["moderated"], "the host sees every post"
    # The author's own posts say hidden; another's say nothing of it.
    assert [(p["id"], p["state"]) for p in forum.boards.my_posts("bob")] == [(waiting, "hidden")]
    assert [p["id"] for p in forum.boards.my_posts("ann")] == [kept]
    # Shown again, it leaves the list.
    run(forum, HOST, ApprovePost(waiting))
    assert forum.board_views(Role.SCREEN)["moderated"]["hidden"] == []


def test_the_hidden_ids_are_bounded_newest_first() -> None:
    forum = Forum(parse_programme(ROOM, source="boards.toml"))
    made = []
    for n in range(SHOWN_HIDDEN + 5):
        run(forum, person(f"p{n}"), SubmitPost("qna", f"Post {n}", "", f"op{n}"))
        made.append(forum.seq)
        run(forum, HOST, HidePost(forum.seq))
    hidden = forum.board_views(Role.PARTICIPANT)["qna"]["hidden"]
    assert hidden == sorted(made, reverse=True)[:SHOWN_HIDDEN]


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_author_learns_their_post_was_hidden_live_and_after_a_reload(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with served(engine, request, tmp_path) as live:
        host = await live.host()
        assert (await host.call("goto", {"item": "qna"}))["ok"]
        author, cookie = await live.phone()
        other, _ = await live.phone()
        hidden = await ask(author, "Something rude", "op-1")
        waiting = await ask(author, "A fair question", "op-2")
        assert (await host.call("post_hide", {"post": hidden}))["ok"]
        # Every phone is told the id, and nothing else of the post.
        for phone in (author, other):
            board = await phone.wait_for("board", lambda b: hidden in b.get("hidden", []))
            assert "Something rude" not in str(board)
            assert waiting not in board["hidden"]
        # After a reload the author's own posts carry the state; the other phone's don't.
        again, _ = await live.phone(cookie)
        mine = {p["id"]: p["state"] for p in (await again.call("snapshot"))["my_posts"]}
        assert mine == {hidden: "hidden", waiting: "pending"}
        theirs = await other.call("snapshot")
        assert theirs["my_posts"] == []
        assert theirs["boards"]["qna"]["hidden"] == [hidden]
        assert "Something rude" not in str(theirs)
