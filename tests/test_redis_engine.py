"""The Redis engine as several workers see it: shared state, races, outages, lost data."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import msgpack
import pytest
import redis

from tests.conftest import forum_programme, free_socket, wait_until
from tests.redis_server import RedisServer
from tests.test_engine_contract import board_programme
from townhall.engine import Engine, EngineError
from townhall.engine.journal import Journal
from townhall.engine.memory import MemoryEngine
from townhall.engine.redis import RedisEngine
from townhall.engine.redis_keys import RedisKeys
from townhall.model.agenda import Programme
from townhall.model.board import PENDING_PER_PARTICIPANT, POST_WINDOW_MS, POSTS_PER_WINDOW
from townhall.model.commands import (
    Actor,
    AnswerPost,
    ApprovePost,
    ClosePoll,
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
    ShowResults,
    StartTimer,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.state import PollState

HOST = Actor(Role.HOST, "host")


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


@contextlib.asynccontextmanager
async def two_workers(
    programme: Programme, url: str
) -> AsyncIterator[tuple[RedisEngine, RedisEngine]]:
    """Two workers sharing one forum in Redis, as two processes would."""
    a = RedisEngine(programme, url)
    b = RedisEngine(programme, url)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[tuple[RedisEngine, RedisEngine]]:
    async with two_workers(forum_programme(), redis_url) as pair:
        yield pair


def stored_counts(url: str, poll: str) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        raw = client.hgetall(RedisKeys("test-forum").counts(poll))
    finally:
        client.close()
    return {str(option): int(n) for option, n in raw.items() if int(n)}


async def test_a_change_on_one_worker_reaches_the_other(
    workers: tuple[RedisEngine, RedisEngine],
) -> None:
    a, b = workers
    heard: list[str] = []
    tallied: list[str] = []
    b.subscribe(lambda events: heard.extend(type(e).__name__ for e in events))
    b.subscribe_tallies(tallied.extend)
    await a.execute(HOST, OpenPoll("vote"))
    outcome = await a.execute(voter(1), Vote("vote", ("b",), "op-1"))
    version = outcome.ack["version"]
    # The ballot is not published: B takes the poll's tally whole on its next tick.
    await wait_until(lambda: b.forum.seq >= version, "worker B to take the tally")
    assert b.forum.polls["vote"].counts == {"a": 0, "b": 1, "c": 0}
    assert b.forum.polls["vote"].voters == 1 and b.forum.polls["vote"].version == version
    assert heard == ["PollOpened"]
    assert tallied == ["vote"]
    resend = await b.execute(voter(1), Vote("vote", ("b",), "op-1"))
    assert resend.ack == {**outcome.ack, "duplicate": True}


async def test_racing_votes_and_host_commands_over_two_workers_count_exactly(
    workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = workers
    await a.execute(HOST, OpenPoll("vote"))
    rng = random.Random(7)
    acked: dict[str, tuple[str, ...]] = {}

    async def participant(n: int) -> None:
        for round_ in range(3):
            choice = (rng.choice("abc"),)
            engine = rng.choice(workers)
            vote = Vote("vote", choice, f"p{n}-{round_}")
            first = await engine.execute(voter(n), vote)
            again = await rng.choice(workers).execute(voter(n), vote)  # a resend
            assert again.ack["duplicate"] is True
            assert again.ack["version"] >= first.ack["version"]
            acked[f"p{n}"] = tuple(first.ack["choices"])

    async def host() -> None:
        for visible in (True, False, True, False):
            await rng.choice(workers).execute(HOST, ShowResults("vote", visible))

    await asyncio.gather(*(participant(n) for n in range(60)), host())
    expected = Counter(choice for choices in acked.values() for choice in choices)

    def counted(engine: RedisEngine) -> dict[str, int]:
        return {o: n for o, n in engine.forum.polls["vote"].counts.items() if n}

    # Each worker takes the tally once a tick: both converge on the exact count.
    await wait_until(lambda: counted(a) == counted(b) == expected, "both tallies to settle")
    for engine in workers:
        poll = engine.forum.polls["vote"]
        assert poll.voters == len(acked)
        for p, choices in acked.items():
            mine = await engine.my_ballots(p)
            assert tuple(mine["vote"]["choices"]) == choices
        assert poll.results_visible is False
    assert stored_counts(redis_url, "vote") == dict(expected)


async def test_a_closed_poll_refuses_votes_on_every_worker(
    workers: tuple[RedisEngine, RedisEngine],
) -> None:
    a, b = workers
    await a.execute(HOST, OpenPoll("vote"))
    await b.execute(voter(1), Vote("vote", ("a",), "op-1"))
    await b.execute(HOST, ClosePoll("vote"))
    with pytest.raises(ForumError) as refused:
        await a.execute(voter(2), Vote("vote", ("a",), "op-2"))
    assert refused.value.code == "poll_not_open"
    late = await a.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert late.ack["duplicate"] is True, "a counted vote's resend is acked after closing"


async def test_an_outage_refuses_votes_and_recovers_by_itself(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    server = RedisServer(tmp_path / "redis", port)
    server.start()
    engine = RedisEngine(forum_programme(), server.url)
    await engine.start()
    resyncs: list[int] = []
    engine.subscribe_resync(lambda: resyncs.append(engine.forum.seq))
    try:
        await engine.execute(HOST, OpenPoll("vote"))
        acked = await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))

        server.kill()
        with pytest.raises(EngineError, match="unavailable"):
            await engine.execute(voter(2), Vote("vote", ("b",), "op-2"))
        assert engine.forum.polls["vote"].counts["b"] == 0, "nothing half-written"
        await wait_until(lambda: not engine.available, "the engine to notice")

        server.start()
        await wait_until(lambda: engine.available, "the engine to reconnect by itself")
        assert resyncs, "clients are told to start again from a snapshot"
        retried = await engine.execute(voter(2), Vote("vote", ("b",), "op-2"))
        assert retried.ack["version"] > acked.ack["version"]
        await wait_until(
            lambda: engine.forum.polls["vote"].counts == {"a": 1, "b": 1, "c": 0},
            "the tally to take both ballots",
        )
    finally:
        await engine.close()
        server.stop()


async def test_workers_rebuild_when_redis_comes_back_with_less(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    server = RedisServer(tmp_path / "redis", port)
    server.start()
    a = RedisEngine(forum_programme(), server.url)
    b = RedisEngine(forum_programme(), server.url)
    await a.start()
    await b.start()
    rebuilt: list[int] = []
    b.subscribe_resync(lambda: rebuilt.append(b.forum.seq))
    try:
        await a.execute(HOST, OpenPoll("vote"))
        await a.execute(voter(1), Vote("vote", ("a",), "op-1"))
        await wait_until(lambda: b.forum.seq == 4, "worker B to catch up")
        server.kill()
        for path in (tmp_path / "redis").glob("appendonly*"):
            if path.is_dir():
                for part in path.iterdir():
                    part.unlink()
        server.start()  # as if restored from an older backup: empty
        await wait_until(lambda: b.available and b.forum.seq == 0, "B to rebuild from Redis")
        await wait_until(lambda: a.available and a.forum.seq == 0, "A to rebuild from Redis")
        assert 0 in rebuilt
        assert b.forum.polls["vote"].voters == 0
        with pytest.raises(ForumError):
            await a.execute(voter(1), Vote("vote", ("a",), "op-2"))  # the poll is pending again
    finally:
        await a.close()
        await b.close()
        server.stop()


async def test_a_host_command_on_a_worker_that_has_not_heard_yet_is_decided_again(
    workers: tuple[RedisEngine, RedisEngine],
) -> None:
    a, b = workers
    await a.execute(HOST, OpenPoll("vote"))
    await wait_until(lambda: b.forum.seq == 3, "worker B to hear the poll open")
    # Worker B stops hearing pub/sub, so its replica falls behind.
    assert b._listener is not None
    b._listener.cancel()
    await asyncio.gather(b._listener, return_exceptions=True)
    await a.execute(HOST, ShowResults("vote", True))
    assert b.forum.polls["vote"].results_visible is False, "B has not heard"
    hide = await b.execute(HOST, ShowResults("vote", False))
    assert [type(e).__name__ for e in hide.events] == ["ResultsShown"], "stored, not a no-op"
    assert b.forum.polls["vote"].results_visible is False
    await wait_until(lambda: not a.forum.polls["vote"].results_visible, "A to hear the hide")
    b._listener = None


# -- boards ---------------------------------------------------------------------------------------


@pytest.fixture
async def board_workers(redis_url: str) -> AsyncIterator[tuple[RedisEngine, RedisEngine]]:
    async with two_workers(board_programme(), redis_url) as pair:
        yield pair


async def deafen(engine: RedisEngine) -> None:
    """The worker stops hearing pub/sub, so its replica falls behind until it reads the log."""
    assert engine._listener is not None
    engine._listener.cancel()
    await asyncio.gather(engine._listener, return_exceptions=True)
    engine._listener = None


def stored(url: str, forum: str = "test-forum") -> tuple[redis.Redis, RedisKeys]:
    return redis.Redis.from_url(url), RedisKeys(forum)


def members(client: redis.Redis, key: str) -> set[str]:
    found: set[bytes] = client.smembers(key)  # type: ignore[assignment]
    return {m.decode() for m in found}


def stored_upvoters(url: str, posts: list[int]) -> dict[int, set[str]]:
    client, keys = stored(url)
    try:
        return {post: members(client, keys.upvoters(post)) for post in posts}
    finally:
        client.close()


async def refusal(engine: Engine, actor: Actor, command: Command) -> str:
    with pytest.raises(ForumError) as refused:
        await engine.execute(actor, command)
    return refused.value.code


async def test_racing_upvotes_over_two_workers_agree_with_the_acks(
    workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = workers
    posts = [
        (await a.execute(voter(100 + n), SubmitPost("qna", f"Question {n}", "", "o"))).ack["post"]
        for n in range(3)
    ]
    rng = random.Random(11)
    last: dict[tuple[str, int], bool] = {}  # each participant's last acked upvote of each post
    rounds, participants = 8, 40

    async def participant(n: int) -> None:
        sent: list[Upvote] = []
        for round_ in range(rounds):
            upvote = Upvote(rng.choice(posts), rng.random() < 0.6, f"p{n}-{round_}")
            first = await rng.choice(workers).execute(voter(n), upvote)
            assert first.ack["duplicate"] is False and first.ack["up"] is upvote.up
            last[(f"p{n}", upvote.post)] = upvote.up
            again = await rng.choice(workers).execute(voter(n), upvote)  # a resend
            assert again.events == [] and again.ack["duplicate"] is True
            assert again.ack["up"] is upvote.up
            sent.append(upvote)
            late = rng.choice(sent)  # a late resend of this or an earlier message
            resent = await rng.choice(workers).execute(voter(n), late)
            assert resent.ack["duplicate"] is True
            assert resent.ack["up"] is last[(f"p{n}", late.post)], "a late resend undoes nothing"

    pins = [*posts, 0, posts[0], 0]
    pinned_at: list[int] = []

    async def host() -> None:
        for post in pins:
            outcome = await rng.choice(workers).execute(HOST, PinPost("qna", post))
            pinned_at.append(outcome.ack["seq"])

    await asyncio.gather(*(participant(n) for n in range(participants)), host())
    # Every first message, nothing else, after the two workers' server_started.
    seq = 2 + len(posts) + participants * rounds + len(pins)
    await wait_until(lambda: a.forum.seq == b.forum.seq == seq, "both replicas to settle")
    expected = {post: {p for (p, q), up in last.items() if q == post and up} for post in posts}
    for engine in workers:
        assert {post: engine.forum.boards.posts[post].upvoters for post in posts} == expected
        assert engine.forum.boards.boards["qna"].pinned == 0
    assert stored_upvoters(redis_url, posts) == expected
    client, keys = stored(redis_url)
    try:
        version = int(client.hget(keys.control, "version") or 0)
    finally:
        client.close()
    assert version == a.forum.control_seq == b.forum.control_seq == pinned_at[-1], (
        "only host events move the control version"
    )


async def test_a_vote_for_an_option_promotion_replaced_is_refused_on_a_worker_behind(
    board_workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = board_workers
    client, keys = stored(redis_url, "board-forum")
    options = keys.options("pick")
    try:
        assert client.smembers(options) == {b"keep", b"other"}, "seeded from the programme"
        await deafen(b)
        ids = [
            (await a.execute(voter(n), SubmitPost("ideas", f"Idea {n}", "", "o"))).ack["post"]
            for n in range(3)
        ]
        await a.execute(voter(5), Upvote(ids[2], True, "u"))
        await a.execute(HOST, PromoteIdeas("ideas"))
        await a.execute(HOST, OpenPoll("pick"))
        promoted = {f"idea-{ids[2]}", f"idea-{ids[0]}"}
        assert client.smembers(options) == {o.encode() for o in promoted}
        assert [o.id for o in b.forum.polls["pick"].options] == ["keep", "other"], "B is behind"

        assert await refusal(b, voter(7), Vote("pick", ("keep",), "v1")) == "unknown_option"
        vote = await b.execute(voter(7), Vote("pick", (f"idea-{ids[2]}",), "v1"))
        assert vote.ack["choices"] == [f"idea-{ids[2]}"], "B caught up to check the new option"
        assert client.hgetall(keys.counts("pick")) == {f"idea-{ids[2]}".encode(): b"1"}

        restarted = RedisEngine(board_programme(), redis_url)
        await restarted.start()
        await restarted.close()
        assert client.smembers(options) == {o.encode() for o in promoted}, "not seeded again"
    finally:
        client.close()


async def test_board_commands_on_a_worker_that_has_not_heard_of_the_post(
    board_workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = board_workers
    await deafen(b)
    question = (await a.execute(voter(1), SubmitPost("panel", "Who?", "민지", "o"))).ack["post"]
    assert question not in b.forum.boards.posts
    await b.execute(HOST, ApprovePost(question))  # decided on a replica that caught up first
    idea = (await a.execute(voter(1), SubmitPost("ideas", "Benches", "", "o"))).ack["post"]
    other = (await a.execute(voter(2), SubmitPost("ideas", "Seats", "", "o"))).ack["post"]
    await a.execute(voter(3), Upvote(other, True, "u"))
    assert idea not in b.forum.boards.posts
    up = await b.execute(voter(2), Upvote(idea, True, "u"))
    assert (up.ack["up"], up.ack["upvotes"]) == (True, 1)
    await b.execute(HOST, PinPost("ideas", other))
    await b.execute(HOST, MergePosts(other, idea))
    assert b.forum.boards.posts[idea].upvoters == {"p2", "p3"}
    await a.execute(HOST, AnswerPost(question))
    await a.execute(HOST, EditPost(idea, "Benches in the garden"))

    client, keys = stored(redis_url, "board-forum")
    try:

        def post(board: str, post: int) -> dict[str, object]:
            raw = client.hget(keys.posts(board), str(post))
            assert raw is not None
            return dict(msgpack.unpackb(raw, raw=False))

        assert members(client, keys.upvoters(idea)) == {"p2", "p3"}
        assert not client.exists(keys.upvoters(other)), "the source's set went into the target's"
        assert (post("ideas", other)["s"], post("ideas", other)["m"]) == ("merged", idea)
        assert (post("ideas", idea)["x"], post("ideas", idea)["o"]) == (
            "Benches in the garden",
            "Benches",
        )
        assert (post("panel", question)["s"], post("panel", question)["a"]) == ("answered", "p1")
        assert client.hgetall(keys.pinned) == {b"ideas": b"0"}, "a merged post is unpinned"
    finally:
        client.close()
    assert await refusal(b, voter(4), Upvote(other, True, "u")) == "post_merged"


async def test_the_log_holds_exactly_what_the_memory_engine_journals(
    redis_url: str, tmp_path: Path
) -> None:
    """The same commands, at the same clock, give the same acks, refusals and records."""
    memory = MemoryEngine(board_programme(), tmp_path / "board.journal", lambda: 1_800_000_000_000)
    shared = RedisEngine(board_programme(), redis_url, lambda: 1_800_000_000_000)
    engines: tuple[Engine, Engine] = (memory, shared)
    script: list[tuple[Actor, Command]] = [
        (voter(1), SubmitPost("panel", "Who decides?", "민지", "o1")),
        (voter(2), Upvote(2, True, "u1")),
        (HOST, ApprovePost(2)),
        (voter(2), Upvote(2, True, "u1")),
        (voter(1), SubmitPost("panel", "Who decides?", "민지", "o1")),
        (voter(1), SubmitPost("panel", "", "", "o1")),
        (voter(1), SubmitPost("panel", "", "", "o2")),
        (voter(1), SubmitPost("ideas", "Longer hours", "", "o1")),
        (voter(2), SubmitPost("ideas", "Open later", "", "o1")),
        (voter(3), SubmitPost("ideas", "More comics", "", "o1")),
        (voter(3), Upvote(7, True, "u1")),
        (voter(3), Upvote(7, False, "u2")),
        (voter(3), Upvote(7, True, "u1")),
        (voter(4), Upvote(8, True, "u1")),
        (voter(4), Upvote(9, True, "u2")),
        (HOST, EditPost(9, "More comics, please")),
        (HOST, PinPost("panel", 2)),
        (HOST, AnswerPost(2)),
        (HOST, HidePost(7)),
        (voter(5), Upvote(7, True, "u1")),
        (HOST, MergePosts(7, 8)),
        (HOST, MergePosts(9, 8)),
        (voter(5), Upvote(9, True, "u1")),
        (voter(5), Upvote(99, True, "u1")),
        (HOST, PromoteIdeas("ideas")),
        (voter(5), SubmitPost("ideas", "Late idea", "", "o1")),
        (HOST, PromoteIdeas("ideas")),
        (HOST, OpenPoll("pick")),
        (voter(6), Vote("pick", ("keep",), "v1")),
        (voter(6), Vote("pick", ("idea-8",), "v1")),
        (HOST, StartTimer()),
        (HOST, ShowResults("pick", True)),
        (HOST, HidePost(8)),
        (HOST, PurgeHidden("ideas")),  # 8, and 7 and 9 merged into it
        (voter(4), Upvote(8, False, "u1")),
        (HOST, ApprovePost(9)),
        (voter(2), SubmitPost("ideas", "Open later", "", "o1")),
        (voter(1), SubmitPost("ideas", "Longer hours", "", "o1")),
        (HOST, PurgeHidden("ideas")),
        (HOST, PurgeHidden("nowhere")),
    ]
    for engine in engines:
        await engine.start()
    try:
        for actor, command in script:
            results = []
            for engine in engines:
                try:
                    outcome = await engine.execute(actor, command)
                    results.append((outcome.ack, list(outcome.events)))
                except ForumError as exc:
                    results.append(({"refused": exc.code, "message": exc.message}, []))
            assert results[0] == results[1], command
        assert shared.forum.seq == memory.forum.seq
    finally:
        for engine in engines:
            await engine.close()
    journal = [r for r in Journal(tmp_path / "board.journal").read() if r.get("t") != "journal"]
    client, keys = stored(redis_url, "board-forum")
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(keys.log)  # type: ignore[assignment]
        log = [msgpack.unpackb(fields[b"e"], raw=False) for _, fields in entries]
        ids = [entry_id.decode() for entry_id, _ in entries]
    finally:
        client.close()
    # Alike but for the engine each server_started names.
    assert [{**r, "engine": "?"} if r["t"] == "server_started" else r for r in log] == [
        {**r, "engine": "?"} if r["t"] == "server_started" else r for r in journal
    ]
    assert ids == [f"{r['seq']}-0" for r in journal]


async def test_the_control_script_checks_every_event_before_writing_any(
    board_workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, _ = board_workers
    post = (await a.execute(voter(1), SubmitPost("ideas", "Benches", "", "o"))).ack["post"]
    k = a.keys
    pin = msgpack.packb({"t": "post_pinned", "board": "ideas", "post": post})
    hide = msgpack.packb({"t": "post_state", "post": post, "state": "hidden"})
    ghost = msgpack.packb({"t": "post_state", "post": 99, "state": "hidden"})
    purge = msgpack.packb({"t": "posts_purged", "board": "ideas", "posts": [post]})
    base = [k.seq, k.log, k.control, k.poll_status, k.results, k.pinned, k.counted_posts]
    base.append(k.published)
    for keys, records in (
        (base, [pin, msgpack.packb({"t": "bogus"})]),  # an unknown type
        (base, [pin, hide]),  # a key missing
        ([*base, k.posts("ideas"), k.posts("ideas")], [pin, hide]),  # a key too many
        ([*base, k.posts("ideas"), k.posts("ideas")], [hide, ghost]),  # no such post
        # a post that takes a place under the cap is never purged
        ([*base, k.posts("ideas"), k.post_ops("ideas"), k.upvoters(post)], [pin, purge]),
        ([*base, k.posts("ideas"), k.post_ops("ideas")], [pin, purge]),  # a key missing
    ):
        with pytest.raises(redis.ResponseError):
            await a._control(keys=keys, args=[*a.publish_args, a.forum.control_seq, *records])
    client, _ = stored(redis_url, "board-forum")
    try:
        assert int(client.get(k.seq) or 0) == post == client.xlen(k.log)
        assert not client.exists(k.pinned) and client.hget(k.control, "version") == b"2"
        raw = client.hget(k.posts("ideas"), str(post))
        assert raw is not None and msgpack.unpackb(raw, raw=False)["s"] == "visible"
    finally:
        client.close()


async def test_a_purge_deletes_the_posts_and_their_upvoters_but_not_their_authors_times(
    board_workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = board_workers
    spam = [
        (await a.execute(voter(1), SubmitPost("ideas", f"spam {n}", "", f"s{n}"))).ack["post"]
        for n in range(2)
    ]
    kept = (await a.execute(voter(2), SubmitPost("ideas", "Benches", "", "o"))).ack["post"]
    await a.execute(voter(3), Upvote(spam[0], True, "u"))
    await a.execute(voter(3), Upvote(kept, True, "u-kept"))
    await a.execute(HOST, MergePosts(spam[1], spam[0]))
    await a.execute(HOST, HidePost(spam[0]))
    purged = await b.execute(HOST, PurgeHidden("ideas"))  # decided on the other worker
    assert purged.ack == {"ok": True, "seq": b.forum.seq, "purged": 2}
    await wait_until(lambda: a.forum.seq == b.forum.seq, "the purge to reach the first worker")
    assert list(a.forum.boards.boards["ideas"].posts) == [kept]
    client, k = stored(redis_url, "board-forum")
    try:
        assert client.hkeys(k.posts("ideas")) == [str(kept).encode()]
        assert not client.exists(k.upvoters(spam[0]), k.upvoters(spam[1]))
        assert members(client, k.upvoters(kept)) == {"p3"}
        raw = client.hget(k.post_ops("ideas"), "p1")
        assert raw is not None
        record = msgpack.unpackb(raw, raw=False)
        assert record["p"] == [] and len(record["t"]) == 2, "the times still count"
        assert client.hget(k.counted_posts, "ideas") == b"1"
    finally:
        client.close()


async def test_a_board_stored_before_its_counts_were_kept_is_counted_once(
    board_workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    """A store written before `counted_posts` and each participant's post ids were kept."""
    a, b = board_workers
    mine = [
        (await a.execute(voter(1), SubmitPost("panel", f"Q{n}", "민지", f"o{n}"))).ack["post"]
        for n in range(POSTS_PER_WINDOW)
    ]
    other = (await a.execute(voter(2), SubmitPost("panel", "Q", "Ann", "o"))).ack["post"]
    await a.execute(HOST, HidePost(other))
    client, k = stored(redis_url, "board-forum")
    try:
        client.delete(k.counted_posts)
        raw = client.hget(k.post_ops("panel"), "p1")
        assert raw is not None
        record = msgpack.unpackb(raw, raw=False)
        assert record.pop("p") == mine
        client.hset(k.post_ops("panel"), "p1", msgpack.packb(record))
        await a.execute(HOST, ApprovePost(other))  # not counted while nothing keeps the count

        a.clock = b.clock = lambda: 1_800_000_000_000 + 10 * POST_WINDOW_MS
        more = [
            (await b.execute(voter(1), SubmitPost("panel", f"R{n}", "민지", f"r{n}"))).ack["post"]
            for n in range(PENDING_PER_PARTICIPANT - POSTS_PER_WINDOW)
        ]
        assert client.hget(k.counted_posts, "panel") == str(len(mine) + len(more) + 1).encode()
        late = SubmitPost("panel", "One more", "민지", "late")
        assert await refusal(b, voter(1), late) == "pending_limit", "the old posts found"
        await a.execute(HOST, HideAuthor(mine[0]))
        assert client.hget(k.counted_posts, "panel") == b"1", "and kept from then on"
    finally:
        client.close()


async def test_a_snapshot_worker_catches_up_first(
    workers: tuple[RedisEngine, RedisEngine],
) -> None:
    a, b = workers
    for task in (b._listener, b._tallier):
        assert task is not None
        task.cancel()  # B stops hearing pub/sub and reading tallies: its replica falls behind
        await asyncio.gather(task, return_exceptions=True)
    await a.execute(HOST, OpenPoll("vote"))
    await a.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert b.forum.seq == 2  # the workers' server_started
    await b.refresh()
    assert b.forum.seq == 4
    assert b.forum.polls["vote"].status.value == "open"
    # A participant's own ballots are read from Redis, whichever worker took them.
    assert await b.my_ballots("p1") == {"vote": {"choices": ["a"], "version": 4}}
    b._tallier = None
    b._listener = None


async def test_ballots_reach_the_other_worker_as_tallies_and_the_log_keeps_each_one(
    workers: tuple[RedisEngine, RedisEngine], redis_url: str
) -> None:
    a, b = workers
    await a.execute(HOST, OpenPoll("vote"))
    acked: dict[str, str] = {}
    versions = []
    for n in range(30):
        engine, choice = workers[n % 2], "abc"[n % 3]
        outcome = await engine.execute(voter(n % 12), Vote("vote", (choice,), f"op-{n}"))
        acked[f"p{n % 12}"] = choice
        versions.append(outcome.ack["version"])
    expected = {o: sum(1 for c in acked.values() if c == o) for o in "abc"}

    # Neither worker was sent a ballot: each takes the tally on its tick, within one.
    await wait_until(lambda: a.forum.polls["vote"].counts == expected, "A's tally")
    await wait_until(lambda: b.forum.polls["vote"].counts == expected, "B's tally")
    assert a.forum.polls["vote"].voters == b.forum.polls["vote"].voters == 12

    closed = await b.execute(HOST, ClosePoll("vote"))  # decided on B, voted on both
    await wait_until(lambda: a.forum.seq >= b.forum.seq, "A to hear the close")
    for engine in workers:
        poll = engine.forum.polls["vote"]

        def final(poll: PollState = poll) -> bool:
            return poll.openings[-1].counts == expected

        await wait_until(final, "the final tally")
        assert poll.openings[-1].voters == 12 and poll.tally()["counts"] == expected
    assert a.forum.polls["vote"].tally() == b.forum.polls["vote"].tally()
    assert stored_counts(redis_url, "vote") == {o: n for o, n in expected.items() if n}

    # A participant's ballot reads the same from the worker that did not take it.
    for n, engine in ((1, b), (2, a)):
        mine = await engine.my_ballots(f"p{n}")
        assert mine["vote"]["choices"] == [acked[f"p{n}"]]

    # The log holds every ballot, in seq order, with nothing between them lost.
    records = [record async for record in a.read_log()]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    ballots = [r for r in records if r["t"] == "ballot"]
    assert [r["seq"] for r in ballots] == versions
    assert [r["op"] for r in ballots] == [f"op-{n}" for n in range(30)]
    assert records[-1]["t"] == "poll_closed" and closed.events
    # An export's forum, every ballot applied from the log, agrees with both replicas.
    await a.settle()
    settled = a.settled.polls["vote"]
    assert settled.counts == expected and settled.openings[-1].counts == expected
    assert set(settled.ballots) == set(acked)
