"""The Redis engine's listener: it follows the forum's channel for as long as the engine runs,
reconnecting as needed, and feeds each published message to the replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from townhall.engine.base import EngineError
from townhall.engine.redis_fanout import detect
from townhall.engine.redis_scripts import unpack_all

if TYPE_CHECKING:
    from townhall.engine.redis import RedisEngine

log = logging.getLogger("townhall.engine.redis")


async def listen(self: RedisEngine) -> None:
    """Follow the forum's channel for as long as the engine runs, reconnecting as needed."""
    delay = 0.1
    while True:
        pubsub = self.redis.pubsub()
        try:
            self.fanout = await detect(self.redis)
            await self.fanout.subscribe(pubsub, self.keys.channel)
            await self._check_shape()  # Redis may have come back empty
            await self.catch_up()  # whatever was published before the subscription
            if not self.available:
                # Idle connections opened before the outage are dead: the next command
                # would find out, and be refused, on one of them.
                await self.redis.connection_pool.disconnect(inuse_connections=False)
                self.available = True
                delay = 0.1
                if self._subscribed.is_set():
                    log.info("Redis is back; clients resynchronise")
                    self._notify_resync()
                self._subscribed.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message["type"] == self.fanout.message_type:
                    await self._ingest(unpack_all(message["data"]))
        except (RedisError, OSError, EngineError) as exc:
            if self.available:
                log.warning("lost Redis: %s; votes are refused until it is back", exc)
            self.available = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
