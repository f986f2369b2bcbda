"""`townhall purge` on each engine: a held forum's post texts, nicknames and participant ids
are gone from what the engine stores, its record hashes as before and still verifies, every
result is the same, a second purge changes nothing, and the server serves it again."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.conftest import Endpoint, serve
from tests.retention_forum import (
    FORUM,
    NAMES,
    PHONE_NAME,
    TEXTS,
    engine_settings,
    forum_of,
    hold,
    participant_ids,
    programme,
    results,
    stored_bytes,
    townhall,
    where,
)
from tests.test_record import HOST, P1, P2, hold_a_forum, run_python
from townhall.engine.base import shown_url
from townhall.model.commands import ClosePoll, OpenPoll, SubmitPost, Upvote, Vote
from townhall.model.errors import Conflict
from townhall.purge import PLACEHOLDER
from townhall.purge_cli import last_activity

ENGINES = ["memory", "redis"]
RECOUNT = str(Path(__file__).parent / "record_recount.py")


def record_of(args: list[str], out: Path) -> list[dict[str, Any]]:
    done = townhall("record", *args, "--forum", FORUM, "-o", str(out))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def assert_untouched_records_kept(path: Path, before: bytes) -> None:
    """Every record a purge leaves alone (no text, name or participant id in it) is in the
    rewritten journal byte for byte, the journal's own header first."""
    unpacker = msgpack.Unpacker(io.BytesIO(before), raw=False)
    after, start, kept = path.read_bytes(), 0, 0
    for record in unpacker:
        end = unpacker.tell()
        if start == 0:
            assert after.startswith(before[:end])
        if not {"participant", "voter", "text", "name"} & set(record):
            assert before[start:end] in after
            kept += 1
        start = end
    assert kept > 10


def verified(path: Path) -> str:
    done = townhall("verify", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_purge_removes_texts_names_and_ids_and_the_record_still_verifies(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = engine_settings(engine, request)
    data = tmp_path / "data"
    args = where(engine, data, more)
    await hold(data, more)
    before = record_of(args, tmp_path / "before.jsonl")
    counted = results(await forum_of(data, more))
    ids = await participant_ids(data, more)
    assert len(ids) == 5  # three by the host's engine calls, two phones
    kept = stored_bytes(data, more)
    journal = (data / f"{FORUM}.journal").read_bytes() if engine == "memory" else b""
    for secret in (*TEXTS, PHONE_NAME, *ids):
        assert secret.encode() in kept, "the test looks for what is there"

    asked = townhall("purge", *args, "--forum", FORUM)  # no --yes: says what it would do
    assert asked.returncode == 0, asked.stderr
    assert "a purge would remove 5 post texts, 3 names, 5 participant ids" in asked.stdout
    assert stored_bytes(data, more) == kept

    done = townhall("purge", *args, "--forum", FORUM, "--yes")
    assert done.returncode == 0, done.stderr
    assert "removed 5 post texts, 3 names, 5 participant ids" in done.stdout
    left = stored_bytes(data, more)
    if engine == "memory":
        assert_untouched_records_kept(data / f"{FORUM}.journal", journal)
    for secret in (*TEXTS, PHONE_NAME, *ids):
        assert secret.encode() not in left, f"{secret!r} is still stored"
    forum = await forum_of(data, more)
    posts = forum.boards.posts.values()
    assert {(p.text, p.name, p.original) for p in posts} <= {
        (PLACEHOLDER, "", ""),
        (PLACEHOLDER, "", PLACEHOLDER),
    }
    assert not {p.name for p in posts} & set(NAMES)
    assert results(forum) == counted

    after = record_of(args, tmp_path / "after.jsonl")
    assert [line["hash"] for line in after[: len(before)]] == [line["hash"] for line in before]
    purged = after[-1]
    assert purged["type"] == "forum_purged" and purged["actor"] == {"role": "server"}
    posts_created = [line["seq"] for line in before if line.get("type") == "post_created"]
    assert set(posts_created) <= set(purged["posts"])
    assert not any("plain" in line for line in after)
    report = verified(tmp_path / "after.jsonl")
    # The recount written from docs/record.md alone agrees: the same tallies and result.
    recounted = [
        json.loads(run_python(RECOUNT, str(tmp_path / name)).stdout)
        for name in ("before.jsonl", "after.jsonl")
    ]
    assert all(r["chain_ok"] and r["plain_ok"] and r["purges_ok"] for r in recounted)
    assert recounted[0]["tallies"] == recounted[1]["tallies"]
    assert recounted[0]["selections"] == recounted[1]["selections"]
    assert "plain texts against their hashes: 0" in report
    assert all(line["hash"] == before[n]["hash"] for n, line in enumerate(after[: len(before)]))

    again = townhall("purge", *args, "--forum", FORUM, "--yes")  # harmless a second time
    assert again.returncode == 0 and "nothing left to purge" in again.stdout, again.stderr
    assert record_of(args, tmp_path / "again.jsonl") == after

    # The server serves the purged forum again; it goes on from where it was.
    async with serve(programme(), data, **more) as (served, url):
        assert results(served.engine.forum) == counted
        phone, _ = await Endpoint(url, served.keys.code, served.keys.host_key).phone()
        snapshot = await phone.call("snapshot")
        shown = snapshot["boards"]["panel"]["posts"]
        assert shown and {post["text"] for post in shown} == {PLACEHOLDER}
        ack = await phone.call("post", {"board": "panel", "text": "After the purge", "op": "n1"})
        assert ack["ok"], ack
        await phone.close()
    later = record_of(args, tmp_path / "later.jsonl")
    verified(tmp_path / "later.jsonl")
    assert later[-1]["plain"]["text"] == "After the purge"  # a new post is on record in full


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_purge_is_refused_while_the_forum_is_served(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = engine_settings(engine, request)
    data = tmp_path / "data"
    args = where(engine, data, more)
    async with serve(programme(), data, **more) as (served, _):
        await hold_a_forum(served)
        kept = stored_bytes(data, more)
        refused = await asyncio.to_thread(townhall, "purge", *args, "--forum", FORUM, "--yes")
        assert refused.returncode == 1
        assert ("is in use" if engine == "memory" else "is being served") in refused.stderr
        assert "Traceback" not in refused.stderr
        assert stored_bytes(data, more) == kept


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_forum_with_a_poll_open_is_not_purged(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A phone that voted comes back after a purge as a new participant: with its poll still
    open, or opened again, it would vote a second time, one person counted twice."""
    more = engine_settings(engine, request)
    data = tmp_path / "data"
    async with serve(programme(), data, **more) as (served, _):
        await served.engine.execute(HOST, OpenPoll("vote"))
        await served.engine.execute(P1, Vote("vote", ("a",), "v1"))
    journal = data / f"{FORUM}.journal"  # the lock file beside it names the purge's process

    def forum_bytes() -> bytes:
        return journal.read_bytes() if engine == "memory" else stored_bytes(data, more)

    kept = forum_bytes()
    for asked in ([], ["--yes"]):
        refused = townhall("purge", *where(engine, data, more), "--forum", FORUM, *asked)
        assert refused.returncode == 1 and "poll vote is open" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert forum_bytes() == kept
    async with serve(programme(), data, **more) as (served, _):
        await served.engine.execute(HOST, ClosePoll("vote"))
    done = townhall("purge", *where(engine, data, more), "--forum", FORUM, "--yes")
    assert done.returncode == 0 and "1 participant ids" in done.stdout, done.stderr
    record = record_of(where(engine, data, more), tmp_path / "after.jsonl")
    assert record[-1]["type"] == "forum_purged" and record[-1]["posts"] == []
    verified(tmp_path / "after.jsonl")
    recounted = json.loads(run_python(RECOUNT, str(tmp_path / "after.jsonl")).stdout)
    assert recounted["chain_ok"] and recounted["purges_ok"]
    # Nor does it open again: the phone would vote in it a second time just the same.
    async with serve(programme(), data, **more) as (served, _):
        with pytest.raises(Conflict, match="can't reopen"):
            await served.engine.execute(HOST, OpenPoll("vote"))
        opened = await served.engine.execute(HOST, OpenPoll("again"))  # no ballots: it may
        assert opened.events


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_purged_post_takes_no_more_upvotes(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Its upvoters are pseudonyms now: the phone that upvoted it, or the one that wrote it,
    would come back as a new participant and count again."""
    more = engine_settings(engine, request)
    data = tmp_path / "data"
    async with serve(programme(), data, **more) as (served, _):
        written = await served.engine.execute(P1, SubmitPost("panel", "Open longer", "", "s1"))
        post = written.ack["post"]
        await served.engine.execute(P2, Upvote(post, True, "u1"))
    done = townhall("purge", *where(engine, data, more), "--forum", FORUM, "--yes")
    assert done.returncode == 0, done.stderr
    async with serve(programme(), data, **more) as (served, _):
        for actor in (P2, P1):
            with pytest.raises(Conflict, match="can't be upvoted"):
                await served.engine.execute(actor, Upvote(post, True, "u2"))
        assert len(served.engine.forum.boards.posts[post].upvoters) == 1
        later = await served.engine.execute(P1, SubmitPost("panel", "And after", "", "s2"))
        agreed = await served.engine.execute(P2, Upvote(later.ack["post"], True, "u3"))
        assert agreed.ack["upvotes"] == 1  # a post made after the purge is upvoted as ever


def test_purge_names_what_is_wrong(tmp_path: Path) -> None:
    unknown = townhall("purge", "--data-dir", str(tmp_path), "--forum", "nowhere", "--yes")
    assert unknown.returncode == 1 and "nowhere" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    neither = townhall("purge", "--data-dir", str(tmp_path))
    assert neither.returncode == 2 and "--forum ID" in neither.stderr
    both = townhall("purge", "--data-dir", str(tmp_path), "--forum", "x", "--days", "9")
    assert both.returncode == 2 and "--days goes with --expired" in both.stderr
    no_days = townhall("purge", "--data-dir", str(tmp_path), "--expired")
    assert no_days.returncode == 1 and "TOWNHALL_RETENTION_DAYS" in no_days.stderr
    # A mistyped data dir is no empty one: a daily timer would report nothing expired for ever.
    mistyped = tmp_path / "dta"
    no_dir = townhall("purge", "--data-dir", str(mistyped), "--expired", "--days", "9")
    assert no_dir.returncode == 1 and f"{mistyped}: no such data dir" in no_dir.stderr
    assert not mistyped.exists()
    # A journal that cannot be read (here a directory in its place): said, with no traceback.
    (tmp_path / "odd.journal").mkdir()
    (tmp_path / "odd.keys.json").write_text('{"secret": "s"}', encoding="utf-8")
    for asked in ([], ["--yes"]):
        unread = townhall("purge", "--data-dir", str(tmp_path), "--forum", "odd", *asked)
        assert unread.returncode == 1 and "Is a directory" in unread.stderr, unread.stderr
        assert "Traceback" not in unread.stderr


def test_no_message_shows_the_redis_password(tmp_path: Path) -> None:
    """An engine URL carries Redis's password; messages go to logs and timers' journals."""
    for url in ("redis://:pa55word@127.0.0.1:1/0", "redis://u:pa55word@127.0.0.1:1/0"):
        for args in (["purge", "--forum", FORUM], ["purge", "--expired", "--days", "9"]):
            refused = townhall(*args, "--redis", url)
            assert refused.returncode == 1 and "127.0.0.1:1" in refused.stderr
            assert "pa55word" not in refused.stderr and ":***@" in refused.stderr
        refused = townhall("record", "--redis", url, "--forum", FORUM, "-o", str(tmp_path / "r"))
        assert refused.returncode == 1 and "pa55word" not in refused.stderr
    assert (
        shown_url("redis://h:6379/0?password=pa55word&db=1") == "redis://h:6379/0?password=***&db=1"
    )
    assert shown_url("redis+sentinel://h:1,g:2/forum/2") == "redis+sentinel://h:1,g:2/forum/2"


def test_a_server_start_is_no_activity() -> None:
    """A forum last used on day 1 and served again (restarted) on day 50 expires by day 1."""
    day = 86_400_000
    used = [{"t": "ballot", "at": day, "seq": 1}, {"t": "post_created", "at": day, "seq": 2}]
    restarted = [*used, {"t": "server_started", "at": 50 * day, "seq": 3}]
    purged = [*restarted, {"t": "forum_purged", "at": 60 * day, "seq": 4}]
    assert last_activity(used) == last_activity(restarted) == last_activity(purged) == day


async def test_expired_purges_only_forums_past_the_retention_period(tmp_path: Path) -> None:
    await hold(tmp_path, {})
    args = ["--data-dir", str(tmp_path)]
    recent = townhall("purge", *args, "--expired", "--days", "1", "--yes")
    assert recent.returncode == 0 and "no forum is past the retention period" in recent.stdout
    # Its events made a year and a day ago: past a year's retention.
    journal = tmp_path / f"{FORUM}.journal"
    records = list(msgpack.Unpacker(io.BytesIO(journal.read_bytes()), raw=False))
    year = 366 * 86_400_000
    aged = [r | {"at": r["at"] - year} if r.get("at") else r for r in records]
    journal.write_bytes(b"".join(msgpack.packb(r) for r in aged))
    assert last_activity(aged) < last_activity(records)
    # A log that cannot be read (a stray file named like a journal) is said, and stops no
    # other forum's purge.
    (tmp_path / "stray.journal").write_bytes(b"not a journal")
    done = townhall("purge", *args, "--expired", "--days", "365", "--yes")
    assert done.returncode == 1 and "forum 'stray'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert f"forum {FORUM!r}" in done.stdout and "removed 5 post texts" in done.stdout
    again = townhall("purge", *args, "--expired", "--days", "365", "--yes")
    assert "nothing left to purge" in again.stdout


async def test_a_worker_starting_while_a_purge_works_does_not_serve(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A worker that read the log before a purge replaced it, and subscribed after the purge
    counted the workers, would serve the old texts and ids: the purge's mark stops it, and a
    second purge waits for the first."""
    import redis

    from townhall.engine import EngineError, open_engine
    from townhall.engine.redis_keys import RedisKeys

    more = engine_settings("redis", request)
    data = tmp_path / "data"
    await hold(data, more)
    client = redis.Redis.from_url(more["redis_url"])
    mark = RedisKeys(FORUM).purging
    client.set(mark, "1", ex=60)  # as a purge sets it before it counts the workers
    try:
        second = await asyncio.to_thread(
            townhall, "purge", *where("redis", data, more), "--forum", FORUM, "--yes"
        )
        assert second.returncode == 1 and "is being purged already" in second.stderr
        engine = open_engine(more["redis_url"], programme(), data)
        with pytest.raises(EngineError, match="is being purged"):
            try:
                await engine.start()
            finally:
                await engine.close()
    finally:
        client.delete(mark)
        client.close()
    engine = open_engine(more["redis_url"], programme(), data)
    await engine.start()  # with the purge done, it serves
    await engine.close()
    done = await asyncio.to_thread(
        townhall, "purge", *where("redis", data, more), "--forum", FORUM, "--yes"
    )
    assert done.returncode == 0, done.stderr
    with redis.Redis.from_url(more["redis_url"]) as after:
        assert not after.exists(mark), "the purge takes its mark away"
