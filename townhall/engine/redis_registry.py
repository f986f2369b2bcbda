"""The registry in Redis: every worker and node reads the same forums, and notices a change by
the version key, which moves in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis
from redis.exceptions import RedisError

from townhall.engine.base import EngineError
from townhall.engine.redis_connect import sync_connect
from townhall.engine.redis_keys import RegistryKeys
from townhall.engine.registry import Entry

KEYS = RegistryKeys()
T = TypeVar("T")


class RedisRegistry:
    def __init__(self, url: str) -> None:
        self.url = url

    def _run(self, call: Callable[[redis.Redis], T]) -> T:
        connection = sync_connect(self.url, socket_timeout=5)
        try:
            return call(connection.client)
        except RedisError as exc:
            raise EngineError(f"the forum registry in Redis is unavailable: {exc}") from exc
        finally:
            connection.close()

    def entries(self) -> dict[str, Entry]:
        stored = self._run(lambda client: client.hgetall(KEYS.forums))
        found = {}
        for name, value in stored.items():
            try:
                entry = Entry.from_json(value)
            except (ValueError, KeyError, TypeError) as exc:
                raise EngineError(f"Redis {KEYS.forums} {name!r}: not a forum entry") from exc
            found[entry.id] = entry
        return found

    def put(self, entry: Entry) -> None:
        def put(client: redis.Redis) -> None:
            with client.pipeline(transaction=True) as pipe:
                pipe.hset(KEYS.forums, entry.id, entry.to_json())
                pipe.incr(KEYS.version)
                pipe.execute()

        self._run(put)

    def remove(self, forum_id: str) -> None:
        def remove(client: redis.Redis) -> None:
            with client.pipeline(transaction=True) as pipe:
                pipe.hdel(KEYS.forums, forum_id)
                pipe.incr(KEYS.version)
                pipe.execute()

        self._run(remove)

    def version(self) -> int:
        value = self._run(lambda client: client.get(KEYS.version))
        return int(value) if value is not None else 0

    def get_secret(self, name: str) -> bytes | None:
        value = self._run(lambda client: client.hget(KEYS.secrets, name))
        if value is None:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    def put_secret(self, name: str, value: bytes) -> None:
        self._run(lambda client: client.hset(KEYS.secrets, name, value))

    def has_forum_data(self, forum_id: str) -> bool:
        pattern = KEYS.forum_pattern(forum_id)
        return (
            self._run(lambda client: next(iter(client.scan_iter(pattern, count=1000)), None))
            is not None
        )

    def remove_forum_data(self, forum_id: str) -> list[str]:
        def remove(client: redis.Redis) -> list[str]:
            keys = [bytes(k).decode() for k in client.scan_iter(KEYS.forum_pattern(forum_id))]
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
            return keys

        return self._run(remove)
