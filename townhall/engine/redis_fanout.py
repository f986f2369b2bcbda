"""How workers hear each other's events: sharded pub/sub where the server has it, else plain.

Sharded pub/sub (SPUBLISH/SSUBSCRIBE: Redis 7+, Valkey) routes a channel by its hash slot, as a
key is routed, so in Redis Cluster a forum's messages go only to the node holding its slot
instead of to every node. A sharded subscriber hears only SPUBLISH and a plain one only PUBLISH,
so the scripts and the listener must use the same kind: every worker asks the server it talks
to, and asks again each time it subscribes (after a failover the server may be another).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

SPUBLISH = "spublish"  # as COMMAND LIST names it


@dataclass(frozen=True, slots=True)
class Fanout:
    """One kind of pub/sub: the command the scripts publish with and how a listener follows."""

    sharded: bool

    @property
    def publish(self) -> str:
        """The command a Lua script publishes an event with (its first argument)."""
        return SPUBLISH.upper() if self.sharded else "PUBLISH"

    @property
    def message_type(self) -> str:
        """The `type` of a published message as redis-py reports it to a subscriber."""
        return "smessage" if self.sharded else "message"

    async def subscribe(self, pubsub: aioredis.client.PubSub, channel: str) -> None:
        """Follow `channel` with `pubsub`, as this kind publishes to it."""
        if self.sharded:
            await pubsub.ssubscribe(channel)
        else:
            await pubsub.subscribe(channel)


PLAIN = Fanout(sharded=False)
SHARDED = Fanout(sharded=True)


def fanout_of(listed: list[Any] | None) -> Fanout:
    """The kind a server offers, from its answer to COMMAND LIST for `spublish` (None: the
    server is older than Redis 7 and has no COMMAND LIST, so no sharded pub/sub either)."""
    return SHARDED if listed else PLAIN


# COMMAND LIST rather than the version: a server may have SPUBLISH renamed away
# (rename-command), and redis-py cannot parse COMMAND INFO's reply about a command the server
# lacks.
async def detect(client: aioredis.Redis) -> Fanout:
    """The kind of pub/sub the server behind `client` offers."""
    try:
        return fanout_of(await client.command_list(pattern=SPUBLISH))
    except ResponseError:
        return fanout_of(None)


def detect_sync(client: redis.Redis) -> Fanout:
    """`detect`, for a blocking client."""
    try:
        return fanout_of(client.command_list(pattern=SPUBLISH))
    except ResponseError:
        return fanout_of(None)


def subscribers(client: redis.Redis, channel: str) -> int:
    """How many connections follow `channel`, plain or sharded."""
    plain = dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)
    if not detect_sync(client).sharded:
        return int(plain)
    sharded = dict(client.pubsub_shardnumsub(channel)).get(channel.encode(), 0)
    return int(plain) + int(sharded)
