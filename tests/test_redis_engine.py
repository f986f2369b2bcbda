"""The Redis engine as several workers see it: shared state, races, outages, lost data."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from tests.conftest import forum_programme, free_socket, wait_until
from tests.redis_server import RedisServer
from townhall.engine import EngineError
from townhall.engine.redis import RedisEngine
from townhall.engine.redis_keys import ForumKeys
from townhall.model.commands import Actor, ClosePoll, OpenPoll, Role, ShowResults, Vote
from townhall.model.errors import ForumError

HOST = Actor(Role.HOST, "host")


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[tuple[RedisEngine, RedisEngine]]:
    a = RedisEngine(forum_programme(), redis_url)
    b = RedisEngine(forum_programme(), redis_url)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def stored_counts(url: str, poll: str) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        raw = client.hgetall(ForumKeys("test-forum").counts(poll))
    finally:
        client.close()
    return {str(option): int(n) for option, n in raw.items() if int(n)}


async def test_a_change_on_one_worker_reaches_the_other(
    workers: tuple[RedisEngine, RedisEngine],
) -> None:
    a, b = workers
    heard: list[str] = []
    b.subscribe(lambda events: heard.extend(type(e).__name__ for e in events))
    await a.execute(HOST, OpenPoll("vote"))
    outcome = await a.execute(voter(1), Vote("vote", ("b",), "op-1"))
    version = outcome.ack["version"]
    await wait_until(lambda: b.forum.seq >= version, "worker B to hear the vote")
    assert b.forum.polls["vote"].counts == {"a": 0, "b": 1, "c": 0}
    assert heard == ["PollOpened", "BallotCast"]
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
    seq = max(a.forum.seq, b.forum.seq)
    await wait_until(lambda: a.forum.seq == b.forum.seq == seq, "both replicas to settle")
    for engine in workers:
        poll = engine.forum.polls["vote"]
        assert {o: n for o, n in poll.counts.items() if n} == dict(expected)
        assert {p: ballot.choices for p, ballot in poll.ballots.items()} == acked
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
        assert engine.forum.polls["vote"].counts == {"a": 1, "b": 1, "c": 0}
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
        await wait_until(lambda: b.forum.seq == 2, "worker B to catch up")
        server.kill()
        for path in (tmp_path / "redis").glob("appendonly*"):
            if path.is_dir():
                for part in path.iterdir():
                    part.unlink()
        server.start()  # as if restored from an older backup: empty
        await wait_until(lambda: b.available and b.forum.seq == 0, "B to rebuild from Redis")
        await wait_until(lambda: a.available and a.forum.seq == 0, "A to rebuild from Redis")
        assert 0 in rebuilt
        assert b.forum.polls["vote"].ballots == {}
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
    await wait_until(lambda: b.forum.seq == 1, "worker B to hear the poll open")
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
