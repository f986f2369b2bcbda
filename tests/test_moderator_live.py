"""The moderator over a real server, on both engines: their link, their snapshot, what they may
send, and the boards and state they are sent."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ENGINES, Client, Live, Refused, serve
from tests.test_moderator import make_forum
from townhall.keys import committee_key, moderator_key


@contextlib.asynccontextmanager
async def served(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Live]:
    """The moderated forum of tests/test_moderator.py, served on `engine`."""
    more = {"redis_url": request.getfixturevalue("redis_url")} if engine == "redis" else {}
    async with serve(make_forum().programme, tmp_path, **more) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live
        finally:
            await live.close_clients()


def moderator_auth(live: Live, key: Any = None) -> dict[str, Any]:
    assert live.townhall is not None
    right = moderator_key(live.townhall.keys.secret)
    return {"role": "moderator", "code": live.code, "key": right if key is None else key}


async def moderator(live: Live) -> Client:
    return await live.connect(moderator_auth(live))


async def ask(phone: Client, text: str, op: str) -> int:
    ack = await phone.call("post", {"board": "qna", "text": text, "name": "", "op": op})
    assert ack["ok"], ack
    return int(ack["post"])


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_wrong_moderator_key_is_refused(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with served(engine, request, tmp_path) as live:
        assert live.townhall is not None
        secret = live.townhall.keys.secret
        for key in ("", "nope", live.host_key, committee_key(secret, "kim"), ["k"], None):
            auth = moderator_auth(live, key)
            if key is None:
                del auth["key"]
            with pytest.raises(Refused) as caught:
                await live.connect(auth)
            assert caught.value.code == "bad_key", key
        mod = await moderator(live)
        assert (await mod.call("snapshot"))["ok"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_moderator_approves_and_the_room_sees_it_but_cannot_move_the_agenda(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with served(engine, request, tmp_path) as live:
        host = await live.host()
        assert (await host.call("goto", {"item": "qna"}))["ok"]
        mod = await moderator(live)
        screen = await live.screen()
        phone, _ = await live.phone()
        watcher, _ = await live.phone()
        question = await ask(phone, "Who sets the budget?", "q")

        # The moderator's snapshot: the board whole, the state as the room has it.
        snapshot = await mod.call("snapshot")
        posts = snapshot["boards"]["qna"]["posts"]
        assert [(p["id"], p["state"]) for p in posts] == [(question, "pending")]
        assert "original" in posts[0], "the moderator's view of a post is the host's"
        assert "notes" not in snapshot["state"]["items"][0]
        assert snapshot["state"]["selection"]["result"] is None
        assert snapshot["state"]["polls"]["vote"]["tally"] is None
        assert "presence" not in snapshot and "committee_links" not in snapshot
        assert "moderator_link" not in snapshot
        assert (await watcher.call("snapshot"))["boards"]["qna"]["posts"] == []

        ack = await mod.call("post_approve", {"post": question})
        assert ack["ok"], ack
        for client in (watcher, screen):
            await client.wait_for(
                "board",
                lambda b: [p["id"] for p in b["posts"]] == [question],
                "the approved question on a phone and the projector",
            )
        assert (await mod.call("post_pin", {"board": "qna", "post": question}))["ok"]
        await watcher.wait_for("board", lambda b: b["pinned"] == question)

        # The agenda, polls, timer, selection and codes are the host's.
        before = live.forum.seq
        for event, payload in [
            ("next", {}),
            ("prev", {}),
            ("goto", {"item": "opening"}),
            ("poll_open", {"poll": "vote"}),
            ("results_show", {"poll": "vote"}),
            ("timer_start", {}),
            ("ideas_promote", {"board": "ideas"}),
            ("selection_publish", {}),
            ("code_tries_reset", {}),
        ]:
            refused = await mod.call(event, payload)
            assert refused["ok"] is False, event
            assert refused["error"]["code"] == "forbidden", (event, refused)
        assert live.forum.seq == before
        assert live.forum.programme.items[live.forum.current].id == "qna"

        # In the record, the moderator's lines read as the host's do, and carry no key.
        async with httpx.AsyncClient() as http:
            response = await http.get(
                f"{live.url}/export/{live.code}/record.jsonl",
                headers={"Authorization": f"Bearer {live.host_key}"},
            )
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.text.splitlines()]
        moderated = [line for line in lines if line.get("type") in ("post_state", "post_pinned")]
        assert [(line["type"], line["actor"]) for line in moderated] == [
            ("post_state", {"role": "host"}),
            ("post_pinned", {"role": "host"}),
        ]
        assert moderator_auth(live)["key"] not in response.text


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_moderator_is_sent_every_board_whole_and_the_rooms_state(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with served(engine, request, tmp_path) as live:
        host = await live.host()
        mod = await moderator(live)
        phone, _ = await live.phone()
        # The Q&A is not on screen: the phones are not sent it; the moderator is, whole.
        question = await ask(phone, "Can I ask early?", "early")
        board = await mod.wait_for("board", lambda b: b["board"] == "qna" and b["posts"])
        assert board["posts"][0]["state"] == "pending"
        assert (await mod.call("post_approve", {"post": question}))["ok"]
        await mod.wait_for("board", lambda b: b["posts"] and b["posts"][0]["state"] == "visible")
        assert (await host.call("goto", {"item": "vote"}))["ok"]
        assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
        state = await mod.wait_for(
            "state", lambda s: s["polls"]["vote"]["status"] == "open", "the poll opened"
        )
        assert state["current"] == 3 and state["polls"]["vote"]["tally"] is None
        assert "notes" not in state["items"][0]
        voter, _ = await live.phone()
        assert (await voter.call("vote", {"poll": "vote", "choices": ["a"], "op": "v"}))["ok"]
        assert (await host.call("results_show", {"poll": "vote"}))["ok"]
        await mod.wait_for("tally", lambda t: t["counts"] == {"a": 1, "b": 0})
        # The moderator's own link is on the host's snapshot only.
        snapshot = await host.call("snapshot")
        assert live.townhall is not None
        key = moderator_key(live.townhall.keys.secret)
        assert snapshot["moderator_link"] == f"/moderate/{live.code}#key={key}"
        assert snapshot["presence"]["moderator"] >= 1
