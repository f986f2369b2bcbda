"""Reading a forum's event log, the Stream, in order: for catching up and for the record.

Nothing trims the Stream: the whole log is kept for as long as the forum's keys are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.exceptions import RedisError

from townhall.engine.base import EngineError, shown_url
from townhall.engine.redis_connect import async_connect
from townhall.engine.redis_keys import RedisKeys

BATCH = 1000  # entries per XRANGE call


async def read_stream(redis: Redis, key: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
    """Every record in the Stream at `key` with a `seq` above `after`, in order."""
    while True:
        entries = await redis.xrange(key, min=f"{after + 1}-0", max="+", count=BATCH)
        if not entries:
            return
        for _, fields in entries:
            record = msgpack.unpackb(fields[b"e"], raw=False)  # type: ignore[index]
            yield record
            after = int(record["seq"])


async def read_stored(url: str, forum_id: str) -> AsyncIterator[dict[str, Any]]:
    """Every record in the forum's log, read on a connection of its own, without a server."""
    connection = async_connect(url, socket_timeout=10)
    where = f"forum {forum_id!r} in Redis at {shown_url(url)}"
    try:
        found = False
        async for record in read_stream(connection.client, RedisKeys(forum_id).log):
            found = True
            yield record
        if not found:
            raise EngineError(f"no log for {where}")
    except RedisError as exc:
        raise EngineError(f"cannot read {where}: {exc}") from exc
    finally:
        await connection.aclose()
