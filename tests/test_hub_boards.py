"""Boards over a real server: posting, racing and resent upvotes, moderation, export."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
from typing import Any

import httpx

from tests.conftest import Client, Live, wait_until


async def post(phone: Client, text: str, op: str, board: str = "qna", name: str = "") -> Any:
    ack = await phone.call("post", {"board": board, "text": text, "name": name, "op": op})
    assert ack["ok"], ack
    return ack


async def test_a_post_reaches_every_screen_and_the_authors_snapshot(live: Live) -> None:
    host = await live.host()
    screen = await live.screen()
    phone, cookie = await live.phone()
    ack = await post(phone, "Why now?", "op-1", name="민지")
    assert ack["state"] == "visible" and ack["duplicate"] is False
    await host.wait_for("board", lambda b: b["version"] >= ack["post"])
    assert "board" not in screen.received, "a board off screen is not sent to the projector"
    assert (await host.call("goto", {"item": "qna"}))["ok"]
    board = await screen.wait_for(
        "board", lambda b: any(p["id"] == ack["post"] for p in b["posts"])
    )
    shown = board["posts"][0]
    assert (shown["text"], shown["name"], shown["upvotes"]) == ("Why now?", "민지", 0)
    assert "original" not in shown, "the projector gets the public view"
    full = await host.wait_for("board", lambda b: b["version"] >= ack["post"])
    assert "original" in full["posts"][0]
    again, _ = await live.phone(cookie)
    snapshot = await again.call("snapshot")
    assert [p["id"] for p in snapshot["my_posts"]] == [ack["post"]]
    assert snapshot["boards"]["qna"]["posts"][0]["text"] == "Why now?"
    resend = await post(phone, "Why now?", "op-1")
    assert resend["post"] == ack["post"] and resend["duplicate"] is True


async def test_phones_get_at_most_one_board_message_a_second(live: Live) -> None:
    host = await live.host()
    await host.call("goto", {"item": "qna"})
    watcher, _ = await live.phone()
    authors = [(await live.phone())[0] for _ in range(6)]
    started = asyncio.get_running_loop().time()
    acks = await asyncio.gather(*(post(a, f"Question {n}", f"q{n}") for n, a in enumerate(authors)))
    last = max(ack["post"] for ack in acks)
    board = await watcher.wait_for("board", lambda b: b["version"] >= last)
    elapsed = asyncio.get_running_loop().time() - started
    assert len(board["posts"]) == 6, "the changes held back are all in the next message"
    # At most one a second (plus the one already due): not one per post.
    assert len(watcher.received["board"]) <= 2 + int(elapsed)
    assert len(watcher.received["board"]) < 6


async def test_resent_and_racing_upvotes_count_each_person_once(live: Live) -> None:
    author, _ = await live.phone()
    question = (await post(author, "Is the library open at night?", "q"))["post"]
    tab1, cookie = await live.phone()
    tab2, _ = await live.phone(cookie)
    others = [(await live.phone())[0] for _ in range(12)]
    acks = await asyncio.gather(
        tab1.call("upvote", {"post": question, "up": True, "op": "t1"}),
        tab1.call("upvote", {"post": question, "up": True, "op": "t1"}),  # a resend
        tab2.call("upvote", {"post": question, "up": True, "op": "t2"}),  # the same person
        *(p.call("upvote", {"post": question, "up": True, "op": "o"}) for p in others),
    )
    assert all(ack["ok"] for ack in acks)
    assert len(live.forum.boards.posts[question].upvoters) == 13
    screen = await live.screen()
    snapshot = await screen.call("snapshot")
    assert snapshot["boards"]["qna"]["posts"][0]["upvotes"] == 13
    back = await tab2.call("upvote", {"post": question, "up": False, "op": "t3"})
    assert back["up"] is False and back["upvotes"] == 12
    late = await tab1.call("upvote", {"post": question, "up": True, "op": "t1"})
    assert late["duplicate"] is True and late["up"] is False, "a late resend can't undo it"
    mine = await tab1.call("snapshot")
    assert mine["my_upvotes"] == {}


async def test_moderation_over_the_wire(live: Live) -> None:
    host = await live.host()
    phone, _ = await live.phone()
    a = (await post(phone, "Opening hours?", "a"))["post"]
    b = (await post(phone, "When is it open?", "b"))["post"]
    voter, _ = await live.phone()
    await voter.call("upvote", {"post": b, "up": True, "op": "v"})
    for event, payload in [
        ("post_edit", {"post": a, "text": "What are the opening hours?"}),
        ("post_pin", {"board": "qna", "post": a}),
        ("post_merge", {"source": b, "target": a}),
    ]:
        assert (await host.call(event, payload))["ok"], event
    board = (await host.call("snapshot"))["boards"]["qna"]
    posts = {p["id"]: p for p in board["posts"]}
    assert board["pinned"] == a
    assert posts[a]["upvotes"] == 1 and posts[a]["original"] == "Opening hours?"
    assert posts[b]["state"] == "merged" and posts[b]["merged_into"] == a
    refused = await phone.call("post_answer", {"post": a})
    assert refused["error"]["code"] == "forbidden"
    assert (await host.call("post_answer", {"post": a}))["ok"]
    after = (await phone.call("snapshot"))["boards"]["qna"]
    assert after["pinned"] == 0
    assert [(p["id"], p["state"]) for p in after["posts"]] == [(a, "answered")]
    bad = await voter.call("upvote", {"post": b, "up": True, "op": "w"})
    assert bad["error"]["code"] == "post_merged"


async def test_bad_board_messages_are_refused(live: Live) -> None:
    phone, _ = await live.phone()
    for payload, code in [
        ({"board": "qna", "text": "", "op": "1"}, "empty_post"),
        ({"board": "qna", "text": "x" * 281, "op": "1"}, "post_too_long"),
        ({"board": "vote", "text": "x", "op": "1"}, "unknown_board"),
        ({"board": "qna", "text": 5, "op": "1"}, "invalid_payload"),
        ({"board": "qna", "text": "x", "op": "1", "html": "<b>"}, "invalid_payload"),
    ]:
        ack = await phone.call("post", payload)
        assert ack["error"]["code"] == code, payload
    for payload in ({"post": "1", "up": True, "op": "o"}, {"post": 1, "up": "yes", "op": "o"}):
        assert (await phone.call("upvote", payload))["error"]["code"] == "invalid_payload"
    assert (await phone.call("upvote", {"post": 424242, "up": True, "op": "o"}))["error"][
        "code"
    ] == "unknown_post"
    assert live.forum.boards.posts == {}


async def test_posts_export_needs_the_host_key_and_keeps_formulas_inert(live: Live) -> None:
    phone, _ = await live.phone()
    await post(phone, '=HYPERLINK("http://example.invalid")', "f", name="+cmd")
    plain = (await post(phone, "Plain, with a comma", "p"))["post"]
    voter, _ = await live.phone()
    await voter.call("upvote", {"post": plain, "up": True, "op": "v"})
    async with httpx.AsyncClient(base_url=live.url) as http:
        url = f"/export/{live.code}/posts.csv"
        assert (await http.get(url)).status_code == 401
        assert (await http.get(url, headers={"Authorization": "Bearer wrong"})).status_code == 401
        auth = {"Authorization": f"Bearer {live.host_key}"}
        response = await http.get(url, headers=auth)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith(codecs.BOM_UTF8)
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [r["text"] for r in rows] == [
            '\'=HYPERLINK("http://example.invalid")',
            "Plain, with a comma",
        ]
        assert rows[0]["name"] == "'+cmd"
        assert (rows[1]["upvotes"], rows[1]["state"], rows[1]["board"]) == ("1", "visible", "qna")
        body = (await http.get(f"/export/{live.code}/posts.json", headers=auth)).json()
        assert body["forum"] == "test-forum"
        assert [p["upvotes"] for p in body["posts"]] == [0, 1]
        assert body["posts"][0]["text"].startswith("=HYPERLINK"), "JSON keeps the text as written"
        assert (await http.get("/export/NOPE99/posts.json", headers=auth)).status_code == 404


async def test_upvotes_are_rate_limited_per_participant_across_tabs(live: Live) -> None:
    author, _ = await live.phone()
    ids = []
    for n in range(3):
        ids.append((await post(author, f"Question {n}", f"q{n}"))["post"])
    tab1, cookie = await live.phone()
    tab2, _ = await live.phone(cookie)
    stranger, _ = await live.phone()
    # Twenty upvote messages over two tabs: more than one person's burst of ten.
    acks = await asyncio.gather(
        *(
            tab.call("upvote", {"post": ids[n % 3], "up": n % 2 == 0, "op": f"u{n}"})
            for n, tab in enumerate([tab1, tab2] * 10)
        )
    )
    refused = [a["error"]["code"] for a in acks if not a["ok"]]
    assert refused and set(refused) == {"rate_limited"}
    assert len(refused) >= 8, "two tabs do not get two people's allowance"
    other = await stranger.call("upvote", {"post": ids[0], "up": True, "op": "s"})
    assert other["ok"], "someone else is not held back"
    tabs_owner = participant_of(live, tab1)
    assert tabs_owner in live.hub.board_buckets
    await tab1.close()
    assert tabs_owner in live.hub.board_buckets, "one tab is still open"
    await tab2.close()
    await wait_until(
        lambda: tabs_owner not in live.hub.board_buckets, "the closed tabs' bucket to go"
    )
    assert participant_of(live, stranger) in live.hub.board_buckets


def participant_of(live: Live, client: Client) -> str:
    sid = client.sio.get_sid("/")
    return live.hub.connections[sid].actor.id
