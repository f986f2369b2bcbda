"""Redis Sentinel: Townhall follows the master through a failover and loses nothing replicated."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import forum_programme, free_socket, wait_until
from tests.redis_server import RedisServer, SentinelServer
from townhall.engine import EngineError
from townhall.engine.redis import RedisEngine
from townhall.engine.redis_connect import parse_sentinel_url
from townhall.model.commands import Actor, OpenPoll, Role, Vote

HOST = Actor(Role.HOST, "host")


def port() -> int:
    sock = free_socket()
    number = int(sock.getsockname()[1])
    sock.close()
    return number


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer, SentinelServer]]:
    master = RedisServer(tmp_path / "master", port())
    master.start()
    replica = RedisServer(
        tmp_path / "replica", port(), "--replicaof", "127.0.0.1", str(master.port)
    )
    replica.start()
    follower = redis.Redis(port=replica.port, decode_responses=True)
    for _ in range(500):
        if follower.info("replication").get("master_link_status") == "up":
            break
        time.sleep(0.01)
    follower.close()
    sentinel = SentinelServer(tmp_path / "sentinel", port(), master.port, "townhall")
    sentinel.start()
    try:
        yield master, replica, sentinel
    finally:
        sentinel.stop()
        replica.stop()
        master.stop()


def test_sentinel_urls_are_parsed_strictly() -> None:
    target = parse_sentinel_url("redis+sentinel://:s3cret@10.0.0.1:26379,[::1]:26380/forum/2")
    assert target.sentinels == [("10.0.0.1", 26379), ("::1", 26380)]
    assert (target.service, target.db, target.password) == ("forum", 2, "s3cret")
    for bad in (
        "redis+sentinel://h:1",
        "redis+sentinel://h/forum",
        "redis+sentinel://h:1/a/b",
        "redis+sentinel://h:²/forum",
        "redis+sentinel://h:٢٦٣٧٩/forum",
        "redis+sentinel://h:1/forum/３",
    ):
        with pytest.raises(ValueError, match=r"each sentinel is host:port|give the master's name"):
            parse_sentinel_url(bad)


async def test_a_failover_keeps_every_replicated_vote(
    cluster: tuple[RedisServer, RedisServer, SentinelServer],
) -> None:
    master, replica, sentinel = cluster
    engine = RedisEngine(
        forum_programme(), f"redis+sentinel://127.0.0.1:{sentinel.port}/townhall/0"
    )
    await engine.start()
    try:
        await engine.execute(HOST, OpenPoll("vote"))
        acked: dict[str, list[str]] = {}
        for n in range(20):
            outcome = await engine.execute(
                Actor(Role.PARTICIPANT, f"p{n}"), Vote("vote", ("abc"[n % 3],), f"op-{n}")
            )
            acked[f"p{n}"] = outcome.ack["choices"]
        primary = redis.Redis(port=master.port)
        assert primary.wait(1, 5000) == 1, "the replica has every acked vote"
        primary.close()

        master.kill()
        # Votes are refused until Sentinel promotes the replica; then the same engine,
        # untouched, carries on against the new master.
        n = 20
        while True:
            try:
                outcome = await engine.execute(
                    Actor(Role.PARTICIPANT, f"p{n}"), Vote("vote", ("a",), f"op-{n}")
                )
                break
            except EngineError:
                await asyncio.sleep(0.1)  # back off, as a phone does, then resend
        acked[f"p{n}"] = outcome.ack["choices"]
        promoted = redis.Redis(port=replica.port)
        assert promoted.info("replication")["role"] == "master"
        promoted.close()
        await wait_until(lambda: engine.available, "the engine to follow the new master")
        await wait_until(
            lambda: engine.forum.polls["vote"].voters == len(acked), "the tally to take them all"
        )
        for participant, choices in acked.items():
            assert (await engine.my_ballots(participant))["vote"]["choices"] == choices
    finally:
        await engine.close()
