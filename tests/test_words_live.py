"""Word items over a real server on both engines: answers moderated, the cloud in every role's
board message and snapshot, the exports, and a record that verifies."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ENGINES, Live, serve
from townhall.programme import parse_programme
from townhall.record.verify import verify

ROOM = """
[forum]
title = "Keywords"
language = "ko"

[[items]]
id = "opening"
kind = "talk"
title = "Welcome"

[[items]]
id = "keywords"
kind = "words"
title = "자신을 키워드 3개로 소개해 주세요"
question = "키워드를 보내 주세요"
moderated = true
answers_per_person = 3
hidden_words = ["바보"]
"""


def cloud_of(board: dict[str, Any]) -> dict[str, int]:
    return {word: n for word, n in board.get("cloud", [])}


@pytest.mark.parametrize("kind", ENGINES)
async def test_answers_make_the_cloud_on_every_screen(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    programme = parse_programme(ROOM, source="words.toml")
    more = {} if kind == "memory" else {"redis_url": request.getfixturevalue("redis_url")}
    async with serve(programme, tmp_path, **more) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            await hold(live)
            await check_exports(live)
        finally:
            await live.close_clients()
        auth = {"Authorization": f"Bearer {live.host_key}"}
        async with httpx.AsyncClient(base_url=url) as http:
            record = await http.get(f"/export/{live.code}/record.jsonl", headers=auth)
    assert record.status_code == 200
    path = tmp_path / "record.jsonl"
    path.write_bytes(record.content)
    assert verify(path).problems == []
    assert "도서관이" in record.text, "the answers are in the record, as post lines"


async def hold(live: Live) -> None:
    host = await live.host()
    screen = await live.screen()
    assert (await host.call("goto", {"item": "keywords"}))["ok"]
    phones = [(await live.phone())[0] for _ in range(4)]
    answers = ["도서관이", "도서관에서 책", "도서관은", "바보"]
    posted = []
    for n, (phone, text) in enumerate(zip(phones, answers, strict=True)):
        ack = await phone.call(
            "post", {"board": "keywords", "text": text, "name": "", "op": f"a{n}"}
        )
        assert ack["ok"] and ack["state"] == "pending", ack
        posted.append(ack["post"])
    board = await screen.wait_for("board", lambda b: b["version"] >= posted[-1])
    assert board["cloud"] == [], "waiting answers are not in the cloud"
    for post in posted:
        assert (await host.call("post_approve", {"post": post}))["ok"]
    board = await screen.wait_for("board", lambda b: cloud_of(b).get("도서관") == 3)
    assert cloud_of(board) == {"도서관": 3, "책": 1}, "the hidden word is never shown"
    full = await host.wait_for("board", lambda b: cloud_of(b).get("도서관") == 3)
    assert len(full["posts"]) == 4, "the host sees every answer, the hidden word's too"
    snapshot = await phones[0].call("snapshot")
    assert cloud_of(snapshot["boards"]["keywords"]) == {"도서관": 3, "책": 1}
    assert (await host.call("post_hide", {"post": posted[1]}))["ok"]
    board = await screen.wait_for("board", lambda b: cloud_of(b).get("도서관") == 2)
    assert cloud_of(board) == {"도서관": 2}
    # The phone offers no agreement on answers, and the server refuses one.
    refused = await phones[1].call("upvote", {"post": posted[0], "up": True, "op": "u1"})
    assert refused["ok"] is False and refused["error"]["code"] == "no_upvotes"
    for n in range(2):
        more = {"board": "keywords", "text": f"고양이 {n}", "name": "", "op": f"m{n}"}
        assert (await phones[0].call("post", more))["ok"]
    fourth = await phones[0].call("post", {"board": "keywords", "text": "강아지", "op": "m9"})
    assert fourth["ok"] is False and fourth["error"]["code"] == "post_limit"


async def check_exports(live: Live) -> None:
    auth = {"Authorization": f"Bearer {live.host_key}"}
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert (await http.get(f"/export/{live.code}/words.json")).status_code == 401
        body = (await http.get(f"/export/{live.code}/words.json", headers=auth)).json()
        table = (await http.get(f"/export/{live.code}/words.csv", headers=auth)).text
        posts = (await http.get(f"/export/{live.code}/posts.json", headers=auth)).json()
    (keywords,) = body["clouds"]
    assert keywords["board"] == "keywords" and keywords["answers"] == 3
    assert keywords["words"] == [["도서관", 2]], "waiting answers are not counted yet"
    rows = list(csv.DictReader(io.StringIO(table.lstrip("\ufeff"))))
    assert [(r["word"], r["count"], r["rank"]) for r in rows] == [("도서관", "2", "1")]
    texts = {p["text"]: p["state"] for p in posts["posts"] if p["board"] == "keywords"}
    assert texts["도서관에서 책"] == "hidden" and texts["고양이 0"] == "pending"
