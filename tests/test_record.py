"""The public record (docs/record.md), on both engines: its lines, chain and pseudonyms, the
tallies and result it states, where it comes from (the export and `townhall record`), and that a
restart only ever adds to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve
from townhall.app import Townhall
from townhall.engine import EngineError
from townhall.model.commands import (
    Actor,
    ClosePoll,
    EditPost,
    HidePost,
    LockScoring,
    MergePosts,
    OpenPoll,
    PublishSelection,
    PurgeHidden,
    Role,
    ScoreCandidate,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.forum import Forum
from townhall.model.statement import programme_from, programme_statement, rules_in_force
from townhall.programme import parse_programme
from townhall.record.chain import GENESIS, line_hash, sha256_hex
from townhall.record.log import StoredForum, record_bytes
from townhall.record.pseudonyms import Pseudonyms
from townhall.record.verify import verify
from townhall.record.writer import RecordWriter

ROOM = """\
[forum]
id = "record-forum"
title = "A forum on record"

[[items]]
id = "panel"
kind = "qna"
title = "Questions"

[[items]]
id = "vote"
kind = "poll"
title = "Which experiment?"
options = [{ id = "a", label = "Proposal A" }, { id = "b", label = "Proposal B" }]

[[items]]
id = "again"
kind = "poll"
title = "Once more"
options = [{ id = "x", label = "X" }, { id = "y", label = "Y" }]

[selection]
poll = "vote"
committee = ["kim", "lee"]
rubric = ["Impact?", "Feasible?"]

[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 30

[[selection.candidates]]
id = "b"
title = "Proposal B"
agreements = 10
"""
FORUM = "record-forum"
HOST = Actor(Role.HOST, "host")
# Long, distinctive ids, so finding one in the file can only mean it leaked.
P1, P2, P3 = (Actor(Role.PARTICIPANT, f"participant-{n}-5f1c2a9e7d3b4c6a") for n in (1, 2, 3))
ENGINES = ["memory", "redis"]


def settings_for(engine: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {} if engine == "memory" else {"redis_url": request.getfixturevalue("redis_url")}


async def hold_a_forum(townhall: Townhall) -> None:
    """Votes, a change of mind and a resend, posts moderated, scores and a publication."""
    run = townhall.engine.execute
    await run(HOST, OpenPoll("vote"))
    await run(P1, Vote("vote", ("a",), "v1"))
    await run(P2, Vote("vote", ("b",), "v1"))
    await run(P1, Vote("vote", ("b",), "v2"))  # a change of mind
    await run(P1, Vote("vote", ("b",), "v2"))  # its resend: no event
    await run(P3, Vote("vote", ("a",), "v1"))
    kept = (await run(P1, SubmitPost("panel", "Where are the books?", "Ann", "s1"))).ack["post"]
    rude = (await run(P2, SubmitPost("panel", "Something rude", "Bo", "s1"))).ack["post"]
    same = (await run(P3, SubmitPost("panel", "Something rude too", "", "s1"))).ack["post"]
    await run(P2, Upvote(kept, True, "u1"))
    await run(HOST, EditPost(kept, "Where are the new books?"))
    await run(HOST, MergePosts(same, rude))
    await run(HOST, HidePost(rude))
    await run(HOST, PurgeHidden("panel"))
    await run(HOST, ClosePoll("vote"))
    await run(HOST, OpenPoll("again"))
    await run(P1, Vote("again", ("x",), "w1"))
    await run(P2, Vote("again", ("y",), "w1"))
    await run(HOST, ClosePoll("again"))
    await run(Actor(Role.COMMITTEE, "kim"), ScoreCandidate("a", (5, 4)))
    await run(Actor(Role.COMMITTEE, "lee"), ScoreCandidate("b", (3, None)))
    await run(HOST, LockScoring(locked=True))
    await run(HOST, PublishSelection(published=True))


async def exported(townhall: Townhall, url: str, key: str | None) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.get(f"/export/{townhall.keys.code}/record.jsonl", headers=headers)


def lines_of(data: bytes) -> list[dict[str, Any]]:
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().splitlines()]


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def check_chain(lines: list[dict[str, Any]]) -> None:
    prev = GENESIS
    for line in lines:
        assert line["prev"] == prev
        assert line["hash"] == line_hash(line)
        prev = line["hash"]


def check_against_the_model(lines: list[dict[str, Any]], forum: Forum) -> None:
    """Every tally and the result the record states are the server's."""
    closed = {line["poll"]: line["tally"] for line in lines if line.get("type") == "poll_closed"}
    assert (
        closed
        == {poll: forum.polls[poll].counts for poll in ("vote", "again")}
        == {"vote": {"a": 1, "b": 2}, "again": {"x": 1, "y": 1}}
    )
    (published,) = [line for line in lines if line.get("type") == "selection_published"]
    rows = forum.selection_result()["rows"]
    assert published["result"]["rows"] == [
        {
            "rank": row["rank"],
            "candidate": row["candidate"],
            "agreements": row["inputs"]["agreements"],
            "live_votes": row["inputs"]["live_votes"],
            "committee_scores_given": row["inputs"]["scores_given"],
            "points": row["exact"],
        }
        for row in rows
    ]
    assert all(
        isinstance(p, str) for r in published["result"]["rows"] for p in r["points"].values()
    )


def run_townhall(*args: str) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "townhall", *args)


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_record_of_a_forum_on_each_engine(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    programme = parse_programme(ROOM, source="record.toml")
    more = settings_for(engine, request)
    where = ["--data-dir", str(tmp_path)] if engine == "memory" else ["--redis", more["redis_url"]]
    async with serve(programme, tmp_path, **more) as (townhall, url):
        await hold_a_forum(townhall)
        assert (await exported(townhall, url, None)).status_code == 401
        assert (await exported(townhall, url, "not-the-key")).status_code == 401
        async with httpx.AsyncClient(base_url=url) as http:
            elsewhere = "/export/NOSUCH/record.jsonl"
            bearer = {"Authorization": f"Bearer {townhall.keys.host_key}"}
            assert (await http.get(elsewhere, headers=bearer)).status_code == 404
        response = await exported(townhall, url, townhall.keys.host_key)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/jsonl")
        assert "attachment" in response.headers["content-disposition"]
        seq, digest = await townhall.book.digest()
        forum = townhall.engine.forum
        # The published result's line, in public for the projector; the host's running digest
        # and the selection export, behind the key.
        code, bearer = townhall.keys.code, {"Authorization": f"Bearer {townhall.keys.host_key}"}
        async with httpx.AsyncClient(base_url=url) as http:
            published = (await http.get(f"/record/{code}/published.json")).json()
            assert (await http.get(f"/export/{code}/digest.json")).status_code == 401
            running = (await http.get(f"/export/{code}/digest.json", headers=bearer)).json()
            selection = (await http.get(f"/export/{code}/selection.json", headers=bearer)).json()
        published_seq = forum.require_committee().published_seq
        assert published == {
            "seq": published_seq,
            "digest": await townhall.book.digest_at(published_seq),
        }
        assert running == {"seq": seq, "digest": digest}
        assert (selection["digest_seq"], selection["digest"]) == (
            published["seq"],
            published["digest"],
        )
        (tmp_path / "selection.json").write_text(json.dumps(selection), encoding="utf-8")
        # The same forum, read offline as `townhall record` reads it.
        out = tmp_path / "record.jsonl"
        done = run_townhall("record", *where, "--forum", FORUM, "-o", str(out))
        assert done.returncode == 0, done.stderr
        # `townhall score` reads the same log, with no room file: the programme is in it.
        scored = run_townhall("score", *where, "--forum", FORUM, "--json")
        assert scored.returncode == 0, scored.stderr
        assert json.loads(scored.stdout)["rows"] == forum.selection_result()["rows"]
    record = response.content
    assert out.read_bytes() == record
    lines = lines_of(record)
    header, events = lines[0], lines[1:]
    assert header["format"] == "townhall-record" and header["forum"] == FORUM
    assert [line["seq"] for line in events] == list(range(1, len(events) + 1))
    assert (events[-1]["seq"], events[-1]["hash"]) == (seq, digest)
    check_chain(lines)
    # Every line is canonical: what json.dumps makes of it with sorted keys and no spaces.
    for raw, line in zip(record.splitlines(), lines, strict=True):
        assert raw.decode() == json.dumps(
            line, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    assert not any(isinstance(value, float) for line in lines for value in leaves(line))
    for participant in (P1, P2, P3):
        assert participant.id.encode() not in record
    started = events[0]
    assert started["type"] == "server_started" and started["actor"] == {"role": "server"}
    assert started["engine"] == engine and started["programme"]["id"] == FORUM
    assert started["rules"]["posts_per_window"] > 0
    assert all(isinstance(line["at"], int) for line in events)
    ballots = [line for line in events if line["type"] == "ballot"]
    assert len(ballots) == 6  # the resend made none
    p1 = ballots[0]["actor"]["id"]
    assert p1.startswith("p-") and len(p1) == 18
    assert [line["actor"]["id"] for line in ballots if line["choices"] == ["x"]] == [p1]
    assert len({line["actor"]["id"] for line in ballots}) == 3
    posts = [line for line in events if line["type"] == "post_created"]
    assert [line["post"] for line in posts] == [line["seq"] for line in posts]
    kept, *purged = posts
    salt = Pseudonyms(townhall.book.secret).salt
    assert kept["plain"] == {"salt": salt(kept["seq"]), "text": "Where are the books?"} | {
        "name": "Ann"
    }
    assert kept["text_sha256"] == sha256_hex(f"{salt(kept['seq'])}Where are the books?".encode())
    assert kept["name_sha256"] == sha256_hex(f"{salt(kept['seq'])}Ann".encode())
    assert all("plain" not in line for line in purged)  # the purged post, and the one merged in
    # A purged text's hash checks no guess: its salt is in no line.
    for line in purged:
        assert salt(line["seq"]).encode() not in record
    assert all("text" not in line and "name" not in line for line in posts)
    (edited,) = [line for line in events if line["type"] == "post_edited"]
    assert edited["plain"] == {"salt": salt(edited["seq"]), "text": "Where are the new books?"}
    assert {line["type"]: line["actor"]["role"] for line in events} == {
        "server_started": "server",
        "poll_opened": "host",
        "ballot": "participant",
        "post_created": "participant",
        "upvote": "participant",
        "post_edited": "host",
        "posts_merged": "host",
        "post_state": "host",
        "posts_purged": "host",
        "poll_closed": "host",
        "live_vote": "host",
        "committee_scored": "committee",
        "scoring_locked": "host",
        "selection_published": "host",
    }
    check_against_the_model(lines, forum)
    # `townhall verify` accepts what the server wrote, and the recount that imports nothing of
    # Townhall's (tests/record_recount.py, written from docs/record.md) agrees line for line.
    checked = run_townhall("verify", str(out), "--selection", str(tmp_path / "selection.json"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"digest {digest}" in checked.stdout
    assert "its digest is in the record" in checked.stdout
    lines_at = {line.get("seq"): line for line in lines}
    assert lines_at[published_seq]["type"] == "selection_published"
    assert lines_at[published_seq]["hash"] == published["digest"]
    recounted = run_python(str(Path(__file__).parent / "record_recount.py"), str(out))
    assert recounted.returncode == 0, recounted.stderr
    counted = json.loads(recounted.stdout)
    assert counted["chain_ok"] and counted["plain_ok"] and counted["digest"] == digest
    closes = [n for n, line in enumerate(lines, start=1) if line.get("type") == "poll_closed"]
    assert [t["line"] for t in counted["tallies"]] == closes
    for tally in counted["tallies"]:
        assert tally["tally"] == lines[tally["line"] - 1]["tally"]
    (chosen,) = counted["selections"]
    assert chosen["rows"] == lines[chosen["line"] - 1]["result"]["rows"]

    check_tampering(record, lines, tmp_path)

    # A restart adds its server_started and keeps every earlier line byte for byte.
    async with serve(programme, tmp_path, **more) as (townhall, url):
        after = (await exported(townhall, url, townhall.keys.host_key)).content
        assert await townhall.book.digest_at(seq) == digest
        assert (await townhall.book.digest())[0] == seq + 1
    assert after.startswith(record)
    (restarted,) = lines_of(after[len(record) :])
    assert restarted["type"] == "server_started" and restarted["seq"] == seq + 1
    assert restarted["prev"] == digest
    again = tmp_path / "after.jsonl"
    again.write_bytes(after)
    assert run_townhall("verify", str(again)).returncode == 0


async def test_the_running_digest_extends_as_the_log_grows(tmp_path: Path) -> None:
    programme = parse_programme(ROOM, source="record.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        book = townhall.book
        assert await book.digest() == (1, await book.digest_at(1))
        await townhall.engine.execute(HOST, OpenPoll("vote"))
        await townhall.engine.execute(P1, Vote("vote", ("a",), "v1"))
        seq, digest = await book.digest()
        assert seq == 3 and await book.digest_at(99) is None
        record = (await exported(townhall, url, townhall.keys.host_key)).content
    assert lines_of(record)[-1]["hash"] == digest


def test_townhall_record_names_what_is_missing_and_makes_nothing(tmp_path: Path) -> None:
    done = run_townhall("record", "--data-dir", str(tmp_path), "--forum", "nowhere")
    assert done.returncode == 1
    assert "nowhere" in done.stderr and str(tmp_path) in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # no secret made, no journal
    with pytest.raises(EngineError, match="nowhere"):
        record_bytes(StoredForum("nowhere", tmp_path))


def test_lines_from_records_stored_before_times_or_through_lua() -> None:
    """A record without `at` (stored before times were) has `at` null; a programme back from
    Lua's msgpack, its empty lists turned to maps, is read as it was written."""
    programme = parse_programme(ROOM, source="record.toml")
    writer = RecordWriter(programme, "secret")
    writer.header()
    statement = programme_statement(programme)
    assert statement["selection"]["rule"]["weights"]
    through_lua = {**statement, "selection": {**statement["selection"], "committee": {}}}
    started = writer.line(
        {
            "t": "server_started",
            "engine": "redis",
            "townhall": "0.1.0",
            "programme": through_lua,
            "rules": rules_in_force(),
            "seq": 1,
        }
    )
    assert started["programme"]["selection"]["committee"] == []
    assert started["at"] is None
    opened = writer.line({"t": "poll_opened", "poll": "vote", "seq": 2, "at": 5})
    assert (opened["at"], opened["prev"]) == (5, started["hash"])
    assert programme_from(statement) == programme  # this room sets nothing a statement leaves out


def test_a_purged_posts_hashes_check_no_guess_at_its_text_or_name() -> None:
    """Each post's text and name are hashed with a salt published only in its `plain`: once a
    purge leaves `plain` out, trying candidate texts against the hash finds nothing."""
    programme = parse_programme(ROOM, source="record.toml")
    post: dict[str, Any] = {"t": "post_created", "board": "panel", "participant": P1.id}
    post["state"] = "visible"
    posts: list[dict[str, Any]] = [
        post | {"text": "555-0142", "name": "Bo", "op": f"s{seq}", "at_ms": seq, "seq": seq}
        for seq in (1, 2)
    ]
    edit: dict[str, Any] = {"t": "post_edited", "post": 2, "text": "555-0142", "seq": 3}
    lines = []
    for purged in (frozenset({2}), frozenset({2}), frozenset()):
        writer = RecordWriter(programme, "a forum's secret", purged)
        writer.header()
        lines.append([writer.line(record) for record in [*posts, edit]])
    assert lines[0] == lines[1]  # the salts are the forum's: every record hashes alike
    kept, gone, edited = lines[0]
    assert "plain" not in gone and "plain" not in edited
    for line in (gone, edited):
        guesses = {sha256_hex(text.encode()) for text in ("555-0142", "Bo")}
        assert line["text_sha256"] not in guesses and line.get("name_sha256") not in guesses
    salts = {kept["plain"]["salt"], *(line["plain"]["salt"] for line in lines[2])}
    assert len(salts) == 3 and all(len(s) == 32 for s in salts)  # one per line, 128 bits
    assert kept["text_sha256"] == sha256_hex((kept["plain"]["salt"] + "555-0142").encode())
    assert kept["text_sha256"] != gone["text_sha256"]  # the same text, unlinkable once purged
    assert [line["hash"] for line in lines[0]] == [line["hash"] for line in lines[2]]


def test_pseudonyms_are_stable_per_forum_and_unrelated_across_forums() -> None:
    here, there = Pseudonyms("one forum's secret"), Pseudonyms("another forum's secret")
    assert here("p1") == Pseudonyms("one forum's secret")("p1") != there("p1")
    assert here("p1") != here("p2")
    assert len(here("p1")) == len("p-") + 16


def check_tampering(record: bytes, lines: list[dict[str, Any]], tmp_path: Path) -> None:
    """What the server wrote fails `verify` at the right line when a byte is changed, a line
    dropped, two lines swapped, or a well-chained ballot forged onto the end."""

    def first_bad(data: bytes) -> int:
        path = tmp_path / "tampered.jsonl"
        path.write_bytes(data)
        problems = verify(path).problems
        assert problems, "the tampered record passed"
        return problems[0].line

    raw = record.splitlines(keepends=True)
    ballot = next(n for n, line in enumerate(lines) if line.get("type") == "ballot")
    changed = raw[ballot].replace(b'"op":"', b'"op":"X', 1)
    assert first_bad(b"".join([*raw[:ballot], changed, *raw[ballot + 1 :]])) == ballot + 1
    assert first_bad(b"".join([*raw[:ballot], *raw[ballot + 1 :]])) == ballot + 1
    swapped = [*raw[:ballot], raw[ballot + 1], raw[ballot], *raw[ballot + 2 :]]
    assert first_bad(b"".join(swapped)) == ballot + 1
    closed = next(line for line in lines if line.get("type") == "poll_closed")
    forged: dict[str, Any] = {
        "actor": lines[ballot]["actor"],
        "at": lines[-1]["at"],
        "choices": [next(iter(closed["tally"]))],
        "op": "forged",
        "poll": closed["poll"],
        "prev": lines[-1]["hash"],
        "seq": lines[-1]["seq"] + 1,
        "type": "ballot",
    }
    forged["hash"] = line_hash(forged)
    appended = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    assert first_bad(record + appended) == len(lines) + 1
