"""A forum's secrets in Redis, so every worker and node serving it agrees on them."""

from __future__ import annotations

from collections.abc import Mapping

from redis.exceptions import RedisError

from townhall.engine.base import EngineError, shown_url
from townhall.engine.redis_connect import sync_connect
from townhall.engine.redis_keys import RedisKeys


def keep_secrets(
    url: str, forum_id: str, fixed: Mapping[str, str], fresh: Mapping[str, str]
) -> dict[str, str]:
    """The forum's secrets in its Redis hash: `fixed` values replace the stored ones, and the
    first worker to arrive stores its `fresh` ones where none are; the others take those."""
    key = RedisKeys(forum_id).secrets
    connection = sync_connect(url, socket_timeout=5, decode_responses=True)
    client = connection.client
    try:
        for name, value in fresh.items():
            client.hsetnx(key, name, value)
        for name, value in fixed.items():
            if value:
                client.hset(key, name, value)
        stored = {str(k): str(v) for k, v in client.hgetall(key).items()}
    except RedisError as exc:
        raise EngineError(str(exc)) from exc
    finally:
        connection.close()
    return {name: stored[name] for name in fresh}


def stored_secret(url: str, forum_id: str) -> str:
    """The forum's secret as stored in Redis, without making one."""
    connection = sync_connect(url, socket_timeout=5, decode_responses=True)
    try:
        secret = connection.client.hget(RedisKeys(forum_id).secrets, "secret")
    except RedisError as exc:
        raise EngineError(
            f"cannot read forum {forum_id!r} in Redis at {shown_url(url)}: {exc}"
        ) from exc
    finally:
        connection.close()
    if not isinstance(secret, str) or not secret:
        raise EngineError(f"Redis at {shown_url(url)} holds no secret for forum {forum_id!r}")
    return secret
