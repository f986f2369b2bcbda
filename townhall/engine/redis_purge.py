"""A purge of a forum in Redis: the log Stream written afresh beside the old one, then, in one
transaction that fails if anything was appended meanwhile, renamed over it, with the keys that
hold post texts, names and participant ids rewritten to match (townhall/engine/redis_keys.py
says what each holds). Refused while any worker serves the forum: each one serving it is
subscribed to its channel."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import msgpack
import redis
from redis.exceptions import RedisError, WatchError

from townhall.engine.base import EngineError, Rewrite, shown_url
from townhall.engine.redis_connect import sync_connect
from townhall.engine.redis_fanout import subscribers
from townhall.engine.redis_keys import BALLOT, RedisKeys
from townhall.engine.redis_scripts import text

PURGING_S = 600  # the purge's mark lasts at most this long, should the purge itself be killed
BATCH = 1000  # Stream entries per XRANGE call and per pipeline


def purge_redis(url: str, forum_id: str, rewrite: Rewrite, placeholder: str) -> bool:
    """Store `rewrite`'s events in place of the forum's log and rewrite its keys to match;
    False if it had nothing to change. Raises EngineError while the forum is being served."""
    keys = RedisKeys(forum_id)
    where = f"forum {forum_id!r} in Redis at {shown_url(url)}"
    connection = sync_connect(url, socket_timeout=30)
    client = connection.client
    try:
        # Set before the count of workers: one subscribing after the count finds it, and stops.
        marked = client.set(keys.purging, "1", nx=True, ex=PURGING_S)
    except RedisError as exc:
        connection.close()
        raise EngineError(f"cannot purge {where}: {exc}") from exc
    if not marked:
        connection.close()
        raise EngineError(f"{where} is being purged already")
    try:
        serving = subscribers(client, keys.channel)
        if serving:
            raise EngineError(
                f"{where} is being served ({serving} worker(s) subscribed to it): stop them first"
            )
        with client.pipeline() as pipe:
            pipe.watch(keys.seq)  # type: ignore[no-untyped-call]  # a change fails the EXEC
            records = _log(client, keys.log)
            if not records:
                raise EngineError(f"no log for {where}")
            purged = rewrite(records)
            if purged is None:
                return False
            events, ids = purged
            _write_stream(client, keys.purging_log, events)
            pipe.multi()
            pipe.rename(keys.purging_log, keys.log)
            pipe.set(keys.seq, events[-1]["seq"])
            # Every event but a ballot is published: the last one is what a worker follows on.
            published = [e["seq"] for e in events if e.get("t") != BALLOT]
            pipe.set(keys.published, published[-1] if published else 0)
            if events[-1]["seq"] != records[-1]["seq"]:  # an event was added: a host's, as ever
                pipe.hset(keys.control, "version", events[-1]["seq"])
            _rewrite_keys(client, pipe, keys, ids, placeholder)
            pipe.execute()
        return True
    except WatchError:
        raise EngineError(f"{where} changed while it was being purged: is it served?") from None
    except RedisError as exc:
        raise EngineError(f"cannot purge {where}: {exc}") from exc
    finally:
        with contextlib.suppress(RedisError):
            client.delete(keys.purging_log, keys.purging)
        connection.close()


def _log(client: redis.Redis, key: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    after = "-"
    while True:
        entries = client.xrange(key, min=after, max="+", count=BATCH)
        if not entries:
            return records
        for entry_id, fields in entries:
            records.append(msgpack.unpackb(fields[b"e"], raw=False))  # type: ignore[index]
            after = "(" + text(entry_id or b"")


def _write_stream(client: redis.Redis, key: str, events: list[dict[str, Any]]) -> None:
    client.delete(key)
    for start in range(0, len(events), BATCH):
        with client.pipeline(transaction=False) as pipe:
            for event in events[start : start + BATCH]:
                pipe.xadd(key, {"e": msgpack.packb(event)}, id=f"{event['seq']}-0")
            pipe.execute()


def _rewrite_keys(
    client: redis.Redis,
    pipe: Any,
    keys: RedisKeys,
    ids: Mapping[str, str],
    placeholder: str,
) -> None:
    """Queue on `pipe` the rewrite of every key holding a post text, a name or a participant
    id, as the purged log now has them."""

    def new(value: bytes | str) -> str:
        return ids.get(text(value), text(value))

    for key in client.scan_iter(match=keys.pattern("posts:*")):
        posts = {}
        for post, packed in client.hgetall(key).items():
            stored = msgpack.unpackb(packed, raw=False)
            stored["a"] = ids.get(stored.get("a", ""), stored.get("a", ""))
            stored["n"], stored["x"] = "", placeholder
            if stored.get("o"):
                stored["o"] = placeholder
            posts[post] = msgpack.packb(stored)
        if posts:
            pipe.hset(key, mapping=posts)
    by_participant = [keys.phone_codes, keys.code_phones]
    for name in ("ballots:*", "post_ops:*"):
        by_participant += [k.decode() for k in client.scan_iter(match=keys.pattern(name))]
    for key in by_participant:
        fields = client.hgetall(key)
        if fields:
            pipe.delete(key)
            pipe.hset(key, mapping={new(k): _value(key, keys, v, ids) for k, v in fields.items()})
    sets = [keys.codes_revoked, keys.code_voters]
    sets += [k.decode() for k in client.scan_iter(match=keys.pattern("upvoters:*"))]
    for key in sets:
        members = client.smembers(key)
        if members:
            pipe.delete(key)
            pipe.sadd(key, *{new(m) for m in members})


def _value(key: str, keys: RedisKeys, value: bytes | str, ids: Mapping[str, str]) -> bytes | str:
    """A hash's value, with the id it names replaced where it names one."""
    if key in (keys.phone_codes, keys.code_phones):
        return ids.get(text(value), text(value))
    return value


def forums_in_redis(url: str) -> list[str]:
    """The id of every forum with a log in Redis at `url`."""
    connection = sync_connect(url, socket_timeout=30, decode_responses=True)
    log = RedisKeys("*").log  # townhall:{*}:log (braces are no glob characters in Redis)
    prefix, suffix = log.split("*")
    try:
        found = {
            str(key)[len(prefix) : -len(suffix)] for key in connection.client.scan_iter(match=log)
        }
    except RedisError as exc:
        raise EngineError(f"cannot list the forums in Redis at {shown_url(url)}: {exc}") from exc
    finally:
        connection.close()
    return sorted(found)
