"""Connections by role over every worker serving a forum, for the host's count of who is here.

Each worker reports its own counts under the forum's presence key on every call; a worker that
has stopped reporting has gone, and its report is dropped.
"""

from __future__ import annotations

import contextlib

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import RedisError

PRESENCE_STALE_MS = 15_000  # a worker that has not reported for this long has gone


async def presence(
    client: aioredis.Redis, key: str, worker_id: str, now: int, local: dict[str, int]
) -> dict[str, int]:
    """Report `local` as this worker's counts; returns the totals over every live report."""
    await client.hset(key, worker_id, msgpack.packb([now, local]))
    reports = await client.hgetall(key)
    totals = dict.fromkeys(local, 0)
    for worker, packed in reports.items():
        report = msgpack.unpackb(packed)
        if len(report) != 2 or not isinstance(report[1], dict):
            continue  # written by an older version; it expires with that worker
        seen, counts = report
        if now - seen > PRESENCE_STALE_MS:
            with contextlib.suppress(RedisError):
                await client.hdel(key, worker)
            continue
        for role, count in counts.items():
            if role in totals:
                totals[role] += count
    return totals
