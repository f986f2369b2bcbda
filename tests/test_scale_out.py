"""Several workers and nodes sharing one forum through a real Redis: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_ROOM, Endpoint, free_socket, wait_until
from tests.processes import ServerProcess, Voter, workers_on_redis
from tests.redis_server import RedisServer


@pytest.fixture
def room(tmp_path: Path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(TEST_ROOM, encoding="utf-8")
    return path


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server this test may kill: appendonly, fsync on every write."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    server = RedisServer(tmp_path / "redis", port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def phones(forum: Endpoint, n: int) -> list[Voter]:
    async def one() -> Voter:
        client, cookie = await forum.phone(reconnect=True)
        return Voter(client, cookie)

    return list(await asyncio.gather(*(one() for _ in range(n))))


def expected_counts(voters: list[Voter]) -> dict[str, int]:
    counted = Counter(choice for v in voters if v.acked for choice in v.acked)
    return {option: counted.get(option, 0) for option in "abc"}


async def settled_tally(forum: Endpoint, expected: dict[str, int]) -> dict[str, object]:
    """A fresh host's snapshot once it shows `expected`; fails showing what it had."""
    host = await forum.host()
    last: dict[str, object] = {}

    async def check() -> bool:
        nonlocal last
        last = (await host.call("snapshot"))["state"]["polls"]["vote"]["tally"]
        return last["counts"] == expected

    for _ in range(200):
        if await check():
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"tally {last} never matched the acks {expected}")


async def test_a_vote_on_one_node_shows_on_the_projector_of_another(
    room: Path, tmp_path: Path, redis_url: str
) -> None:
    node_a = ServerProcess(room, tmp_path / "a", "--redis", redis_url)
    node_b = ServerProcess(room, tmp_path / "b", "--redis", redis_url)
    await node_a.start()
    await node_b.start()
    try:
        a, b = node_a.endpoint(), node_b.endpoint()
        assert (a.code, a.host_key) == (b.code, b.host_key), "nodes share the forum's keys"
        host = await a.open_poll("vote")
        await host.call("results_show", {"poll": "vote"})
        screen = await b.screen()
        phone, cookie = await a.phone()
        ack = await phone.call("vote", {"poll": "vote", "choices": ["c"], "op": "op-1"})
        assert ack["ok"]
        # Node B is not sent the ballot: it takes the poll's tally on its next tick.
        tally = await screen.wait_for("tally", lambda t: t["version"] >= ack["version"])
        assert tally["counts"] == {"a": 0, "b": 0, "c": 1}
        # The phone reconnects to the other node: its own ballot is there, read from Redis.
        moved, _ = await b.phone(cookie)
        snapshot = await moved.call("snapshot")
        assert snapshot["mine"] == {"vote": {"choices": ["c"], "version": ack["version"]}}
        await moved.close()
        others, _ = await b.phone()
        presence = await host.wait_for("presence", lambda p: p["participant"] == 2)
        assert presence["screen"] == 1, "the host counts phones and screens on every node"
        await others.close()
        await a.close_clients()
        await b.close_clients()
    finally:
        node_a.stop()
        node_b.stop()


async def test_two_hundred_phones_over_two_workers_count_exactly(
    room: Path, tmp_path: Path, redis_url: str
) -> None:
    async with workers_on_redis(room, tmp_path / "data", redis_url) as server:
        forum = server.endpoint()
        await forum.open_poll("vote")
        voters = await phones(forum, 200)
        rng = random.Random(3)

        async def behave(n: int, voter: Voter) -> None:
            for round_ in range(3):
                choice = [rng.choice("abc")]
                ack = await voter.vote("vote", choice, f"{n}-{round_}")
                again = await voter.vote("vote", choice, f"{n}-{round_}")  # a resend
                assert again["duplicate"] is True
                assert again["version"] >= ack["version"]

        await asyncio.gather(*(behave(n, v) for n, v in enumerate(voters)))
        expected = expected_counts(voters)
        assert sum(expected.values()) == 200
        tally = await settled_tally(forum, expected)
        assert tally["voters"] == 200
        await forum.close_clients()


async def keep_voting(voters: list[Voter], fault: Callable[[], Awaitable[None]]) -> None:
    """Every phone votes, changes and resends, on and on, until `fault` has run its course;
    `fault` starts once every phone has one acked vote, so it strikes mid-vote."""
    all_voted = asyncio.Event()
    done = asyncio.Event()

    async def behave(n: int, voter: Voter) -> None:
        round_ = 0
        while not done.is_set() or round_ < 3:
            await voter.vote("vote", ["abc"[(n * 7 + round_) % 3]], f"{n}-{round_}")
            if all(v.acked for v in voters):
                all_voted.set()
            round_ += 1
            await asyncio.sleep(0.25)  # a person's pace, inside the rate limit

    async def strike() -> None:
        await all_voted.wait()
        await fault()
        done.set()

    await asyncio.gather(strike(), *(behave(n, v) for n, v in enumerate(voters)))


async def test_killing_a_worker_mid_vote_loses_nothing_acked(
    room: Path, tmp_path: Path, redis_url: str
) -> None:
    async with workers_on_redis(room, tmp_path / "data", redis_url) as server:
        forum = server.endpoint()
        await forum.open_poll("vote")
        voters = await phones(forum, 80)

        async def kill_a_worker() -> None:
            connected = sum(v.client.sio.connected for v in voters)
            os.kill(await server.busiest_worker(), signal.SIGKILL)
            await wait_until(
                lambda: sum(v.client.sio.connected for v in voters) < connected,
                "the killed worker's phones to drop",
            )
            await wait_until(
                lambda: all(v.client.sio.connected for v in voters), "phones to reconnect"
            )

        await keep_voting(voters, kill_a_worker)
        expected = expected_counts(voters)
        assert sum(expected.values()) == 80
        await settled_tally(forum, expected)
        await forum.close_clients()


async def test_killing_redis_mid_vote_loses_nothing_acked(
    room: Path, tmp_path: Path, own_redis: RedisServer
) -> None:
    async with workers_on_redis(room, tmp_path / "data", own_redis.url) as server:
        forum = server.endpoint()
        await forum.open_poll("vote")
        voters = await phones(forum, 60)

        async def outage() -> None:
            own_redis.kill()
            await wait_until(
                lambda: any("unavailable" in v.refusals for v in voters),
                "a vote to be refused while Redis is down",
            )
            own_redis.start()

        await keep_voting(voters, outage)
        assert all(v.client.sio.connected for v in voters), "phones kept their sockets"
        expected = expected_counts(voters)
        assert sum(expected.values()) == 60
        await settled_tally(forum, expected)
        await forum.close_clients()
