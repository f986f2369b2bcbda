"""Scale and ranking polls on a running server, on both engines: counts after votes and changed
votes, the results export, the record (verified, and recounted by the check that imports nothing
of Townhall's), and on Redis two workers agreeing with each other and with Redis's own counts."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests import record_builder as build
from tests.conftest import serve, wait_until
from tests.test_poll_kinds import ROOM
from tests.test_redis_engine import two_workers
from townhall.engine.redis_keys import RedisKeys
from townhall.model.commands import Actor, ClosePoll, OpenPoll, Role, Vote
from townhall.programme import parse_programme
from townhall.record.verify import verify

HERE = Path(__file__).resolve().parent
HOST = Actor(Role.HOST, "host")
ENGINES = ["memory", "redis"]
P1, P2, P3 = (Actor(Role.PARTICIPANT, f"voter-{n}") for n in (1, 2, 3))
# After the votes below: the mood's points 5, 4, 4 (one changed from 2), the order's rankings
# c > a > d > b, a > b > c > d, and one changed from d > c > b > a to b > a > c > d.
MOOD = {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}
ORDER = {"a": 2 + 3 + 2, "b": 0 + 2 + 3, "c": 3 + 1 + 1, "d": 1 + 0 + 0}


async def vote_and_close(execute: Any) -> None:
    await execute(HOST, OpenPoll("mood"))
    await execute(HOST, OpenPoll("order"))
    await execute(P1, Vote("mood", ("5",), "m1"))
    await execute(P2, Vote("mood", ("2",), "m1"))
    await execute(P2, Vote("mood", ("4",), "m2"))  # a change of mind
    await execute(P3, Vote("mood", ("4",), "m1"))
    await execute(P1, Vote("order", ("c", "a", "d", "b"), "r1"))
    await execute(P2, Vote("order", ("a", "b", "c", "d"), "r1"))
    await execute(P3, Vote("order", ("d", "c", "b", "a"), "r1"))
    await execute(P3, Vote("order", ("b", "a", "c", "d"), "r2"))  # taken back with its points
    await execute(P3, Vote("order", ("b", "a", "c", "d"), "r2"))  # a resend: counted once
    await execute(HOST, ClosePoll("mood"))
    await execute(HOST, ClosePoll("order"))


def recounted(path: Path) -> dict[str, Any]:
    """What tests/record_recount.py, run as its own process, finds in the record."""
    done = subprocess.run(
        [sys.executable, str(HERE / "record_recount.py"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def settings_for(engine: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {} if engine == "memory" else {"redis_url": request.getfixturevalue("redis_url")}


@pytest.mark.parametrize("engine", ENGINES)
async def test_scale_and_ranking_counts_exports_and_record(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    programme = parse_programme(ROOM, source="kinds.toml")
    async with serve(programme, tmp_path, **settings_for(engine, request)) as (townhall, url):
        await vote_and_close(townhall.engine.execute)
        polls = townhall.engine.forum.polls
        assert polls["mood"].tally()["counts"] == MOOD
        assert polls["mood"].tally()["mean"] == 4.33
        assert polls["order"].tally()["counts"] == ORDER
        assert polls["order"].tally()["voters"] == 3
        code = townhall.keys.code
        bearer = {"Authorization": f"Bearer {townhall.keys.host_key}"}
        async with httpx.AsyncClient(base_url=url, headers=bearer) as http:
            results = (await http.get(f"/export/{code}/results.json")).json()["polls"]
            sheet = (await http.get(f"/export/{code}/results.csv")).content.decode("utf-8-sig")
            record = (await http.get(f"/export/{code}/record.jsonl")).content

    # The export: a scale's distribution and mean, a ranking's points and its method named.
    mood, order = results
    assert (mood["choice"], mood["mean"], mood["voters"]) == ("scale", 4.33, 3)
    assert {o["id"]: o["count"] for o in mood["options"]} == MOOD
    assert mood["scale_labels"] == ["Not at all", "Very much"]
    assert (order["choice"], order["voters"]) == ("ranking", 3)
    assert order["method"].startswith("borda")
    assert {o["id"]: o["count"] for o in order["options"]} == ORDER
    assert order["openings"][-1]["counts"] == ORDER
    rows = list(csv.DictReader(io.StringIO(sheet)))
    assert {r["option"]: int(r["count"]) for r in rows if r["poll"] == "order"} == ORDER
    assert {r["mean"] for r in rows if r["poll"] == "mood"} == {"4.33"}
    assert {r["mean"] for r in rows if r["poll"] == "order"} == {""}

    # The record: each ballot in the voter's order, each close's tally of points; it verifies
    # and both recounts agree.
    path = tmp_path / "record.jsonl"
    path.write_bytes(record)
    lines = [json.loads(line) for line in record.decode().splitlines()]
    ballots = [line for line in lines if line.get("type") == "ballot" and line["poll"] == "order"]
    assert [b["choices"] for b in ballots][-1] == ["b", "a", "c", "d"]
    closes = {line["poll"]: line["tally"] for line in lines if line.get("type") == "poll_closed"}
    assert closes == {"mood": MOOD, "order": ORDER}
    assert verify(path).problems == []
    assert {t["poll"]: t["tally"] for t in recounted(path)["tallies"]} == closes

    # A ranking's ballot whose order was changed afterwards no longer adds up to the close.
    for line in lines:
        if line.get("type") == "ballot" and line.get("op") == "r1" and line["poll"] == "order":
            line["choices"] = ["d", "c", "b", "a"]
            break
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(build.jsonl(lines))
    problems = verify(tampered).problems
    assert problems and "order" in problems[-1].message


async def test_two_redis_workers_count_rankings_alike(redis_url: str) -> None:
    programme = parse_programme(ROOM, source="kinds.toml")
    async with two_workers(programme, redis_url) as (a, b):
        turn = iter([a, b] * 20)

        async def alternate(actor: Actor, command: Any) -> None:
            await next(turn).execute(actor, command)

        await vote_and_close(alternate)
        seq = max(a.forum.seq, b.forum.seq)
        await wait_until(lambda: a.forum.seq == b.forum.seq == seq, "both replicas to settle")
        for worker in (a, b):
            assert worker.forum.polls["order"].tally()["counts"] == ORDER
            assert worker.forum.polls["mood"].tally()["counts"] == MOOD
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for poll, expected in (("order", ORDER), ("mood", MOOD)):
            stored = client.hgetall(RedisKeys("kinds-forum").counts(poll))
            assert {o: int(n) for o, n in stored.items() if int(n)} == {
                o: n for o, n in expected.items() if n
            }
    finally:
        client.close()
