"""The Redis engine: many workers and nodes share one forum.

Redis holds the state (ballots, counts, poll states, agenda position, timer) and the event log (a
Stream), changed only by two Lua scripts, so the check and the write are one atomic step. Each
worker keeps a replica of the forum, fed in log order by pub/sub, for its snapshots and its own
result ticks; a gap in the sequence (a missed message, a reconnect) is filled from the Stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from townhall.engine.base import Engine, EngineError, Outcome, now_ms
from townhall.engine.redis_connect import async_connect
from townhall.engine.redis_keys import ForumKeys
from townhall.model.agenda import Programme
from townhall.model.commands import Actor, Command, Vote
from townhall.model.errors import Conflict, ForumError
from townhall.model.events import Event, from_record, to_record
from townhall.model.forum import RECENT_OPS, Forum

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 5.0  # refuse rather than hang when Redis stops answering; a busy loop can
# stall reads for a second or two, which must not read as an outage
CONTROL_RETRIES = 10  # a host command decided on a replica that was behind is decided again
PRESENCE_STALE_MS = 15_000  # a worker that has not reported for this long has gone
CATCH_UP_BATCH = 1000


def _script(name: str) -> str:
    return (resources.files("townhall.engine") / "lua" / name).read_text(encoding="utf-8")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _unpack_all(data: bytes) -> list[dict[str, Any]]:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return list(unpacker)


class RedisEngine(Engine):
    """One forum in Redis, shared by every worker that opens the same URL."""

    def __init__(self, programme: Programme, url: str, clock: Callable[[], int] = now_ms) -> None:
        super().__init__(Forum(programme), clock)
        self.programme = programme
        self.url = url
        self.keys = ForumKeys(programme.id)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.connection = async_connect(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=5,
        )
        self.redis = self.connection.client
        self._vote = self.redis.register_script(_script("vote.lua"))
        self._control = self.redis.register_script(_script("control.lua"))
        self._apply_lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.available = False

    # -- starting and stopping ------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._check_shape()
            await self._catch_up()
        except RedisError as exc:
            raise EngineError(f"cannot reach Redis at {self.url}: {exc}") from exc
        self._listener = asyncio.create_task(self._listen())
        # Start serving once subscribed, so no event published from now on is missed.
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def _check_shape(self) -> None:
        shape = json.dumps(self.programme.fingerprint())
        await self.redis.set(self.keys.shape, shape, nx=True)
        stored = await self.redis.get(self.keys.shape)
        if stored is not None and _text(stored) != shape:
            raise EngineError(
                f"Redis holds forum {self.programme.id!r} for a different agenda (items or poll"
                " options changed). Restore the programme it was started with, or give this"
                " one another [forum] id."
            )

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        with contextlib.suppress(RedisError):
            await self.redis.hdel(self.keys.presence, self.worker_id)
        await self.connection.aclose()

    # -- commands -------------------------------------------------------------------------------

    async def execute(self, actor: Actor, command: Command) -> Outcome:
        try:
            if isinstance(command, Vote):
                return await self._cast(actor, command)
            return await self._control_command(actor, command)
        except RedisError as exc:
            raise EngineError(f"Redis is unavailable: {exc}") from exc

    async def _cast(self, actor: Actor, vote: Vote) -> Outcome:
        choices = self.forum.check_vote(actor, vote)
        k = self.keys
        result = await self._vote(
            keys=[k.seq, k.log, k.poll_status, k.ballots(vote.poll), k.counts(vote.poll)],
            args=[k.channel, vote.poll, actor.id, vote.op, RECENT_OPS, *choices],
        )
        status = result[0].decode()
        if status == "closed":
            raise Conflict("this poll is not open for voting", code="poll_not_open")
        if status == "dup":
            stored = msgpack.unpackb(result[2], raw=False)
            ack = _vote_ack(vote.poll, stored, int(result[1]), duplicate=True)
            return Outcome([], ack)
        events = await self._ingest(_unpack_all(result[2]))
        return Outcome(events, _vote_ack(vote.poll, list(choices), int(result[1]), False))

    async def _control_command(self, actor: Actor, command: Command) -> Outcome:
        """Decide on the replica, then store only if Redis's control state is the one decided on.

        A no-op or a refusal is confirmed the same way: a replica that has not yet heard another
        worker's change would otherwise ack "already hidden" for results just shown.
        """
        for _ in range(CONTROL_RETRIES):
            decided_on = self.forum.control_seq
            try:
                events = self.forum.decide(actor, command, self.clock())
            except ForumError:
                if await self._store_control(decided_on, []) is not None:
                    raise
                await self._catch_up()
                continue
            stored = await self._store_control(decided_on, events)
            if stored is None:
                await self._catch_up()  # another host command got in first: decide again
                continue
            if not stored:
                return Outcome([], {"ok": True, "seq": self.forum.seq})
            applied = await self._ingest(stored)
            return Outcome(applied, {"ok": True, "seq": stored[-1]["seq"]})
        raise EngineError("the forum is too busy to take this command; try again")

    async def _store_control(
        self, decided_on: int, events: Sequence[Event]
    ) -> list[dict[str, Any]] | None:
        """The stored records, or None if the control state moved since `decided_on`."""
        k = self.keys
        result = await self._control(
            keys=[k.seq, k.log, k.control, k.poll_status, k.results],
            args=[k.channel, decided_on, *(msgpack.packb(to_record(e)) for e in events)],
        )
        if result[0].decode() == "stale":
            return None
        return [msgpack.unpackb(r, raw=False) for r in result[1:]]

    # -- the replica ----------------------------------------------------------------------------

    async def _ingest(self, records: Sequence[dict[str, Any]]) -> list[Event]:
        """Apply records in log order; fill any gap from the Stream first."""
        async with self._apply_lock:
            applied: list[Event] = []
            for record in records:
                seq = int(record["seq"])
                if seq <= self.forum.seq:
                    continue  # already applied (our own change coming back, or a catch-up)
                if seq > self.forum.seq + 1:
                    applied.extend(await self._catch_up_locked())
                    continue
                event = from_record(record)
                self.forum.apply(event)
                applied.append(event)
            if applied:
                self._notify(applied)
            return applied

    async def _catch_up(self) -> None:
        async with self._apply_lock:
            applied = await self._catch_up_locked()
            if applied:
                self._notify(applied)

    async def _catch_up_locked(self) -> list[Event]:
        stored_seq = int(await self.redis.get(self.keys.seq) or 0)
        if stored_seq < self.forum.seq:
            # Redis lost events this worker had seen (restored from an older save, or flushed):
            # Redis is the truth, so the replica starts again from its log.
            log.warning(
                "Redis is at event %d, behind this worker's %d: rebuilding",
                stored_seq,
                self.forum.seq,
            )
            self.forum = Forum(self.programme)
            self._notify_resync()
        applied: list[Event] = []
        while True:
            entries = await self.redis.xrange(
                self.keys.log, min=f"{self.forum.seq + 1}-0", max="+", count=CATCH_UP_BATCH
            )
            if not entries:
                return applied
            for _, fields in entries:
                record = msgpack.unpackb(fields[b"e"], raw=False)  # type: ignore[index]
                if int(record["seq"]) != self.forum.seq + 1:
                    raise EngineError(f"the log skips from {self.forum.seq} to {record['seq']}")
                event = from_record(record)
                self.forum.apply(event)
                applied.append(event)

    async def _listen(self) -> None:
        """Follow the forum's channel for as long as the engine runs, reconnecting as needed."""
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.keys.channel)
                await self._check_shape()  # Redis may have come back empty
                await self._catch_up()  # whatever was published before the subscription
                if not self.available:
                    self.available = True
                    delay = 0.1
                    if self._subscribed.is_set():
                        log.info("Redis is back; clients resynchronise")
                        self._notify_resync()
                    self._subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message["type"] == "message":
                        await self._ingest(_unpack_all(message["data"]))
            except (RedisError, OSError, EngineError) as exc:
                if self.available:
                    log.warning("lost Redis: %s; votes are refused until it is back", exc)
                self.available = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    # -- presence -------------------------------------------------------------------------------

    async def presence(self, local: dict[str, int]) -> dict[str, int]:
        """Connections by role over every worker: each reports its own, stale reports expire."""
        now = self.clock()
        try:
            await self.redis.hset(
                self.keys.presence,
                self.worker_id,
                msgpack.packb([now, local["participant"], local["host"], local["screen"]]),
            )
            reports = await self.redis.hgetall(self.keys.presence)
        except RedisError:
            return local
        totals = dict.fromkeys(local, 0)
        for worker, packed in reports.items():
            seen, participants, hosts, screens = msgpack.unpackb(packed)
            if now - seen > PRESENCE_STALE_MS:
                with contextlib.suppress(RedisError):
                    await self.redis.hdel(self.keys.presence, worker)
                continue
            totals["participant"] += participants
            totals["host"] += hosts
            totals["screen"] += screens
        return totals


def _vote_ack(poll: str, choices: list[str], version: int, duplicate: bool) -> dict[str, Any]:
    return {
        "ok": True,
        "poll": poll,
        "choices": choices,
        "version": version,
        "duplicate": duplicate,
    }
