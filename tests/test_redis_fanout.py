"""Workers hear each other over sharded pub/sub where Redis has it, and plain pub/sub where not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import forum_programme, free_socket, wait_until
from tests.redis_server import RedisServer
from tests.test_redis_engine import HOST, two_workers, voter
from townhall.engine.redis_fanout import PLAIN, SHARDED, fanout_of, subscribers
from townhall.engine.redis_keys import RedisKeys
from townhall.model.commands import OpenPoll, Vote


@pytest.fixture
def without_spublish(tmp_path: Path) -> Iterator[str]:
    """A Redis 7 with SPUBLISH renamed away: what an older server or a locked-down one offers."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    server = RedisServer(tmp_path / "redis", port, "--rename-command", "SPUBLISH", "")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_a_server_without_command_list_or_spublish_gets_plain_pub_sub() -> None:
    assert fanout_of(None) is PLAIN  # before Redis 7: no COMMAND LIST
    assert fanout_of([]) is PLAIN
    assert fanout_of([b"spublish"]) is SHARDED
    assert (SHARDED.publish, PLAIN.publish) == ("SPUBLISH", "PUBLISH")


@pytest.mark.parametrize("server", ["redis_url", "without_spublish"])
async def test_workers_hear_each_other_on_the_kind_of_pub_sub_the_server_has(
    server: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue(server))
    channel = RedisKeys("test-forum").channel
    async with two_workers(forum_programme(), url) as (a, b):
        assert a.fanout is b.fanout is (SHARDED if server == "redis_url" else PLAIN)
        await a.execute(HOST, OpenPoll("vote"))
        outcome = await a.execute(voter(1), Vote("vote", ("b",), "op-1"))
        version = outcome.ack["version"]
        await wait_until(lambda: b.forum.seq >= version, "worker B to hear the vote")
        assert b.forum.polls["vote"].counts == {"a": 0, "b": 1, "c": 0}
        client = redis.Redis.from_url(url)
        try:
            plain = dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)
            # A purge counts the workers serving the forum, whichever kind they follow.
            assert subscribers(client, channel) == 2
            assert plain == (0 if a.fanout.sharded else 2)
        finally:
            client.close()
