"""Redis connections from one URL: a single server, or a Sentinel-managed master.

    redis://[:password@]host:port/db          rediss://…  unix:///path/to/socket?db=0
    redis+sentinel://[:password@]host:port[,host:port…]/service[/db]

With Sentinel, clients ask the sentinels where the master is and follow it through a failover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

from townhall.engine.redis_timing import TimedRedis


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    service: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, master name, database and password in a `redis+sentinel://` URL."""
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    password = unquote(parts.password) if parts.password else None
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        if not name or not _digits(port):
            raise ValueError(f"{url!r}: each sentinel is host:port")
        sentinels.append((name.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not _digits(path[1])):
        raise ValueError(f"{url!r}: give the master's name and optionally the db: /mymaster/0")
    return SentinelTarget(sentinels, path[0], int(path[1]) if len(path) == 2 else 0, password)


def _digits(text: str) -> bool:
    # isdigit() alone also passes '²', which int() then refuses, and '٣', which it reads as 3.
    return text.isascii() and text.isdigit()


@dataclass(slots=True)
class AsyncConnection:
    """A client and, with Sentinel, the sentinel clients it asks; `aclose` closes them all."""

    client: aioredis.Redis
    sentinel: AsyncSentinel | None = None

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.sentinel is not None:
            for sentinel in self.sentinel.sentinels:
                await sentinel.aclose()


@dataclass(slots=True)
class SyncConnection:
    client: redis.Redis
    sentinel: Sentinel | None = None

    def close(self) -> None:
        self.client.close()
        if self.sentinel is not None:
            for sentinel in self.sentinel.sentinels:
                sentinel.close()


# Connections one worker opens to Redis. Thousands of phones voting at once share them: a command
# waits (up to its socket timeout) for a free one rather than failing, so a burst queues here
# instead of being refused as `unavailable`.
POOL_SIZE = 64


def async_connect(url: str, **options: Any) -> AsyncConnection:
    """An asyncio client for `url`."""
    if not url.startswith("redis+sentinel://"):
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=options.get("socket_timeout"), **options
        )
        return AsyncConnection(TimedRedis.from_pool(pool))  # closing the client closes it
    target = parse_sentinel_url(url)
    timeout = {"socket_timeout": options.get("socket_timeout")}
    sentinel = AsyncSentinel(target.sentinels, sentinel_kwargs=timeout, **timeout)
    # The sentinel client's pool does not wait for a free connection: it is made big enough
    # that a burst does not run it out.
    client = sentinel.master_for(
        target.service,
        db=target.db,
        password=target.password,
        max_connections=POOL_SIZE * 4,
        redis_class=TimedRedis,
        **options,
    )
    return AsyncConnection(client, sentinel)


def sync_connect(url: str, **options: Any) -> SyncConnection:
    """A blocking client for `url`, for work done before the event loop starts."""
    if not url.startswith("redis+sentinel://"):
        return SyncConnection(redis.Redis.from_url(url, **options))
    target = parse_sentinel_url(url)
    timeout = {"socket_timeout": options.get("socket_timeout")}
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=timeout, **timeout)
    client = sentinel.master_for(target.service, db=target.db, password=target.password, **options)
    return SyncConnection(client, sentinel)
